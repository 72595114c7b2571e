"""Incidents: lifecycle table, dedup, correlation, escalation from stored timestamps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seuil.domain.incidents import (
    TRANSITIONS,
    Action,
    EscalationLevel,
    EscalationPolicy,
    Incident,
    IncidentStatus,
    IncidentType,
    Severity,
    Signal,
    SignalKind,
    contact_id,
    default_severity,
    due_escalations,
    ingest,
    sia_code,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def sig(
    at: float = 0,
    *,
    source: str = "btn-1",
    zone: str = "hall",
    kind: IncidentType = IncidentType.PANIC,
    signal_kind: SignalKind = SignalKind.EVENT,
    site: str = "lycee-1",
) -> Signal:
    return Signal(source, site, zone, "E120", "raw", T0 + timedelta(seconds=at), kind, signal_kind)


def opened(kind: IncidentType = IncidentType.PANIC) -> Incident:
    return Incident.open("inc-1", sig(kind=kind))


# ------------------------------------------------------------------ Contact ID / SIA


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        *((str(c), IncidentType.FIRE) for c in range(110, 119)),
        ("120", IncidentType.PANIC),
        ("121", IncidentType.DURESS),
        ("122", IncidentType.PANIC),
        ("123", IncidentType.PANIC),
        *((str(c), IncidentType.INTRUSION) for c in range(130, 135)),
        ("144", IncidentType.TAMPER),
        ("145", IncidentType.TAMPER),
        ("301", IncidentType.POWER),
        ("302", IncidentType.POWER),
        ("602", IncidentType.PERIODIC_TEST),
        ("119", IncidentType.UNKNOWN),
        ("135", IncidentType.UNKNOWN),
        ("999", IncidentType.UNKNOWN),
        ("1A0", IncidentType.UNKNOWN),
        ("", IncidentType.UNKNOWN),
    ],
)
def test_contact_id_mapping(code: str, expected: IncidentType) -> None:
    assert contact_id("1", code) == (expected, SignalKind.EVENT)


def test_contact_id_qualifiers() -> None:
    assert contact_id("1", "130")[1] is SignalKind.EVENT
    assert contact_id("3", "130")[1] is SignalKind.RESTORE
    assert contact_id("6", "130")[1] is SignalKind.REPEAT
    assert contact_id("9", "130") == (IncidentType.INTRUSION, SignalKind.EVENT)


@given(st.text(max_size=5), st.text(max_size=5))
def test_contact_id_never_raises(q: str, e: str) -> None:
    kind, _ = contact_id(q, e)
    assert isinstance(kind, IncidentType)


def test_sia_codes() -> None:
    assert sia_code("BA") == (IncidentType.INTRUSION, SignalKind.EVENT)
    assert sia_code("br") == (IncidentType.INTRUSION, SignalKind.RESTORE)
    assert sia_code("FA")[0] is IncidentType.FIRE
    assert sia_code("ZZ") == (IncidentType.UNKNOWN, SignalKind.EVENT)


def test_every_type_has_a_severity() -> None:
    for kind in IncidentType:
        assert isinstance(default_severity(kind), Severity)
    assert default_severity(IncidentType.FIRE) is Severity.CRITICAL
    assert default_severity(IncidentType.UNKNOWN) > Severity.INFO


def test_unknown_code_opens_an_incident_with_its_raw_code() -> None:
    signal = Signal("sia:1234", "s", "01/003", "E999", "raw", T0, IncidentType.UNKNOWN)
    incident = ingest([], signal, "inc-9")
    assert incident is not None
    assert incident.type is IncidentType.UNKNOWN
    assert incident.signals[0].code == "E999"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Signal("a", "s", "z", "c", "r", datetime(2026, 1, 1))


# ------------------------------------------------------------------------ lifecycle


def apply(incident: Incident, action: Action, at: datetime) -> Incident:
    if action is Action.ACKNOWLEDGE:
        return incident.acknowledge("cpe", at)
    if action is Action.ESCALATE:
        return incident.escalate(EscalationLevel.REGIONAL_CENTRE, at, "cpe")
    if action is Action.RESOLVE:
        return incident.resolve("done", "cpe", at)
    return incident.confirm("cpe", at)


def test_the_table_is_exactly_the_allowed_steps() -> None:
    for status, action in itertools.product(IncidentStatus, Action):
        if action is Action.OPEN:
            continue
        incident = opened(IncidentType.INTRUSION)
        # reach ``status`` by the shortest legal path
        at = T0 + timedelta(seconds=1)
        if status is IncidentStatus.ACKNOWLEDGED:
            incident = incident.acknowledge("agent", at)
        elif status is IncidentStatus.ESCALATED:
            incident = incident.escalate(EscalationLevel.VIE_SCOLAIRE, at)
        elif status is IncidentStatus.RESOLVED:
            incident = incident.resolve("false alarm", "agent", at)
        later = at + timedelta(seconds=1)
        target = TRANSITIONS.get((status, action))
        if target is None:
            with pytest.raises(ValueError, match="cannot"):
                apply(incident, action, later)
        else:
            after = apply(incident, action, later)
            assert after.status is target
            assert after.history[-1].at == later
            assert after.history[-1].action is action


def test_full_lifecycle_records_who_and_when() -> None:
    incident = opened()
    incident = incident.acknowledge("agent.dupont", T0 + timedelta(seconds=10))
    incident = incident.escalate(EscalationLevel.HEAD_OF_SCHOOL, T0 + timedelta(seconds=20), "cpe")
    incident = incident.resolve("pupil pressed by mistake", "head", T0 + timedelta(seconds=30))
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.acknowledged_by == "agent.dupont"
    assert incident.level is EscalationLevel.HEAD_OF_SCHOOL
    assert [t.action for t in incident.history] == [
        Action.OPEN,
        Action.ACKNOWLEDGE,
        Action.ESCALATE,
        Action.RESOLVE,
    ]
    assert incident.history[-1].note == "pupil pressed by mistake"


def test_transitions_are_validated() -> None:
    incident = opened()
    with pytest.raises(ValueError, match="precede"):
        incident.acknowledge("a", T0 - timedelta(seconds=1))
    with pytest.raises(ValueError, match="names who"):
        incident.acknowledge(" ", T0)
    with pytest.raises(ValueError, match="note"):
        incident.resolve("", "a", T0)
    with pytest.raises(ValueError, match="higher level"):
        incident.escalate(EscalationLevel.GATE_AGENT, T0)
    resolved = incident.resolve("ok", "a", T0)
    with pytest.raises(ValueError, match="resolved"):
        resolved.add_signal(sig(1))


def test_intrusion_needs_a_human_confirmation_before_the_full_alarm() -> None:
    incident = opened(IncidentType.INTRUSION)
    assert not incident.full_alarm_allowed
    with pytest.raises(ValueError, match="human"):
        incident.confirm("system", T0)
    confirmed = incident.confirm("agent.martin", T0 + timedelta(seconds=5))
    assert confirmed.full_alarm_allowed
    assert confirmed.confirmed_by == "agent.martin"
    assert confirmed.status is IncidentStatus.OPEN
    with pytest.raises(ValueError, match="already"):
        confirmed.confirm("other", T0 + timedelta(seconds=6))


def test_other_types_need_no_confirmation() -> None:
    incident = opened(IncidentType.FIRE)
    assert incident.full_alarm_allowed
    with pytest.raises(ValueError, match="no confirmation"):
        incident.confirm("agent", T0)


# --------------------------------------------------------------- dedup, correlation


def test_same_button_five_times_is_one_incident_with_five_signals() -> None:
    incidents: list[Incident] = []
    for n in range(5):
        result = ingest(incidents, sig(n * 10), f"inc-{n}")
        assert result is not None
        incidents = [i for i in incidents if i.id != result.id] + [result]
    assert len(incidents) == 1
    assert len(incidents[0].signals) == 5


def test_dedup_window_expires() -> None:
    first = ingest([], sig(0), "a")
    assert first is not None
    later = ingest([first], sig(3600, zone="elsewhere"), "b")
    assert later is not None and later.id == "b"


def test_correlation_joins_signals_at_the_same_zone() -> None:
    first = ingest([], sig(0, kind=IncidentType.INTRUSION, source="pir-1"), "a")
    assert first is not None
    second = ingest([first], sig(30, kind=IncidentType.PANIC, source="btn-7"), "b")
    assert second is not None and second.id == "a"
    assert second.severity is Severity.CRITICAL
    other_zone = ingest([first], sig(30, source="btn-8", zone="gym"), "c")
    assert other_zone is not None and other_zone.id == "c"
    other_site = ingest([first], sig(30, source="btn-9", site="lycee-2"), "d")
    assert other_site is not None and other_site.id == "d"


def test_resolved_incidents_take_no_more_signals() -> None:
    first = ingest([], sig(0), "a")
    assert first is not None
    done = first.resolve("ok", "agent", T0 + timedelta(seconds=1))
    again = ingest([done], sig(2), "b")
    assert again is not None and again.id == "b"


def test_restore_and_test_open_nothing_but_restore_joins() -> None:
    assert ingest([], sig(0, signal_kind=SignalKind.RESTORE), "a") is None
    assert ingest([], sig(0, kind=IncidentType.PERIODIC_TEST, zone=""), "a") is None
    first = ingest([], sig(0), "a")
    assert first is not None
    joined = ingest([first], sig(5, signal_kind=SignalKind.RESTORE), "b")
    assert joined is not None and len(joined.signals) == 2


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 600)), min_size=1, max_size=30))
def test_no_signal_is_lost(events: list[tuple[int, int]]) -> None:
    incidents: dict[str, Incident] = {}
    for n, (button, at) in enumerate(sorted(events, key=lambda e: e[1])):
        result = ingest(incidents.values(), sig(at, source=f"btn-{button}", zone=""), f"i{n}")
        assert result is not None
        incidents[result.id] = result
    assert sum(len(i.signals) for i in incidents.values()) == len(events)


# ------------------------------------------------------------------------ escalation


POLICY = EscalationPolicy(by_severity={Severity.CRITICAL: (60, 120, 180)})


def test_no_escalation_before_the_delay() -> None:
    assert due_escalations([opened()], T0 + timedelta(seconds=59), POLICY) == []


def test_escalation_chain_is_rebuilt_from_timestamps_after_a_restart() -> None:
    incident = opened()  # stored; the process dies; it comes back 10 minutes later
    due = due_escalations([incident], T0 + timedelta(minutes=10), POLICY)
    assert [(e.level, e.due_at) for e in due] == [
        (EscalationLevel.VIE_SCOLAIRE, T0 + timedelta(seconds=60)),
        (EscalationLevel.HEAD_OF_SCHOOL, T0 + timedelta(seconds=180)),
        (EscalationLevel.REGIONAL_CENTRE, T0 + timedelta(seconds=360)),
    ]
    for step in due:
        incident = incident.escalate(step.level, step.due_at)
    assert due_escalations([incident], T0 + timedelta(hours=1), POLICY) == []


def test_escalation_steps_from_the_last_escalation() -> None:
    incident = opened().escalate(EscalationLevel.VIE_SCOLAIRE, T0 + timedelta(seconds=60))
    assert due_escalations([incident], T0 + timedelta(seconds=179), POLICY) == []
    due = due_escalations([incident], T0 + timedelta(seconds=180), POLICY)
    assert [e.level for e in due] == [EscalationLevel.HEAD_OF_SCHOOL]


def test_acknowledged_or_resolved_incidents_do_not_escalate() -> None:
    late = T0 + timedelta(hours=1)
    acked = opened().acknowledge("agent", T0 + timedelta(seconds=5))
    resolved = opened().resolve("test", "agent", T0 + timedelta(seconds=5))
    assert due_escalations([acked, resolved], late, POLICY) == []


def test_policy_per_type_and_severity() -> None:
    policy = EscalationPolicy(
        by_severity={Severity.CRITICAL: (60,)}, by_type={IncidentType.FIRE: (5, 5, 5)}
    )
    fire = Incident.open("f", sig(kind=IncidentType.FIRE))
    panic = Incident.open("p", sig(kind=IncidentType.PANIC))
    power = Incident.open("w", sig(kind=IncidentType.POWER))
    due = due_escalations([fire, panic, power], T0 + timedelta(seconds=100), policy)
    assert [(e.incident_id, e.level) for e in due] == [
        ("f", EscalationLevel.VIE_SCOLAIRE),
        ("f", EscalationLevel.HEAD_OF_SCHOOL),
        ("f", EscalationLevel.REGIONAL_CENTRE),
        ("p", EscalationLevel.VIE_SCOLAIRE),
    ]


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_due_escalations_is_monotonic_in_time(a: int, b: int) -> None:
    early, late = sorted((a, b))
    incident = opened()
    n_early = len(due_escalations([incident], T0 + timedelta(seconds=early), POLICY))
    n_late = len(due_escalations([incident], T0 + timedelta(seconds=late), POLICY))
    assert n_early <= n_late <= 3


def test_last_signal_at_is_kept_per_object_and_never_stale() -> None:
    from dataclasses import replace

    first = Incident.open("I1", sig(10))
    late = first.add_signal(sig(30))
    early = late.add_signal(sig(0))  # a replayed old message: last stays at 30 s
    assert early.last_signal_at == T0 + timedelta(seconds=30)
    # replace() never carries the remembered value: a new signal list is read afresh
    rewritten = replace(early, signals=(sig(99),))
    assert rewritten.last_signal_at == T0 + timedelta(seconds=99)
    assert early == replace(early) and hash(early) == hash(replace(early))
