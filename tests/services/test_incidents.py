"""The incident engine on a real site (SQLite and PostgreSQL) with an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.services.incident_fakes import (
    T0,
    FakeDoors,
    ManualClock,
    RecordingBus,
    ScriptedNotifier,
    failing_uow,
)

from seuil.adapters.storage import verify_audit
from seuil.domain.devices import Device, DeviceKind
from seuil.domain.errors import (
    ConflictError,
    NotFoundError,
    NotificationError,
    StorageUnavailableError,
)
from seuil.domain.incidents import (
    EscalationLevel,
    EscalationPolicy,
    IncidentStatus,
    IncidentType,
    Severity,
    Signal,
    SignalKind,
)
from seuil.domain.notifications import NotificationStatus, RetryPolicy
from seuil.domain.ppms import FIRE_ACTOR, PpmsMode
from seuil.ports.storage import IncidentQuery
from seuil.services.incidents import IncidentService
from seuil.services.notifications import NotificationDispatcher
from seuil.services.ppms import PpmsService

SITE = "0830042X"
POLICY = EscalationPolicy(by_severity={Severity.CRITICAL: (10, 20, 30), Severity.HIGH: (60,)})
RECIPIENTS = {
    EscalationLevel.GATE_AGENT: [("live", "loge"), ("email", "accueil@lycee.fr")],
    EscalationLevel.VIE_SCOLAIRE: [("email", "cpe@lycee.fr"), ("sms", "+33600000001")],
    EscalationLevel.HEAD_OF_SCHOOL: [("email", "proviseur@lycee.fr")],
    EscalationLevel.REGIONAL_CENTRE: [("email", "cor@ac-test.fr")],
}


class Engine:
    """The services wired on one site, sharing one manual clock."""

    def __init__(self, site, doors: FakeDoors | None = None, uow=None) -> None:  # type: ignore[no-untyped-def]
        self.site = site
        self.clock = ManualClock()
        self.bus = RecordingBus()
        self.doors = doors or FakeDoors()
        factory = uow or site.uow
        self.ppms = PpmsService(factory, self.clock, self.doors, self.bus)
        self.incidents = IncidentService(
            factory, self.clock, policy=POLICY, recipients=RECIPIENTS, bus=self.bus,
            ppms=self.ppms, site_id=SITE, reader=None if uow else site.reader,
        )  # fmt: skip

    def signal(self, seconds: float = 0, **fields: object) -> Signal:
        values: dict[str, object] = {
            "source": "btn-hall", "site": SITE, "zone": "hall", "code": "PA",
            "raw": f"Nri1/PA01 t={seconds}", "at": T0 + timedelta(seconds=seconds),
            "type": IncidentType.PANIC, "kind": SignalKind.EVENT,
        }  # fmt: skip
        values.update(fields)
        return Signal(**values)  # type: ignore[arg-type]

    def audit_actions(self) -> list[str]:
        with self.site.reader() as uow:
            return [e.action for e in uow.audit.entries()]

    def outbox(self) -> list:  # type: ignore[type-arg]
        with self.site.uow() as uow:
            return list(reversed(uow.notifications.recent(1000)))


@pytest.fixture
def engine(site) -> Engine:  # type: ignore[no-untyped-def]
    return Engine(site)


def test_one_button_pressed_five_times_is_one_incident_with_five_signals(engine: Engine) -> None:
    incidents = []
    for n in range(5):
        engine.clock.at = T0 + timedelta(seconds=n * 3)
        incidents.append(engine.incidents.receive(engine.signal(n * 3)))
    assert len({i.id for i in incidents if i}) == 1
    stored = engine.incidents.get(incidents[0].id)  # type: ignore[union-attr]
    assert len(stored.signals) == 5 and stored.status is IncidentStatus.OPEN
    assert engine.incidents.count(IncidentQuery()) == 1
    # Opened once: the first level is notified once, not five times.
    assert [n.recipient for n in engine.outbox()] == ["accueil@lycee.fr"]
    assert engine.audit_actions() == ["incident.open"] + ["incident.signal"] * 4
    live = engine.bus.of("notification")
    assert [m["recipient"] for m in live] == ["loge"]
    assert [m["event"] for m in engine.bus.of("incident")] == ["opened"] + ["signal"] * 4


def test_signals_at_the_same_place_are_correlated(engine: Engine) -> None:
    first = engine.incidents.receive(engine.signal(0))
    door = engine.incidents.receive(
        engine.signal(30, source="porte-hall", type=IncidentType.DOOR_FORCED, code="door")
    )
    elsewhere = engine.incidents.receive(engine.signal(31, source="btn-cdi", zone="cdi"))
    later = engine.incidents.receive(engine.signal(400, source="btn-2"))
    assert first is not None and door is not None and elsewhere is not None and later is not None
    assert door.id == first.id and len(door.signals) == 2
    assert elsewhere.id != first.id and later.id not in (first.id, elsewhere.id)


def test_the_same_signal_handed_twice_changes_nothing(engine: Engine) -> None:
    signal = engine.signal(0)
    first = engine.incidents.receive(signal)
    actions = engine.audit_actions()
    published = len(engine.bus.messages)
    again = engine.incidents.receive(signal)  # a disk buffer replaying
    assert again is not None and first is not None and again.id == first.id
    assert len(engine.incidents.get(first.id).signals) == 1
    assert engine.audit_actions() == actions and len(engine.outbox()) == 1
    assert len(engine.bus.messages) == published


def test_lifecycle_is_timestamped_and_audited(engine: Engine) -> None:
    opened = engine.incidents.receive(engine.signal(0))
    assert opened is not None
    engine.clock.advance(5)
    acked = engine.incidents.acknowledge(opened.id, "agent.durand")
    assert acked.status is IncidentStatus.ACKNOWLEDGED and acked.acknowledged_by == "agent.durand"
    engine.clock.advance(5)
    escalated = engine.incidents.escalate(opened.id, "agent.durand")
    assert escalated.status is IncidentStatus.ESCALATED
    assert escalated.level is EscalationLevel.VIE_SCOLAIRE
    engine.clock.advance(5)
    with pytest.raises(ConflictError):
        engine.incidents.resolve(opened.id, "cpe", " ")  # a resolution needs a note
    resolved = engine.incidents.resolve(opened.id, "cpe.martin", "élève rassuré, fausse manœuvre")
    assert resolved.status is IncidentStatus.RESOLVED
    assert [(t.action.value, t.by, t.at) for t in resolved.history] == [
        ("open", "system", T0),
        ("acknowledge", "agent.durand", T0 + timedelta(seconds=5)),
        ("escalate", "agent.durand", T0 + timedelta(seconds=10)),
        ("resolve", "cpe.martin", T0 + timedelta(seconds=15)),
    ]
    assert resolved.history[-1].note == "élève rassuré, fausse manœuvre"
    assert engine.incidents.get(opened.id) == resolved
    assert engine.audit_actions() == [
        "incident.open", "incident.acknowledge", "incident.escalate", "incident.resolve",
    ]  # fmt: skip
    with engine.site.reader() as uow:
        entries = uow.audit.entries()
        assert entries[-1].actor == "cpe.martin" and entries[-1].target == opened.id
        assert entries[-1].reason == "élève rassuré, fausse manœuvre"
        assert verify_audit(uow).ok
    # The manual escalation notified the next level.
    assert {n.recipient for n in engine.outbox()} >= {"cpe@lycee.fr", "+33600000001"}
    with pytest.raises(ConflictError):
        engine.incidents.acknowledge(opened.id, "agent")  # resolved: no more steps
    with pytest.raises(NotFoundError):
        engine.incidents.acknowledge("I-nope", "agent")
    assert [
        i.id for i in engine.incidents.search(IncidentQuery(status=IncidentStatus.RESOLVED))
    ] == [opened.id]


def test_escalation_after_n_seconds_once_per_level(engine: Engine) -> None:
    incident = engine.incidents.receive(engine.signal(0))
    assert incident is not None
    engine.clock.advance(9.9)
    assert engine.incidents.tick().escalations == ()
    engine.clock.advance(0.1)
    report = engine.incidents.tick()
    assert [(e.incident_id, e.level) for e in report.escalations] == [
        (incident.id, EscalationLevel.VIE_SCOLAIRE)
    ]
    assert engine.incidents.tick().escalations == ()  # once
    stored = engine.incidents.get(incident.id)
    assert (
        stored.level is EscalationLevel.VIE_SCOLAIRE and stored.status is IncidentStatus.ESCALATED
    )
    recipients = [n.recipient for n in engine.outbox()]
    assert recipients[0] == "accueil@lycee.fr"  # then level 1, at the same instant:
    assert sorted(recipients[1:]) == ["+33600000001", "cpe@lycee.fr"]
    subject = engine.outbox()[1].subject
    assert subject.startswith("[seuil] Escalade vers vie scolaire (CPE) : alerte panique")
    # A long outage: both missed levels at once, in order, each notified.
    engine.clock.advance(100)
    report = engine.incidents.tick()
    assert [e.level for e in report.escalations] == [
        EscalationLevel.HEAD_OF_SCHOOL, EscalationLevel.REGIONAL_CENTRE,
    ]  # fmt: skip
    assert engine.incidents.get(incident.id).level is EscalationLevel.REGIONAL_CENTRE
    assert sorted(n.recipient for n in engine.outbox()[3:]) == [
        "cor@ac-test.fr", "proviseur@lycee.fr",
    ]  # fmt: skip
    engine.clock.advance(1000)
    assert engine.incidents.tick().escalations == ()  # no level beyond the last
    assert engine.audit_actions().count("incident.escalate") == 3


def test_acknowledging_stops_the_escalation(engine: Engine) -> None:
    incident = engine.incidents.receive(engine.signal(0))
    assert incident is not None
    engine.clock.advance(5)
    engine.incidents.acknowledge(incident.id, "agent")
    engine.clock.advance(500)
    assert engine.incidents.tick().escalations == ()
    assert len(engine.outbox()) == 1


def test_a_silent_device_is_one_incident_not_one_per_tick(engine: Engine) -> None:
    with engine.site.uow() as uow:
        uow.devices.upsert(Device("sia:77", DeviceKind.ALARM_PANEL, "gymnase", "Centrale gym",
                                  supervision_interval_s=30, registered_at=T0))  # fmt: skip
        uow.commit()
    engine.clock.advance(30)
    assert engine.incidents.tick().silent_devices == ()
    # A periodic test keeps it alive: no incident, but "last seen" moves.
    test_signal = engine.signal(25, source="sia:77", zone="gymnase", code="RP",
                                type=IncidentType.PERIODIC_TEST)  # fmt: skip
    assert engine.incidents.receive(test_signal) is None
    engine.clock.advance(25)  # 55 s: 30 s after the test, on time
    assert engine.incidents.tick().silent_devices == ()
    engine.clock.advance(1)
    report = engine.incidents.tick()
    assert report.silent_devices == ("sia:77",) and len(report.incidents) == 1
    silent = engine.incidents.get(report.incidents[0])
    assert silent.type is IncidentType.DEVICE_SILENT and silent.zone == "gymnase"
    assert silent.signals[0].source == "sia:77" and "aucun message depuis" in silent.signals[0].raw
    for _ in range(3):
        engine.clock.advance(10)
        assert engine.incidents.tick().silent_devices == ()  # once, not every tick
    assert engine.incidents.count(IncidentQuery(type=IncidentType.DEVICE_SILENT)) == 1
    # Heard again, then silent again later: a second report.
    engine.clock.advance(1)
    engine.incidents.receive(engine.signal(engine_seconds(engine), source="sia:77",
                                           zone="gymnase", code="RP",
                                           type=IncidentType.PERIODIC_TEST))  # fmt: skip
    with engine.site.reader() as uow:
        device = uow.devices.get("sia:77")
        assert device is not None and device.silent_since is None
    engine.clock.advance(31)
    assert engine.incidents.tick().silent_devices == ("sia:77",)


def engine_seconds(engine: Engine) -> float:
    return (engine.clock.now() - T0).total_seconds()


def test_an_unknown_source_is_registered_as_a_device(engine: Engine) -> None:
    engine.incidents.receive(engine.signal(0, source="porte-cdi", type=IncidentType.DOOR_FORCED))
    with engine.site.reader() as uow:
        device = uow.devices.get("porte-cdi")
    assert device is not None and device.kind is DeviceKind.DOOR and device.last_seen == T0
    assert device.supervision_interval_s is None


# -- PPMS ----------------------------------------------------------------------------------


def test_confinement_locks_every_entrance_and_reaches_every_screen(engine: Engine) -> None:
    change = engine.ppms.enter(PpmsMode.CONFINEMENT, "proviseur", "individu armé signalé")
    assert change.changed and change.failures == ()
    assert engine.doors.commands == [("lock", "portail"), ("lock", "hall"), ("lock", "cantine")]
    state = engine.ppms.current()
    assert state.mode is PpmsMode.CONFINEMENT and state.by == "proviseur"
    assert engine.bus.of("ppms")[-1]["mode"] == "confinement"
    with pytest.raises(ConflictError):
        engine.ppms.enter(PpmsMode.CONFINEMENT, "cpe", "again")
    assert "ppms.enter" in engine.audit_actions()


def test_fire_releases_egress_even_during_a_confinement(engine: Engine) -> None:
    engine.ppms.enter(PpmsMode.CONFINEMENT, "proviseur", "intrusion")
    engine.clock.advance(60)
    fire = engine.signal(60, source="sia:1", zone="labo", code="FA", type=IncidentType.FIRE)
    incident = engine.incidents.receive(fire)
    assert incident is not None and incident.type is IncidentType.FIRE
    assert all(engine.doors.state_of(d) == "release" for d in engine.doors.doors)
    state = engine.ppms.current()
    assert state.mode is PpmsMode.EVACUATION and state.by == FIRE_ACTOR
    assert "confinement" in state.reason
    # The end of alert restores normal operation and records who ended it.
    engine.clock.advance(600)
    ended = engine.ppms.end_alert("proviseur.dupont", "levée de doute pompiers")
    assert ended.state.mode is PpmsMode.NORMAL and ended.state.by == "proviseur.dupont"
    assert all(engine.doors.state_of(d) == "normal" for d in engine.doors.doors)
    actions = engine.audit_actions()
    assert actions.index("ppms.enter") < actions.index("ppms.fire") < actions.index("ppms.end")
    # The same fire message replayed from a buffer after the end of alert: no new evacuation.
    engine.incidents.receive(fire)
    late = engine.signal(61, source="sia:1", zone="labo", code="FA", type=IncidentType.FIRE)
    engine.incidents.receive(late)
    assert engine.ppms.current().mode is PpmsMode.NORMAL


def test_a_failing_door_does_not_stop_the_others_and_is_reported(site) -> None:  # type: ignore[no-untyped-def]
    engine = Engine(site, FakeDoors(broken=("hall",)))
    change = engine.ppms.enter(PpmsMode.CONFINEMENT, "proviseur", "intrusion")
    assert [f.door for f in change.failures] == ["hall"]
    assert engine.doors.commands == [("lock", "portail"), ("lock", "cantine")]
    assert engine.bus.of("ppms")[-1]["failed_doors"] == [
        {"door": "hall", "message": "hall: no answer"}
    ]
    assert "ppms.door_failed" in engine.audit_actions()
    assert engine.ppms.current().mode is PpmsMode.CONFINEMENT


def test_fire_releases_egress_even_when_the_database_is_down(site) -> None:  # type: ignore[no-untyped-def]
    down = [False]
    engine = Engine(site, uow=failing_uow(site.uow, lambda: down[0]))
    down[0] = True
    fire = engine.signal(0, source="sia:1", code="FA", type=IncidentType.FIRE)
    with pytest.raises(StorageUnavailableError):
        engine.incidents.receive(fire)
    assert all(engine.doors.state_of(d) == "release" for d in engine.doors.doors)
    down[0] = False
    assert engine.incidents.count(IncidentQuery()) == 0  # nothing applied
    incident = engine.incidents.receive(fire)  # the buffer hands it over again
    assert incident is not None and engine.ppms.current().mode is PpmsMode.EVACUATION


def test_a_confirmed_intrusion_records_who_and_starts_the_confinement(engine: Engine) -> None:
    intrusion = engine.incidents.receive(
        engine.signal(0, source="sia:5", code="BA", type=IncidentType.INTRUSION)
    )
    assert intrusion is not None and not intrusion.full_alarm_allowed
    assert engine.ppms.current().mode is PpmsMode.NORMAL  # no full alarm before a human
    assert engine.doors.commands == []
    engine.clock.advance(20)
    confirmed = engine.incidents.confirm(intrusion.id, "cpe.martin")
    assert confirmed.confirmed_by == "cpe.martin" and confirmed.full_alarm_allowed
    state = engine.ppms.current()
    assert state.mode is PpmsMode.CONFINEMENT and state.by == "cpe.martin"
    assert intrusion.id in state.reason
    assert {c for c, _ in engine.doors.commands} == {"lock"}
    with pytest.raises(ConflictError):
        engine.incidents.confirm(intrusion.id, "autre")  # confirmed once
    panic = engine.incidents.receive(engine.signal(30, source="b", zone="cdi"))
    assert panic is not None
    with pytest.raises(ConflictError):
        engine.incidents.confirm(panic.id, "cpe")  # only intrusions need it


# -- notifications ---------------------------------------------------------------------


def _dispatcher(engine: Engine, notifiers, retry=None) -> NotificationDispatcher:  # type: ignore[no-untyped-def]
    policy = retry or RetryPolicy(max_attempts=3, base_s=10)
    return NotificationDispatcher(engine.site.uow, engine.clock, notifiers, retry=policy)


def test_notifications_retry_then_deliver_or_fail_visibly(engine: Engine) -> None:
    email = ScriptedNotifier("email", [NotificationError("connection refused", transient=True)])
    dispatcher = _dispatcher(engine, {"email": email})
    incident = engine.incidents.receive(engine.signal(0))
    assert incident is not None
    report = dispatcher.dispatch_due()
    assert len(report.retrying) == 1 and email.sent == []
    assert dispatcher.dispatch_due().attempted == 0  # not due before its backoff
    engine.clock.advance(10)
    report = dispatcher.dispatch_due()
    assert len(report.sent) == 1
    recipient, subject, body = email.sent[0]
    assert recipient == "accueil@lycee.fr"
    assert subject == "[seuil] Incident : alerte panique, zone hall (gravité critique)"
    assert incident.id in body
    (stored,) = engine.outbox()
    assert stored.status is NotificationStatus.SENT and stored.attempts == 2
    # Escalation to level 1: an e-mail refused for good, an SMS with no provider configured.
    engine.clock.advance(10)
    engine.incidents.tick()
    email.errors.append(NotificationError("550 no such user", transient=False))
    report = dispatcher.dispatch_due()
    assert len(report.failed) == 2 and report.sent == ()
    with engine.site.uow() as uow:
        failed = {n.channel: n for n in uow.notifications.failed()}
    assert failed["email"].last_error == "550 no such user"
    assert failed["sms"].last_error == "no notifier configured for channel 'sms'"
    assert engine.audit_actions().count("notification.failed") == 2


def test_transient_failures_give_up_after_the_last_attempt(engine: Engine) -> None:
    errors = [NotificationError("timeout", transient=True) for _ in range(5)]
    email = ScriptedNotifier("email", errors)
    dispatcher = _dispatcher(engine, {"email": email})
    engine.incidents.receive(engine.signal(0))
    outcomes = []
    for _ in range(4):
        report = dispatcher.dispatch_due()
        outcomes.append((len(report.retrying), len(report.failed)))
        engine.clock.advance(3600)
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]
    (stored,) = engine.outbox()
    assert stored.status is NotificationStatus.FAILED and stored.attempts == 3
    assert "gave up after 3 attempts" in stored.last_error


def test_a_notifier_bug_is_retried_not_lost(engine: Engine) -> None:
    class Broken:
        channel = "email"

        def send(self, recipient: str, subject: str, body: str) -> None:
            raise RuntimeError("adapter bug")

    dispatcher = _dispatcher(engine, {"email": Broken()})
    engine.incidents.receive(engine.signal(0))
    assert len(dispatcher.dispatch_due().retrying) == 1
    (stored,) = engine.outbox()
    assert stored.status is NotificationStatus.PENDING and "adapter bug" in stored.last_error


def test_a_dispatcher_killed_after_claiming_leaves_the_message_due_later(engine: Engine) -> None:
    engine.incidents.receive(engine.signal(0))
    with engine.site.uow() as uow:  # what dispatch_due does before sending...
        (due,) = uow.notifications.due(engine.clock.now())
        uow.notifications.update(due.claimed(engine.clock.now() + timedelta(minutes=2)))
        uow.commit()
    # ... then the process dies. Another dispatcher does not take it during the claim,
    email = ScriptedNotifier()
    dispatcher = _dispatcher(engine, {"email": email})
    assert dispatcher.dispatch_due().attempted == 0
    engine.clock.advance(120)  # but does once the claim has expired.
    assert len(dispatcher.dispatch_due().sent) == 1 and len(email.sent) == 1
