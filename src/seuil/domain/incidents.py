"""Incidents: every security signal of the site becomes one, and none is lost.

Standard library only. Everything here is a pure function of values and timestamps, so
the incident engine can be rebuilt from stored data after a restart:

- a :class:`Signal` is one message from a device (alarm panel, button, gate, camera);
- :func:`ingest` folds a signal into the open incidents: *deduplication* (same device,
  same type, within a window: one incident with N signals), then *correlation* (same
  site and zone within a window: the signal joins that incident), else a new incident;
- an :class:`Incident` moves through an explicit transition table
  (open -> acknowledged -> escalated -> resolved), every step timestamped and signed;
- :func:`due_escalations` says which escalations are due at ``now`` from the stored
  timestamps only (no timer objects to lose);
- an intrusion needs a human confirmation before the full alarm (who confirmed is kept);
- :func:`contact_id` and :func:`sia_code` map alarm-panel codes to incident types;
  unknown codes become :attr:`IncidentType.UNKNOWN` and are kept, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from types import MappingProxyType

__all__ = [
    "DEFAULT_POLICY",
    "TRANSITIONS",
    "Action",
    "Escalation",
    "EscalationLevel",
    "EscalationPolicy",
    "Incident",
    "IncidentStatus",
    "IncidentType",
    "Severity",
    "Signal",
    "SignalKind",
    "Transition",
    "contact_id",
    "default_severity",
    "due_escalations",
    "ingest",
    "needs_confirmation",
    "sia_code",
]


class IncidentType(StrEnum):
    PANIC = "panic"
    DURESS = "duress"
    INTRUSION = "intrusion"
    FIRE = "fire"
    TAMPER = "tamper"
    POWER = "power"  # mains failure or low battery
    PERIODIC_TEST = "periodic_test"
    DEVICE_SILENT = "device_silent"  # missed supervision
    DENY_REVOKED = "deny_revoked"
    DENY_MISMATCH = "deny_mismatch"
    LIVENESS_FAILURE = "liveness_failure"
    TAILGATING = "tailgating"
    DOOR_FORCED = "door_forced"
    DOOR_HELD_OPEN = "door_held_open"
    CAMERA_OFFLINE = "camera_offline"
    UNKNOWN = "unknown"  # a code nobody mapped: kept and shown, never dropped


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


_SEVERITY: Mapping[IncidentType, Severity] = MappingProxyType(
    {
        IncidentType.PANIC: Severity.CRITICAL,
        IncidentType.DURESS: Severity.CRITICAL,
        IncidentType.INTRUSION: Severity.CRITICAL,
        IncidentType.FIRE: Severity.CRITICAL,
        IncidentType.TAMPER: Severity.HIGH,
        IncidentType.POWER: Severity.MEDIUM,
        IncidentType.PERIODIC_TEST: Severity.INFO,
        IncidentType.DEVICE_SILENT: Severity.HIGH,
        IncidentType.DENY_REVOKED: Severity.HIGH,
        IncidentType.DENY_MISMATCH: Severity.MEDIUM,
        IncidentType.LIVENESS_FAILURE: Severity.HIGH,
        IncidentType.TAILGATING: Severity.MEDIUM,
        IncidentType.DOOR_FORCED: Severity.HIGH,
        IncidentType.DOOR_HELD_OPEN: Severity.LOW,
        IncidentType.CAMERA_OFFLINE: Severity.MEDIUM,
        IncidentType.UNKNOWN: Severity.MEDIUM,  # unknown is not harmless: a human looks
    }
)


def default_severity(kind: IncidentType) -> Severity:
    return _SEVERITY[kind]


def needs_confirmation(kind: IncidentType) -> bool:
    """Whether a human must confirm before the full alarm (false alarms send police in)."""
    return kind is IncidentType.INTRUSION


class SignalKind(StrEnum):
    EVENT = "event"  # Contact ID qualifier 1: new event / opening
    RESTORE = "restore"  # qualifier 3: restore / closing
    REPEAT = "repeat"  # qualifier 6: previously reported condition still present


# ---------------------------------------------------------------------------- mapping

_CID_RANGES: tuple[tuple[int, int, IncidentType], ...] = (
    (110, 118, IncidentType.FIRE),
    (120, 120, IncidentType.PANIC),
    (121, 121, IncidentType.DURESS),
    (122, 123, IncidentType.PANIC),
    (130, 134, IncidentType.INTRUSION),
    (144, 145, IncidentType.TAMPER),
    (301, 302, IncidentType.POWER),
    (602, 602, IncidentType.PERIODIC_TEST),
)
_CID_QUALIFIER = {"1": SignalKind.EVENT, "3": SignalKind.RESTORE, "6": SignalKind.REPEAT}


def contact_id(qualifier: str, event: str) -> tuple[IncidentType, SignalKind]:
    """A Contact ID (ADM-CID) qualifier and 3-digit event code as a type and kind.

    An unknown code or qualifier is :attr:`IncidentType.UNKNOWN` / a new event: the
    caller keeps the raw code on the signal so a human can read it.
    """
    kind = _CID_QUALIFIER.get(qualifier, SignalKind.EVENT)
    if len(event) != 3 or not event.isdigit():
        return IncidentType.UNKNOWN, kind
    number = int(event)
    for low, high, incident_type in _CID_RANGES:
        if low <= number <= high:
            return incident_type, kind
    return IncidentType.UNKNOWN, kind


_SIA_CODES: Mapping[str, tuple[IncidentType, SignalKind]] = MappingProxyType(
    {
        "PA": (IncidentType.PANIC, SignalKind.EVENT),
        "PR": (IncidentType.PANIC, SignalKind.RESTORE),
        "HA": (IncidentType.DURESS, SignalKind.EVENT),
        "HR": (IncidentType.DURESS, SignalKind.RESTORE),
        "BA": (IncidentType.INTRUSION, SignalKind.EVENT),
        "BR": (IncidentType.INTRUSION, SignalKind.RESTORE),
        "FA": (IncidentType.FIRE, SignalKind.EVENT),
        "FR": (IncidentType.FIRE, SignalKind.RESTORE),
        "TA": (IncidentType.TAMPER, SignalKind.EVENT),
        "TR": (IncidentType.TAMPER, SignalKind.RESTORE),
        "AT": (IncidentType.POWER, SignalKind.EVENT),
        "AR": (IncidentType.POWER, SignalKind.RESTORE),
        "YT": (IncidentType.POWER, SignalKind.EVENT),
        "YR": (IncidentType.POWER, SignalKind.RESTORE),
        "RP": (IncidentType.PERIODIC_TEST, SignalKind.EVENT),
    }
)


def sia_code(code: str) -> tuple[IncidentType, SignalKind]:
    """A SIA DCS two-letter event code as a type and kind (unknown: UNKNOWN / EVENT)."""
    return _SIA_CODES.get(code.upper(), (IncidentType.UNKNOWN, SignalKind.EVENT))


# ----------------------------------------------------------------------------- signal


def _aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Signal:
    """One message from one device. ``code`` is the device's own code, kept verbatim
    (e.g. ``"E130"`` for Contact ID, ``"BA"`` for SIA); ``raw`` the received text."""

    source: str  # device id, e.g. "sia:1234" or a gate id
    site: str
    zone: str
    code: str
    raw: str
    at: datetime
    type: IncidentType = IncidentType.UNKNOWN
    kind: SignalKind = SignalKind.EVENT

    def __post_init__(self) -> None:
        _aware(self.at, "a signal's time")


# --------------------------------------------------------------------------- lifecycle


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class Action(StrEnum):
    OPEN = "open"
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    CONFIRM = "confirm"  # a human confirms an intrusion (no status change)


class EscalationLevel(IntEnum):
    GATE_AGENT = 0
    VIE_SCOLAIRE = 1  # vie scolaire / CPE
    HEAD_OF_SCHOOL = 2
    REGIONAL_CENTRE = 3  # regional operations centre


# The explicit table: which action is allowed from which status, and where it leads.
TRANSITIONS: Mapping[tuple[IncidentStatus, Action], IncidentStatus] = MappingProxyType(
    {
        (IncidentStatus.OPEN, Action.ACKNOWLEDGE): IncidentStatus.ACKNOWLEDGED,
        (IncidentStatus.OPEN, Action.ESCALATE): IncidentStatus.ESCALATED,
        (IncidentStatus.OPEN, Action.RESOLVE): IncidentStatus.RESOLVED,
        (IncidentStatus.OPEN, Action.CONFIRM): IncidentStatus.OPEN,
        (IncidentStatus.ACKNOWLEDGED, Action.ESCALATE): IncidentStatus.ESCALATED,
        (IncidentStatus.ACKNOWLEDGED, Action.RESOLVE): IncidentStatus.RESOLVED,
        (IncidentStatus.ACKNOWLEDGED, Action.CONFIRM): IncidentStatus.ACKNOWLEDGED,
        (IncidentStatus.ESCALATED, Action.ACKNOWLEDGE): IncidentStatus.ACKNOWLEDGED,
        (IncidentStatus.ESCALATED, Action.ESCALATE): IncidentStatus.ESCALATED,
        (IncidentStatus.ESCALATED, Action.RESOLVE): IncidentStatus.RESOLVED,
        (IncidentStatus.ESCALATED, Action.CONFIRM): IncidentStatus.ESCALATED,
    }
)


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    at: datetime
    by: str  # an account, or "system" for automatic steps
    level: EscalationLevel | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident and its whole history. Immutable: every step returns a new one."""

    id: str
    type: IncidentType
    site: str
    zone: str
    severity: Severity
    signals: tuple[Signal, ...]
    history: tuple[Transition, ...] = field(default=())
    status: IncidentStatus = IncidentStatus.OPEN
    level: EscalationLevel = EscalationLevel.GATE_AGENT
    # last_signal_at, computed once per object (not a field: ``replace`` never copies it)
    _last_at: datetime | None = field(default=None, init=False, compare=False, repr=False)

    @classmethod
    def open(cls, incident_id: str, signal: Signal) -> Incident:
        """A new incident from its first signal, notified to the first level."""
        return cls(
            id=incident_id,
            type=signal.type,
            site=signal.site,
            zone=signal.zone,
            severity=default_severity(signal.type),
            signals=(signal,),
            history=(Transition(Action.OPEN, signal.at, "system", EscalationLevel.GATE_AGENT),),
        )

    @property
    def opened_at(self) -> datetime:
        return self.history[0].at

    @property
    def last_signal_at(self) -> datetime:
        # Read for every open incident by every new signal: not once per stored signal.
        if self._last_at is None:
            object.__setattr__(self, "_last_at", max(s.at for s in self.signals))
        assert self._last_at is not None
        return self._last_at

    @property
    def acknowledged_by(self) -> str | None:
        return next((t.by for t in self.history if t.action is Action.ACKNOWLEDGE), None)

    @property
    def confirmed_by(self) -> str | None:
        return next((t.by for t in self.history if t.action is Action.CONFIRM), None)

    @property
    def full_alarm_allowed(self) -> bool:
        """An intrusion sounds the full alarm only once a human has confirmed it."""
        return not needs_confirmation(self.type) or self.confirmed_by is not None

    def _step(
        self,
        action: Action,
        at: datetime,
        by: str,
        level: EscalationLevel | None = None,
        note: str = "",
    ) -> Incident:
        """Apply one row of :data:`TRANSITIONS`, or raise ``ValueError``."""
        _aware(at, "a transition's time")
        target = TRANSITIONS.get((self.status, action))
        if target is None:
            raise ValueError(f"cannot {action.value} an incident that is {self.status.value}")
        if at < self.history[-1].at:
            raise ValueError("a transition cannot precede the previous one")
        if not by.strip():
            raise ValueError("every transition names who made it")
        step = Transition(action, at, by, level, note)
        new_level = self.level if level is None else level
        return replace(self, status=target, level=new_level, history=(*self.history, step))

    def acknowledge(self, by: str, at: datetime) -> Incident:
        return self._step(Action.ACKNOWLEDGE, at, by)

    def escalate(self, level: EscalationLevel, at: datetime, by: str = "system") -> Incident:
        if level <= self.level:
            raise ValueError("an escalation goes to a higher level")
        return self._step(Action.ESCALATE, at, by, level=level)

    def resolve(self, note: str, by: str, at: datetime) -> Incident:
        if not note.strip():
            raise ValueError("a resolution needs a note")
        return self._step(Action.RESOLVE, at, by, note=note)

    def confirm(self, by: str, at: datetime) -> Incident:
        """A human confirms the intrusion; the full alarm is then allowed."""
        if not needs_confirmation(self.type):
            raise ValueError(f"a {self.type.value} incident needs no confirmation")
        if by == "system":
            raise ValueError("only a human confirms an intrusion")
        if self.confirmed_by is not None:
            raise ValueError("this intrusion is already confirmed")
        return self._step(Action.CONFIRM, at, by)

    def add_signal(self, signal: Signal) -> Incident:
        if self.status is IncidentStatus.RESOLVED:
            raise ValueError("a resolved incident takes no more signals")
        severity = max(self.severity, default_severity(signal.type))
        joined = replace(self, signals=(*self.signals, signal), severity=severity)
        object.__setattr__(joined, "_last_at", max(self.last_signal_at, signal.at))
        return joined


# --------------------------------------------------------------- dedup and correlation


def _within(signal: Signal, incident: Incident, window: timedelta) -> bool:
    return abs(signal.at - incident.last_signal_at) <= window


def ingest(
    incidents: Iterable[Incident],
    signal: Signal,
    new_id: str,
    *,
    dedup_window: timedelta = timedelta(minutes=5),
    correlation_window: timedelta = timedelta(minutes=2),
) -> Incident | None:
    """The incident ``signal`` belongs to, updated or new; ``None`` if it opens nothing.

    Deduplication first (same source and type, unresolved, within ``dedup_window``),
    then correlation (same site and non-empty zone, within ``correlation_window``). A
    restore joins its incident but never opens one; a periodic test opens nothing (it is
    supervision, handled by "last seen"). Unknown codes open an UNKNOWN incident.
    """
    live = [i for i in incidents if i.status is not IncidentStatus.RESOLVED]
    dup = [
        i
        for i in live
        if i.type is signal.type
        and any(s.source == signal.source for s in i.signals)
        and _within(signal, i, dedup_window)
    ]
    near = [
        i
        for i in live
        if signal.zone and i.site == signal.site and i.zone == signal.zone
        if _within(signal, i, correlation_window)
    ]
    match = dup or near
    if match:
        return max(match, key=lambda i: i.last_signal_at).add_signal(signal)
    if signal.kind is SignalKind.RESTORE or signal.type is IncidentType.PERIODIC_TEST:
        return None
    return Incident.open(new_id, signal)


# ------------------------------------------------------------------------ escalation


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Seconds an incident may stay unacknowledged at each level before the next.

    ``by_severity[s][k]`` is the delay at level ``k``; a severity missing from the table
    never escalates on its own. ``by_type`` overrides it for one incident type.
    """

    by_severity: Mapping[Severity, Sequence[float]]
    by_type: Mapping[IncidentType, Sequence[float]] = field(default_factory=dict)

    def delays(self, incident: Incident) -> Sequence[float]:
        if incident.type in self.by_type:
            return self.by_type[incident.type]
        return self.by_severity.get(incident.severity, ())


DEFAULT_POLICY = EscalationPolicy(
    by_severity={
        Severity.CRITICAL: (60, 120, 180),
        Severity.HIGH: (180, 600, 1800),
        Severity.MEDIUM: (600, 1800),
        Severity.LOW: (1800,),
    }
)


@dataclass(frozen=True, slots=True)
class Escalation:
    incident_id: str
    level: EscalationLevel
    due_at: datetime


def _escalations(incident: Incident, now: datetime, policy: EscalationPolicy) -> list[Escalation]:
    if incident.status not in (IncidentStatus.OPEN, IncidentStatus.ESCALATED):
        return []
    delays = policy.delays(incident)
    last_step = max(t.at for t in incident.history if t.action in (Action.OPEN, Action.ESCALATE))
    due: list[Escalation] = []
    level, since = incident.level, last_step
    while level < EscalationLevel.REGIONAL_CENTRE and level < len(delays):
        deadline = since + timedelta(seconds=delays[level])
        if deadline > now:
            break
        level = EscalationLevel(level + 1)
        due.append(Escalation(incident.id, level, deadline))
        since = deadline
    return due


def due_escalations(
    incidents: Iterable[Incident], now: datetime, policy: EscalationPolicy = DEFAULT_POLICY
) -> list[Escalation]:
    """Every escalation due at ``now``, computed from stored timestamps only.

    An incident still unacknowledged ``delays[level]`` seconds after it was opened or
    last escalated goes to the next level; after a long outage every missed level is
    listed, in order, each with the time it was due. Apply them with
    :meth:`Incident.escalate` and ask again later: nothing depends on in-memory timers.
    """
    _aware(now, "now")
    due: list[Escalation] = []
    for incident in incidents:
        due.extend(_escalations(incident, now, policy))
    return sorted(due, key=lambda e: (e.due_at, e.incident_id, e.level))
