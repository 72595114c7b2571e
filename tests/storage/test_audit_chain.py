"""The stored audit chain: same transaction as the change, tampering detected, no forks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from seuil.adapters.storage import SqlUnitOfWork, verify_audit
from seuil.adapters.storage.tables import audit_anchor, audit_log
from seuil.cli.audit_cmd import audit_app
from seuil.domain.audit import GENESIS, AuditEvent, verify_chain
from seuil.domain.errors import AuditChainBrokenError
from seuil.domain.people import Person

T0 = datetime(2025, 9, 1, 7, 30, tzinfo=UTC)
UowFactory = Callable[..., SqlUnitOfWork]


def _event(n: int, action: str = "person.read") -> AuditEvent:
    return AuditEvent(
        actor="cpe.martin", action=action, target=f"P-{n:04d}", reason="contrôle",
        details={"n": n, "fields": ["photo"], "ok": True, "ratio": 0.1},
    )  # fmt: skip


def _append(uow: UowFactory, count: int, start: int = 1) -> None:
    with uow() as u:
        for n in range(start, start + count):
            u.audit.append(_event(n), T0 + timedelta(seconds=n))
        u.commit()


def _verify(uow: UowFactory) -> tuple[bool, int, int | None, str]:
    with uow(read_only=True) as u:
        verdict = verify_audit(u)
    return verdict.ok, verdict.entries, verdict.first_bad_seq, verdict.problem


def _raw(engine: sa.Engine, statement: sa.Executable) -> None:
    """An attacker with write access to the database, bypassing seuil."""
    with engine.connect() as conn:
        conn.execute(statement)
        conn.commit()


def test_append_chains_entries_and_reads_them_back(uow: UowFactory) -> None:
    with uow() as u:
        first = u.audit.append(_event(1), T0)
        second = u.audit.append(_event(2, "credential.revoke"), T0 + timedelta(seconds=1))
        u.commit()
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    with uow() as u:
        assert list(u.audit.entries()) == [first, second]
        assert list(u.audit.entries(after_seq=1)) == [second]
        assert list(u.audit.entries(limit=1)) == [first]
        assert u.audit.anchor() is not None
    assert _verify(uow) == (True, 2, None, "")


def test_details_and_times_round_trip_exactly_as_hashed(uow: UowFactory) -> None:
    paris = datetime(2025, 10, 6, 8, 5, 1, 250000, tzinfo=ZoneInfo("Europe/Paris"))
    odd = AuditEvent(
        "système", "setting.change", "gate-1", "réglage",
        {"when": date(2025, 10, 6), "pair": (1, 2), 3: "int key", "é": None, "big": 2**62},
    )  # fmt: skip
    with uow() as u:
        entry = u.audit.append(odd, paris)
        u.commit()
    assert entry.at == paris and entry.at.tzinfo == UTC
    assert entry.details == {"when": "2025-10-06", "pair": [1, 2], "3": "int key", "é": None,
                             "big": 2**62}  # fmt: skip
    with uow() as u:
        assert list(u.audit.entries()) == [entry]
    assert _verify(uow)[0]


def test_naive_time_is_refused(uow: UowFactory) -> None:
    with pytest.raises(ValueError, match="naive"), uow() as u:
        u.audit.append(_event(1), datetime(2025, 9, 1, 8, 0))


def test_a_rolled_back_change_leaves_no_audit_entry(
    uow: UowFactory, make_person: Callable[..., Person]
) -> None:
    _append(uow, 2)
    person = make_person()
    with pytest.raises(RuntimeError), uow() as u:
        u.people.add(person)
        u.audit.append(AuditEvent("cpe", "person.create", person.ref), T0)
        raise RuntimeError("the use case failed after auditing")
    with uow() as u:
        assert u.people.get(person.ref) is None
        assert [e.seq for e in u.audit.entries()] == [1, 2]
        anchor = u.audit.anchor()
        assert anchor is not None and anchor.last_seq == 2
    with uow() as u:  # the next append continues the chain without a gap
        u.people.add(person)
        assert u.audit.append(AuditEvent("cpe", "person.create", person.ref), T0).seq == 3
        u.commit()
    assert _verify(uow) == (True, 3, None, "")


def test_one_unit_appending_across_commits_and_rollbacks(uow: UowFactory) -> None:
    with uow() as u:
        u.audit.append(_event(1), T0)
        u.audit.append(_event(2), T0)
        u.commit()
        u.audit.append(_event(3), T0)
        u.rollback()
        again = u.audit.append(_event(4), T0)  # chains after 2, not the rolled-back 3
        u.commit()
    assert again.seq == 3
    assert _verify(uow) == (True, 3, None, "")


def test_latest_filters_by_action(uow: UowFactory) -> None:
    with uow() as u:
        for n, action in enumerate(
            ["person.read", "credential.revoke", "credential.issue", "person.read"], start=1
        ):
            u.audit.append(_event(n, action), T0 + timedelta(seconds=n))
        u.commit()
    with uow() as u:
        assert [e.seq for e in u.audit.latest(limit=2)] == [3, 4]
        assert [e.seq for e in u.audit.latest(action="person.read")] == [1, 4]
        assert [e.seq for e in u.audit.latest(action="credential.*")] == [2, 3]
        assert u.audit.latest(action="credential") == []


def test_empty_log_verifies(uow: UowFactory) -> None:
    assert _verify(uow) == (True, 0, None, "")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "someone.else"),
        ("action", "person.update"),
        ("target", "P-9999"),
        ("reason", ""),
        ("details", {"n": 3, "fields": [], "ok": True, "ratio": 0.1}),
        ("at", T0 + timedelta(days=1)),
        ("prev_hash", "f" * 64),
        ("hash", "0" * 63 + "1"),
    ],
)
def test_editing_any_field_is_detected_at_that_entry(
    engine: sa.Engine, uow: UowFactory, column: str, value: object
) -> None:
    _append(uow, 5)
    _raw(engine, sa.update(audit_log).where(audit_log.c.seq == 3).values({column: value}))
    ok, _, bad, problem = _verify(uow)
    assert not ok
    assert bad == 3, problem


def test_a_field_altered_into_garbage_is_reported_not_a_crash(
    backend: str, engine: sa.Engine, uow: UowFactory
) -> None:
    _append(uow, 5)
    _raw(engine, sa.update(audit_log).where(audit_log.c.seq == 4).values(details=[1, 2]))
    assert _verify(uow)[:3] == (False, 4, 4)
    if backend == "sqlite":  # SQLite's typeless columns accept anything
        with engine.connect() as conn:
            conn.exec_driver_sql("UPDATE audit_log SET at = 'garbage' WHERE seq = 2")
            conn.commit()
        ok, entries, bad, problem = _verify(uow)
        assert (ok, entries, bad) == (False, 2, 2)
        assert "cannot be read" in problem
        _raw(engine, sa.delete(audit_log).where(audit_log.c.seq == 1))
        assert _verify(uow)[:3] == (False, 1, 1)  # the gap before it comes first
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(audit_app, ["list", "--url", url])
    assert isinstance(result.exception, AuditChainBrokenError)


def test_deleting_a_middle_entry_is_detected(engine: sa.Engine, uow: UowFactory) -> None:
    _append(uow, 5)
    _raw(engine, sa.delete(audit_log).where(audit_log.c.seq == 2))
    ok, _, bad, problem = _verify(uow)
    assert (ok, bad) == (False, 2)
    assert "missing" in problem


def test_deleting_the_last_entries_is_detected_by_the_anchor(
    engine: sa.Engine, uow: UowFactory
) -> None:
    _append(uow, 5)
    with uow() as u:
        assert verify_chain(u.audit.entries()).ok
    _raw(engine, sa.delete(audit_log).where(audit_log.c.seq >= 4))
    with uow() as u:
        assert verify_chain(u.audit.entries()).ok  # the chain alone cannot see it
    ok, entries, bad, problem = _verify(uow)
    assert (ok, entries, bad) == (False, 3, 4)
    assert "deleted" in problem
    _append(uow, 1, start=6)  # appending afterwards does not paper over the gap
    assert _verify(uow)[:3] == (False, 4, 4)


def test_deleting_the_last_entry_is_detected(engine: sa.Engine, uow: UowFactory) -> None:
    _append(uow, 5)
    _raw(engine, sa.delete(audit_log).where(audit_log.c.seq == 5))
    assert _verify(uow)[:3] == (False, 4, 5)


def test_a_rewound_anchor_is_detected_and_blocks_appends(
    engine: sa.Engine, uow: UowFactory
) -> None:
    _append(uow, 5)
    _raw(engine, sa.update(audit_anchor).values(last_seq=3))
    assert _verify(uow)[:3] == (False, 5, 4)
    with pytest.raises(AuditChainBrokenError, match="anchor"), uow() as u:
        u.audit.append(_event(6), T0)


def test_an_anchor_with_a_wrong_hash_is_detected(engine: sa.Engine, uow: UowFactory) -> None:
    _append(uow, 3)
    _raw(engine, sa.update(audit_anchor).values(last_hash="a" * 64))
    assert _verify(uow)[:3] == (False, 3, 3)


def test_a_deleted_anchor_is_detected_and_blocks_appends(
    engine: sa.Engine, uow: UowFactory
) -> None:
    _append(uow, 2)
    _raw(engine, sa.delete(audit_anchor))
    ok, _, bad, problem = _verify(uow)
    assert (ok, bad) == (False, None)
    assert "anchor" in problem
    with pytest.raises(AuditChainBrokenError, match="anchor"), uow() as u:
        u.audit.append(_event(3), T0)


def test_two_threads_appending_never_fork_the_chain(uow: UowFactory) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            start.wait()
            for n in range(50):
                with uow() as u:
                    u.audit.append(AuditEvent(name, "person.read", f"P-{n}"), T0)
                    u.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"agent-{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with uow() as u:
        entries = list(u.audit.entries())
    assert [e.seq for e in entries] == list(range(1, 101))
    assert {e.actor for e in entries} == {"agent-1", "agent-2"}
    assert _verify(uow) == (True, 100, None, "")


def test_verify_reads_in_pages(engine: sa.Engine, uow: UowFactory) -> None:
    _append(uow, 7)
    with uow(read_only=True) as u:
        assert verify_audit(u, batch=2).entries == 7
    _raw(engine, sa.delete(audit_log).where(audit_log.c.seq == 6))
    with uow(read_only=True) as u:
        verdict = verify_audit(u, batch=2)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 6)


# --- the `seuil audit` commands ---------------------------------------------------------


def test_cli_verify_ok_and_broken(engine: sa.Engine, uow: UowFactory) -> None:
    _append(uow, 4)
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    result = runner.invoke(audit_app, ["verify", "--url", url], env={"SEUIL_LANG": "en"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "OK: 4 entries"

    _raw(engine, sa.update(audit_log).where(audit_log.c.seq == 2).values(reason="edited"))
    result = runner.invoke(audit_app, ["verify", "--url", url], env={"SEUIL_LANG": "en"})
    assert isinstance(result.exception, AuditChainBrokenError)  # main() maps it to exit 10
    assert result.exception.exit_code == 10
    assert "entry 2" in result.exception.message
    assert "changed" in result.exception.message


def test_cli_list(engine: sa.Engine, uow: UowFactory) -> None:
    with uow() as u:
        u.audit.append(_event(1, "person.read"), T0)
        u.audit.append(_event(2, "credential.revoke"), T0 + timedelta(minutes=1))
        u.commit()
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(audit_app, ["list", "--url", url, "--action", "credential.*"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].split()[:6] == [
        "2", "2025-09-01", "07:31:00Z", "cpe.martin", "credential.revoke", "P-0002",
    ]  # fmt: skip
    result = CliRunner().invoke(
        audit_app, ["list", "--url", url, "--limit", "5", "--action", "login"],
        env={"SEUIL_LANG": "en"},
    )  # fmt: skip
    assert result.output.strip() == "no entries"
