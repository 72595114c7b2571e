"""The hub outbox on the site database (SQLite and PostgreSQL): written in the same
transaction as the event, gap-free sequence numbers in commit order, marked sent only
on acknowledgement, gate counts per closed interval, and the inbox of hub messages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from seuil.adapters.storage import SqlUnitOfWork
from seuil.adapters.storage import tables as t
from seuil.adapters.storage.hub_outbox import OutboxConfig
from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.hub import EventKind, ForbiddenFieldError, HubMessage, Pseudonymizer

T0 = datetime(2025, 9, 1, 7, 45, tzinfo=UTC)
CONFIG = OutboxConfig("0830042X", Pseudonymizer(b"k" * 32), lambda: T0)


def _deny(at: datetime = T0, person: str = "P-1") -> GateDecision:
    return GateDecision("gate-nord", at, Decision.DENY, DenyReason.REVOKED, person_ref=person,
                        credential_id="C-1")  # fmt: skip


def _grant(at: datetime) -> GateDecision:
    return GateDecision("gate-nord", at, Decision.GRANT)


def test_a_denial_enters_the_outbox_in_the_same_transaction(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        uow.gate_events.add(_deny())
        uow.rollback()  # the gate event is gone: so is its hub event
        assert uow.outbox.backlog() == 0
        uow.gate_events.add(_deny())
        uow.gate_events.add(_grant(T0))  # a GRANT travels only as a count
        uow.commit()
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        [event] = uow.outbox.pending(10)
    assert event.seq == 1 and event.kind is EventKind.GATE_DENIAL
    assert event.body == {"gate_id": "gate-nord", "reason": "revoked",
                          "person": CONFIG.pseudonymizer("P-1")}  # fmt: skip


def test_without_a_hub_link_nothing_is_queued(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        uow.gate_events.add(_deny())
        assert uow.outbox.enabled is False
        assert (
            uow.outbox.add(EventKind.HEARTBEAT, T0, {"outbox_backlog": 0, "version": "v"}) is None
        )
        uow.commit()
        assert uow.outbox.backlog() == 0


def test_sequence_numbers_are_gap_free_in_commit_order(engine: sa.Engine) -> None:
    body = {"outbox_backlog": 0, "version": "v"}
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        assert uow.outbox.add(EventKind.HEARTBEAT, T0, body).seq == 1  # type: ignore[union-attr]
        uow.commit()
        assert uow.outbox.add(EventKind.HEARTBEAT, T0, body).seq == 2  # type: ignore[union-attr]
        uow.rollback()  # number 2 is given back
        assert uow.outbox.add(EventKind.HEARTBEAT, T0, body).seq == 2  # type: ignore[union-attr]
        uow.commit()
    # Concurrent writers: each transaction holds the counter until it commits.
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                with SqlUnitOfWork(engine, hub=CONFIG) as u:
                    u.outbox.add(EventKind.HEARTBEAT, T0, body)
                    u.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        seqs = [e.seq for e in uow.outbox.pending(100)]
    assert seqs == list(range(1, 43))


def test_a_forbidden_body_writes_nothing(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        with pytest.raises(ForbiddenFieldError, match="never leave the site"):
            uow.outbox.add(EventKind.GATE_DENIAL, T0,
                           {"gate_id": "g", "reason": "revoked", "person": None,
                            "template": "AAAA"})  # fmt: skip
        assert uow.outbox.backlog() == 0


def test_marked_sent_only_for_acknowledged_numbers(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        for i in range(5):
            uow.gate_events.add(_deny(T0 + timedelta(seconds=i), person=f"P-{i}"))
        uow.commit()
        assert uow.outbox.mark_sent([1, 2, 4], T0) == 3
        assert uow.outbox.mark_sent([1], T0) == 0  # already sent: untouched
        uow.commit()
        assert [e.seq for e in uow.outbox.pending(10)] == [3, 5]
        assert uow.outbox.backlog() == 2
        assert uow.outbox.purge_sent(T0 + timedelta(seconds=1)) == 3
        uow.commit()


def test_gate_counts_cover_each_closed_interval_once(engine: sa.Engine) -> None:
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        for s in (0, 10, 20, 70):
            uow.gate_events.add(_grant(T0 + timedelta(seconds=s)))
        uow.gate_events.add(GateDecision("gate-sud", T0 + timedelta(seconds=5), Decision.REFER,
                                         ReferReason.NON_BIOMETRIC))  # fmt: skip
        uow.commit()
        # At 07:46:30 only the 07:45 minute is closed.
        assert uow.outbox.add_gate_counts(T0 + timedelta(seconds=90), 60) == 2
        uow.commit()
        assert uow.outbox.add_gate_counts(T0 + timedelta(seconds=100), 60) == 0
        assert uow.outbox.add_gate_counts(T0 + timedelta(seconds=130), 60) == 1
        uow.commit()
        counts = [e.body for e in uow.outbox.pending(10) if e.kind is EventKind.GATE_COUNTS]
    assert [(b["gate_id"], b["interval_start"], b["grant"], b["refer"]) for b in counts] == [
        ("gate-nord", "2025-09-01T07:45:00+00:00", 3, 0),
        ("gate-sud", "2025-09-01T07:45:00+00:00", 0, 1),
        ("gate-nord", "2025-09-01T07:46:00+00:00", 1, 0),
    ]


def test_the_inbox_keeps_each_hub_message_once(engine: sa.Engine) -> None:
    alert = HubMessage(4, "alert", "*", T0, {"title": "Confinement conseillé", "town": "Toulon"})
    ack = HubMessage(2, "ack", "0830042X", T0, {"incident_id": "I-1"})
    with SqlUnitOfWork(engine, hub=CONFIG) as uow:
        assert uow.hub_inbox.last_id() == 0
        assert uow.hub_inbox.add([ack, alert], T0) == 2
        uow.commit()
        assert uow.hub_inbox.add([alert], T0) == 0
        uow.commit()
        assert uow.hub_inbox.last_id() == 4
        assert [m.id for m in uow.hub_inbox.recent()] == [4, 2]
        assert uow.hub_inbox.recent()[0] == alert
    with SqlUnitOfWork(engine) as uow:
        rows = uow._db.execute(sa.select(sa.func.count()).select_from(t.hub_inbox)).scalar()
    assert rows == 2
