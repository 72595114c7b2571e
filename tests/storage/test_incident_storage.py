"""Incidents, the notification outbox, devices and the PPMS state on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from seuil.adapters.storage import SqlUnitOfWork
from seuil.domain.devices import Device, DeviceKind
from seuil.domain.errors import ConflictError
from seuil.domain.incidents import (
    EscalationLevel,
    Incident,
    IncidentStatus,
    IncidentType,
    Severity,
    Signal,
    SignalKind,
)
from seuil.domain.notifications import Notification, NotificationStatus, RetryPolicy
from seuil.domain.ppms import INITIAL, PpmsMode, end_alert, enter, on_fire
from seuil.ports.storage import IncidentQuery

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
Uow = Callable[..., SqlUnitOfWork]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sig(seconds: float = 0, **fields: object) -> Signal:
    values: dict[str, object] = {
        "source": "sia:1234", "site": "0830042X", "zone": "hall", "code": "E130",
        "raw": '"ADM-CID"0001L0#1234[#1234|1130 01 015]', "at": at(seconds),
        "type": IncidentType.INTRUSION, "kind": SignalKind.EVENT,
    }  # fmt: skip
    values.update(fields)
    return Signal(**values)  # type: ignore[arg-type]


def _full_incident() -> Incident:
    """Every kind of step: signals of several kinds, ack, escalation, confirm, resolve."""
    paris = timezone(timedelta(hours=1))
    incident = Incident.open("I-1", sig(0))
    incident = incident.add_signal(sig(1, code="BA", raw="Nri1/BA015", kind=SignalKind.REPEAT))
    incident = incident.add_signal(
        sig(2, source="btn-7", type=IncidentType.UNKNOWN, code="ZZ", raw="é\n\x01")
    )
    incident = incident.escalate(EscalationLevel.VIE_SCOLAIRE, at(60))
    incident = incident.confirm("cpe.martin", at(61).astimezone(paris))
    incident = incident.acknowledge("agent.durand", at(62))
    incident = incident.add_signal(sig(63, kind=SignalKind.RESTORE, code="R130"))
    return incident.resolve("fausse alerte : chat dans le hall", "cpe.martin", at(90))


def test_an_incident_round_trips_exactly(uow: Uow) -> None:
    incident = _full_incident()
    with uow() as u:
        u.incidents.add(incident)
        u.commit()
    with uow(read_only=True) as u:
        stored = u.incidents.get("I-1")
    assert stored == incident
    assert stored.history[2].by == "cpe.martin" and stored.confirmed_by == "cpe.martin"
    assert stored.signals[2].raw == "é\n\x01" and stored.signals[2].type is IncidentType.UNKNOWN
    assert stored.history[1].level is EscalationLevel.VIE_SCOLAIRE
    assert stored.history[-1].note == "fausse alerte : chat dans le hall"
    assert all(s.at.tzinfo is not None for s in stored.signals)


def test_updates_append_steps_and_round_trip(uow: Uow) -> None:
    incident = Incident.open("I-2", sig(0))
    with uow() as u:
        u.incidents.add(incident)
        u.commit()
    for step in (
        lambda i: i.add_signal(sig(5)),
        lambda i: i.escalate(EscalationLevel.HEAD_OF_SCHOOL, at(70)),
        lambda i: i.acknowledge("cpe", at(80)),
    ):
        with uow() as u:
            current = u.incidents.get("I-2")
            assert current is not None
            incident = step(current)
            u.incidents.update(incident)
            u.commit()
    with uow(read_only=True) as u:
        assert u.incidents.get("I-2") == incident
        assert u.incidents.get("nope") is None


def _acknowledged_meanwhile(uow: Uow, incident_id: str) -> None:
    with uow() as second:
        current = second.incidents.get(incident_id)
        assert current is not None
        second.incidents.update(current.acknowledge("agent", at(10)))
        second.commit()


def test_a_stale_incident_is_a_conflict_not_a_lost_update(uow: Uow) -> None:
    with uow() as u:
        u.incidents.add(Incident.open("I-3", sig(0)))
        u.commit()
    with uow(read_only=True) as u:
        stale = u.incidents.get("I-3")
    assert stale is not None
    _acknowledged_meanwhile(uow, "I-3")
    with pytest.raises(ConflictError), uow() as u:
        u.incidents.update(stale.add_signal(sig(11)))  # would erase the acknowledgement
    with uow(read_only=True) as u:
        stored = u.incidents.get("I-3")
        assert stored is not None and stored.status is IncidentStatus.ACKNOWLEDGED
        assert len(stored.signals) == 1


def test_concurrent_transactions_conflict(postgres_engine: sa.Engine) -> None:
    """PostgreSQL only: SQLite writers never overlap (BEGIN IMMEDIATE)."""

    def uow(**kwargs: object) -> SqlUnitOfWork:
        return SqlUnitOfWork(postgres_engine, **kwargs)  # type: ignore[arg-type]

    with uow() as u:
        u.incidents.add(Incident.open("I-3", sig(0)))
        u.commit()
    with uow() as first:
        read = first.incidents.get("I-3")
        assert read is not None
        _acknowledged_meanwhile(uow, "I-3")
        with pytest.raises(ConflictError, match="changed meanwhile"):
            first.incidents.update(read.add_signal(sig(11)))


def test_search_count_and_unresolved(uow: Uow) -> None:
    panic = Incident.open("I-a", sig(0, type=IncidentType.PANIC, source="btn-1"))
    door = Incident.open("I-b", sig(10, type=IncidentType.DOOR_HELD_OPEN, source="door-1"))
    fire = Incident.open("I-c", sig(20, type=IncidentType.FIRE, source="sia:9"))
    fire = fire.resolve("exercice", "cpe", at(30))
    with uow() as u:
        for incident in (panic, door, fire):
            u.incidents.add(incident)
        u.commit()
    with uow(read_only=True) as u:
        assert [i.id for i in u.incidents.unresolved()] == ["I-a", "I-b"]
        assert [i.id for i in u.incidents.search(IncidentQuery())] == ["I-c", "I-b", "I-a"]
        critical = IncidentQuery(min_severity=Severity.CRITICAL)
        assert [i.id for i in u.incidents.search(critical)] == ["I-c", "I-a"]
        assert u.incidents.count(critical) == 2
        resolved = IncidentQuery(status=IncidentStatus.RESOLVED)
        assert [i.id for i in u.incidents.search(resolved)] == ["I-c"]
        assert u.incidents.count(IncidentQuery(unresolved=True)) == 2
        assert [i.id for i in u.incidents.search(IncidentQuery(type=IncidentType.PANIC))] == ["I-a"]
        assert [i.id for i in u.incidents.search(IncidentQuery(limit=1, offset=1))] == ["I-b"]


def test_a_signal_is_found_by_its_identity(uow: Uow) -> None:
    incident = Incident.open("I-4", sig(0))
    with uow() as u:
        u.incidents.add(incident)
        u.commit()
    with uow(read_only=True) as u:
        found = u.incidents.with_signal(sig(0))
        assert found is not None and found.id == "I-4"
        assert u.incidents.with_signal(sig(0, raw="other")) is None
        assert u.incidents.with_signal(sig(1)) is None
    with pytest.raises(ConflictError), uow() as u:  # the same message is stored once
        u.incidents.add(Incident.open("I-5", sig(0)))


def test_lock_is_usable_in_a_writing_unit(uow: Uow) -> None:
    with uow() as u:
        u.incidents.lock()
        u.incidents.lock()
        u.commit()


def test_the_outbox_keeps_every_notification(uow: Uow) -> None:
    first = Notification.new("I-1", "email", "cpe@lycee.fr", "Alerte : intrusion", "corps", at(0))
    second = Notification.new("", "sms", "+33600000000", "Confinement", "PPMS", at(1))
    with uow() as u:
        u.notifications.add(first)
        u.notifications.add(second)
        u.commit()
    with uow() as u:
        assert [n.id for n in u.notifications.due(at(0))] == [first.id]
        due = u.notifications.due(at(5), limit=10)
        assert due == [first, second]
        policy = RetryPolicy(max_attempts=2, base_s=60)
        u.notifications.update(due[0].attempt_failed("refused", at(5), transient=True,
                                                     policy=policy))  # fmt: skip
        u.notifications.update(due[1].attempt_failed("550 unknown", at(5), transient=False,
                                                     policy=policy))  # fmt: skip
        u.commit()
    with uow() as u:
        assert u.notifications.due(at(64)) == []
        again = u.notifications.due(at(65))
        assert [n.id for n in again] == [first.id] and again[0].attempts == 1
        failed = u.notifications.failed()
        assert [n.id for n in failed] == [second.id]
        assert failed[0].status is NotificationStatus.FAILED and failed[0].last_error
        assert [n.id for n in u.notifications.recent(10)] == [second.id, first.id]
        assert [n.id for n in u.notifications.for_incident("I-1")] == [first.id]
        assert u.notifications.get(first.id) == again[0]


def test_devices_touch_and_supervision_state(uow: Uow) -> None:
    panel = Device("sia:1234", DeviceKind.ALARM_PANEL, "hall", "Centrale", 3600.0,
                   registered_at=at(0))  # fmt: skip
    with uow() as u:
        u.devices.upsert(panel)
        assert u.devices.touch("sia:1234", at(10)) is True
        assert u.devices.touch("sia:1234", at(5)) is True  # never moves back
        assert u.devices.touch("ghost", at(5)) is False
        u.commit()
    with uow() as u:
        device = u.devices.get("sia:1234")
        assert device is not None and device.last_seen == at(10)
        u.devices.upsert(device.reported_silent(at(4000)))
        u.commit()
    with uow() as u:
        device = u.devices.get("sia:1234")
        assert device is not None and device.silent_since == at(4000)
        u.devices.touch("sia:1234", at(4100))
        u.commit()
    with uow(read_only=True) as u:
        expected = Device("sia:1234", DeviceKind.ALARM_PANEL, "hall", "Centrale", 3600.0,
                          last_seen=at(4100), registered_at=at(0))  # fmt: skip
        assert u.devices.all() == [expected]
        assert u.devices.get("ghost") is None


def test_ppms_state_persists(uow: Uow) -> None:
    with uow(read_only=True) as u:
        assert u.site_state.ppms() == INITIAL
    confined = enter(INITIAL, PpmsMode.CONFINEMENT, "cpe", at(0), "intrusion confirmée")
    with uow() as u:
        u.site_state.set_ppms(confined)
        u.commit()
    fire = on_fire(confined, at(10), "sia:1234")
    with uow() as u:
        assert u.site_state.ppms() == confined
        u.site_state.set_ppms(fire)
        u.commit()
    with uow() as u:
        assert u.site_state.ppms() == fire
        u.site_state.set_ppms(end_alert(fire, "proviseur", at(20)))
        u.commit()
    with uow(read_only=True) as u:
        state = u.site_state.ppms()
        assert state.mode is PpmsMode.NORMAL and state.by == "proviseur"


# -- the committed-incident cache (the signal path reads open incidents on every signal) --


def test_cached_incidents_are_served_only_as_committed(uow: Uow, empty_url: str) -> None:
    from seuil.adapters.storage import create_storage_engine
    from seuil.adapters.storage.incident_cache import cache_for

    incident = Incident.open("I-C", sig(0))
    with uow() as u:
        u.incidents.add(incident)
        u.commit()
    with uow() as u:
        [first] = u.incidents.unresolved()
    cache = cache_for(u._engine)
    hits = cache.hits
    with uow() as u:
        assert u.incidents.unresolved() == [first]
    assert cache.hits == hits + 1  # served from memory, and equal to the stored one

    # A write that is rolled back is never served afterwards.
    with uow() as u:
        [live] = u.incidents.unresolved()
        u.incidents.update(live.add_signal(sig(5, source="ghost")))
        u.rollback()
    with uow() as u:
        [again] = u.incidents.unresolved()
    assert [s.source for s in again.signals] == ["sia:1234"]

    # Another process (another engine, another cache) changes it: the version moved on,
    # so this process reads the new content from the database.
    other = create_storage_engine(empty_url)
    try:
        with SqlUnitOfWork(other) as u:
            [live] = u.incidents.unresolved()
            u.incidents.update(live.add_signal(sig(6, source="btn-2")))
            u.commit()
    finally:
        other.dispose()
    with uow() as u:
        [seen] = u.incidents.unresolved()
    assert [s.source for s in seen.signals] == ["sia:1234", "btn-2"]

    # This process's committed write is served as written, and matches the database.
    with uow() as u:
        [live] = u.incidents.unresolved()
        u.incidents.update(live.add_signal(sig(7, source="btn-3")))
        u.commit()
    with uow() as u:
        [mine] = u.incidents.unresolved()
    other = create_storage_engine(empty_url)  # a cold cache: the database's content
    try:
        with SqlUnitOfWork(other) as u:
            fresh = u.incidents.get("I-C")
    finally:
        other.dispose()
    assert mine == fresh and len(mine.signals) == 3
