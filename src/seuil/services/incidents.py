"""The incident engine: signals in, incidents through their lifecycle, people notified.

Everything an incident step changes is written in ONE transaction: the incident (its
signals and transitions), the device's "last seen", the audit entries and the
notifications to send (the outbox). The live bus is told only after the commit. So a
crash, even SIGKILL, loses nothing: escalations are computed again from the stored
timestamps by :meth:`IncidentService.tick` (no timer lives in memory) and the outbox
still holds every message not yet delivered.

:meth:`IncidentService.receive` is the :class:`~seuil.ports.signals.SignalSink` of the
device adapters (SIA receiver, MQTT gateway, gate pipeline). The same signal handed
twice (a disk buffer replaying) is recognised and changes nothing. A fire signal
releases every egress door through the PPMS service, even when the database is down.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction, incident_action
from seuil.domain.devices import Device, guess_kind, silent_devices
from seuil.domain.errors import ConflictError, NotFoundError, StorageUnavailableError
from seuil.domain.incidents import (
    DEFAULT_POLICY,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Incident,
    IncidentType,
    Severity,
    Signal,
    SignalKind,
    Transition,
    due_escalations,
    ingest,
)
from seuil.domain.notifications import LIVE_CHANNEL, Notification
from seuil.domain.ppms import PpmsMode
from seuil.ports.clock import Clock
from seuil.ports.notify import LiveBus
from seuil.ports.signals import SignalSink
from seuil.ports.storage import IncidentQuery, UnitOfWork
from seuil.services.hub_events import report_incident
from seuil.services.ppms import PpmsService

log = logging.getLogger(__name__)

__all__ = [
    "LEVEL_LABELS",
    "TYPE_LABELS",
    "IncidentService",
    "Recipients",
    "TickReport",
    "incident_payload",
    "new_incident_id",
]

Recipients = Mapping[EscalationLevel, Sequence[tuple[str, str]]]  # level -> (channel, to)

TOPIC_INCIDENT = "incident"
TOPIC_NOTIFICATION = "notification"
SILENT_CODE = "SILENT"
_ATTEMPTS = 3  # a transaction that lost a race is run again on fresh data

TYPE_LABELS: Mapping[IncidentType, str] = {
    IncidentType.PANIC: "alerte panique",
    IncidentType.DURESS: "alerte sous contrainte",
    IncidentType.INTRUSION: "intrusion",
    IncidentType.FIRE: "incendie",
    IncidentType.TAMPER: "sabotage d'équipement",
    IncidentType.POWER: "défaut d'alimentation",
    IncidentType.PERIODIC_TEST: "test cyclique",
    IncidentType.DEVICE_SILENT: "équipement muet",
    IncidentType.DENY_REVOKED: "refus : titre révoqué",
    IncidentType.DENY_MISMATCH: "refus : visage non concordant",
    IncidentType.LIVENESS_FAILURE: "échec du contrôle du vivant",
    IncidentType.TAILGATING: "passage en talonnage",
    IncidentType.DOOR_FORCED: "porte forcée",
    IncidentType.DOOR_HELD_OPEN: "porte maintenue ouverte",
    IncidentType.CAMERA_OFFLINE: "caméra hors ligne",
    IncidentType.UNKNOWN: "code inconnu",
}

LEVEL_LABELS: Mapping[EscalationLevel, str] = {
    EscalationLevel.GATE_AGENT: "agent d'accueil",
    EscalationLevel.VIE_SCOLAIRE: "vie scolaire (CPE)",
    EscalationLevel.HEAD_OF_SCHOOL: "chef d'établissement",
    EscalationLevel.REGIONAL_CENTRE: "centre opérationnel régional",
}

_SEVERITY_LABELS = {
    Severity.INFO: "information",
    Severity.LOW: "faible",
    Severity.MEDIUM: "moyenne",
    Severity.HIGH: "haute",
    Severity.CRITICAL: "critique",
}


def new_incident_id(at: datetime) -> str:
    """Short enough to read out on the phone: ``I20260302-4F9A2C``."""
    return f"I{at:%Y%m%d}-{secrets.token_hex(3).upper()}"


def incident_payload(incident: Incident) -> dict[str, object]:
    """The JSON-ready summary screens receive (no raw panel text)."""
    last = incident.signals[-1]
    return {
        "id": incident.id,
        "type": incident.type.value,
        "label": TYPE_LABELS[incident.type],
        "site": incident.site,
        "zone": incident.zone,
        "severity": int(incident.severity),
        "status": incident.status.value,
        "level": int(incident.level),
        "level_label": LEVEL_LABELS[incident.level],
        "opened_at": incident.opened_at.isoformat(),
        "last_signal_at": incident.last_signal_at.isoformat(),
        "signals": len(incident.signals),
        "last_source": last.source,
        "acknowledged_by": incident.acknowledged_by,
        "confirmed_by": incident.confirmed_by,
        "needs_confirmation": not incident.full_alarm_allowed,
    }


@dataclass(frozen=True, slots=True)
class TickReport:
    escalations: tuple[Escalation, ...] = ()  # applied, in order
    silent_devices: tuple[str, ...] = ()  # devices found silent this tick
    incidents: tuple[str, ...] = ()  # incidents their silence opened or joined


@dataclass
class _Step:
    """What one transaction did, published once it is committed."""

    incident: Incident | None = None
    event: str = ""
    live: list[dict[str, object]] = field(default_factory=list)
    replayed: bool = False


_T = TypeVar("_T")


class IncidentService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        *,
        policy: EscalationPolicy = DEFAULT_POLICY,
        recipients: Recipients | None = None,
        bus: LiveBus,
        ppms: PpmsService | None = None,
        site_id: str = "",
        dedup_window: timedelta = timedelta(minutes=5),
        correlation_window: timedelta = timedelta(minutes=2),
        new_id: Callable[[datetime], str] = new_incident_id,
        reader: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        self._uow = uow
        self._reader = reader or uow  # read-only units: no write lock for screens
        self._clock = clock
        self._policy = policy
        self._recipients: Recipients = recipients or {}
        self._bus = bus
        self._ppms = ppms
        self._site = site_id
        self._dedup = dedup_window
        self._correlation = correlation_window
        self._new_id = new_id

    # -- signals -------------------------------------------------------------------------

    def receive(self, signal: Signal) -> Incident | None:
        """Store one signal: the incident it opened or joined (None if it opens nothing:
        a restore without incident, a periodic test). Idempotent for the same message.
        Raises StorageUnavailableError, having applied nothing, when the database is
        down (a fire still releases egress first)."""
        fire = _is_fire(signal)
        try:
            step = self._retry(lambda: self._ingest(signal))
        except StorageUnavailableError:
            if fire:
                self._fire(signal)
            raise
        if step.replayed:
            return step.incident
        if fire:
            self._fire(signal)
        self._publish(step)
        return step.incident

    def _ingest(self, signal: Signal) -> _Step:
        now = self._clock.now()
        step = _Step()
        with self._uow() as uow:
            uow.incidents.lock()
            known = uow.incidents.with_signal(signal)
            if known is not None:
                return _Step(known, replayed=True)
            live = uow.incidents.unresolved()
            incident = ingest(live, signal, self._new_id(now), dedup_window=self._dedup,
                              correlation_window=self._correlation)  # fmt: skip
            if not uow.devices.touch(signal.source, signal.at):
                uow.devices.upsert(
                    Device(signal.source, guess_kind(signal.type), signal.zone,
                           last_seen=signal.at, registered_at=now)
                )  # fmt: skip
            if incident is not None:
                before = next((i for i in live if i.id == incident.id), None)
                if before is None:
                    uow.incidents.add(incident)
                else:
                    uow.incidents.update(incident)
                self._store_signal(uow, step, before, incident, signal, now)
            uow.commit()
        return step

    def receive_many(self, signals: Sequence[Signal]) -> list[Incident | None]:
        """Store many signals with the outcome of as many calls of :meth:`receive`, in
        the same order, for a fraction of the cost: ONE transaction in which the lock,
        the unresolved incidents, the replay check and the devices are read once, each
        signal is matched against the incidents as the earlier ones left them (replays
        change nothing), and each incident and device is written once.

        The live bus is told after the commit, in the signals' order. A fire signal
        ends its transaction: committed, then egress released, before the signals
        behind it (an evacuation waits for nothing queued after it; the audit trail
        reads exactly as with :meth:`receive`). Raises StorageUnavailableError when the
        database is down, having applied nothing from the transaction that failed
        (every fire not yet applied still releases egress first); any other error also
        rolls that transaction back (the caller may then try the signals one by one).
        Signals of a transaction committed before the failure are replays next time."""
        batch = list(signals)
        results: list[Incident | None] = []
        start = 0
        for end, signal in enumerate(batch, 1):
            if end == len(batch) or _is_fire(signal):
                try:
                    results += self._receive_together(batch[start:end])
                except StorageUnavailableError:
                    for waiting in batch[start:]:
                        if _is_fire(waiting):
                            self._fire(waiting)
                    raise
                start = end
        return results

    def _receive_together(self, batch: list[Signal]) -> list[Incident | None]:
        steps = self._retry(lambda: self._ingest_many(batch))
        for signal, step in zip(batch, steps, strict=True):
            if step.replayed:
                continue
            if _is_fire(signal):
                self._fire(signal)
            self._publish(step)
        return [step.incident for step in steps]

    def _ingest_many(self, signals: Sequence[Signal]) -> list[_Step]:
        steps: list[_Step] = []
        with self._uow() as uow:
            uow.incidents.lock()
            holders = uow.incidents.incidents_holding(signals)
            live = uow.incidents.unresolved()
            current = {i.id: i for i in live}
            dirty: dict[str, Incident] = {}  # stored before, written once at the end
            stored: dict[tuple[str, str, datetime, str], str] = {}  # this batch's signals
            devices = _Devices(uow)
            for signal, stored_in in zip(signals, holders, strict=True):
                now = self._clock.now()
                key = (signal.source, signal.code, signal.at, signal.raw)  # its fingerprint
                holder = stored_in or stored.get(key)
                if holder is not None:
                    known = current.get(holder) or uow.incidents.get(holder)
                    steps.append(_Step(known, replayed=True))
                    continue
                incident = ingest(live, signal, self._new_id(now), dedup_window=self._dedup,
                                  correlation_window=self._correlation)  # fmt: skip
                devices.seen(signal, now)
                step = _Step()
                if incident is not None:
                    before = current.get(incident.id)
                    if before is None:
                        uow.incidents.add(incident)
                        live.append(incident)
                        live.sort(key=lambda i: (i.opened_at, i.id))  # as unresolved() does
                    else:
                        dirty[incident.id] = incident
                        live[next(n for n, i in enumerate(live) if i is before)] = incident
                    current[incident.id] = incident
                    stored[key] = incident.id
                    self._store_signal(uow, step, before, incident, signal, now)
                steps.append(step)
            for incident in dirty.values():
                uow.incidents.update(incident)
            devices.write()
            uow.commit()
        return steps

    def _store_signal(
        self,
        uow: UnitOfWork,
        step: _Step,
        before: Incident | None,
        incident: Incident,
        signal: Signal,
        now: datetime,
    ) -> None:
        details = {"source": signal.source, "code": signal.code, "kind": signal.kind.value,
                   "signal_type": signal.type.value}  # fmt: skip
        if before is None:
            report_incident(uow.outbox, None, incident)  # hub outbox, same transaction
            self._audit(uow, incident, incident.history[0], now, details)
            self._notify(uow, step, incident, incident.level, "open", now)
            step.event = "opened"
        else:
            report_incident(uow.outbox, before, incident)  # hub outbox, same transaction
            uow.audit.append(
                AuditEvent("system", AuditAction.INCIDENT_SIGNAL, incident.id, "",
                           {**details, "signals": len(incident.signals)}),
                now,
            )  # fmt: skip
            if incident.severity > before.severity:
                self._notify(uow, step, incident, incident.level, "worse", now)
            step.event = "signal"
        step.incident = incident

    def _fire(self, signal: Signal) -> None:
        if self._ppms is None:
            return
        try:
            self._ppms.on_fire(signal.at, signal.source)
        except Exception:  # never let the PPMS path hide the signal's own outcome
            log.exception("fire evacuation failed for %s", signal.source)

    # -- people's actions ----------------------------------------------------------------

    def acknowledge(self, incident_id: str, by: str) -> Incident:
        return self._act(incident_id, by, lambda i, at: i.acknowledge(by, at), "acknowledged")

    def escalate(self, incident_id: str, by: str) -> Incident:
        """Manual escalation to the next level (whose recipients are notified)."""

        def step(incident: Incident, at: datetime) -> Incident:
            if incident.level >= EscalationLevel.REGIONAL_CENTRE:
                raise ValueError("the incident is already at the last level")
            return incident.escalate(EscalationLevel(incident.level + 1), at, by)

        return self._act(incident_id, by, step, "escalated")

    def confirm(self, incident_id: str, by: str) -> Incident:
        """A person confirms an intrusion: recorded, then the full PPMS alarm
        (confinement) when the site is in normal mode."""
        incident = self._act(incident_id, by, lambda i, at: i.confirm(by, at), "confirmed")
        if self._ppms is not None:
            try:
                if self._ppms.current().mode is PpmsMode.NORMAL:
                    self._ppms.enter(PpmsMode.CONFINEMENT, by,
                                     f"intrusion confirmée (incident {incident.id})")  # fmt: skip
            except ConflictError as error:
                log.warning("confinement after %s not entered: %s", incident.id, error)
        return incident

    def resolve(self, incident_id: str, by: str, note: str) -> Incident:
        return self._act(incident_id, by, lambda i, at: i.resolve(note, by, at), "resolved")

    def _act(
        self,
        incident_id: str,
        by: str,
        change: Callable[[Incident, datetime], Incident],
        event: str,
    ) -> Incident:
        def once() -> _Step:
            now = self._clock.now()
            step = _Step(event=event)
            with self._uow() as uow:
                uow.incidents.lock()
                incident = uow.incidents.get(incident_id)
                if incident is None:
                    raise NotFoundError(f"no incident {incident_id!r}")
                try:
                    changed = change(incident, max(now, incident.history[-1].at))
                except ValueError as error:
                    raise ConflictError(f"incident {incident_id}: {error}") from None
                uow.incidents.update(changed)
                report_incident(uow.outbox, incident, changed)  # hub outbox, same transaction
                self._audit(uow, changed, changed.history[-1], now)
                if changed.level > incident.level:
                    self._notify(uow, step, changed, changed.level, "escalate", now)
                uow.commit()
            step.incident = changed
            return step

        step = self._retry(once)
        self._publish(step)
        assert step.incident is not None
        return step.incident

    # -- reading -------------------------------------------------------------------------

    def get(self, incident_id: str) -> Incident:
        with self._reader() as uow:
            incident = uow.incidents.get(incident_id)
        if incident is None:
            raise NotFoundError(f"no incident {incident_id!r}")
        return incident

    def search(self, query: IncidentQuery) -> list[Incident]:
        with self._reader() as uow:
            return uow.incidents.search(query)

    def count(self, query: IncidentQuery) -> int:
        with self._reader() as uow:
            return uow.incidents.count(query)

    def notifications(self, incident_id: str) -> list[Notification]:
        with self._reader() as uow:
            return uow.notifications.for_incident(incident_id)

    # -- time passing --------------------------------------------------------------------

    def tick(self) -> TickReport:
        """Apply every escalation due now and report devices that fell silent.

        Computed from stored timestamps only: after a restart (or a long outage) the
        first tick applies exactly the escalations that are due, once each."""
        report, steps = self._retry(self._tick_once)
        for step in steps:
            self._publish(step)
        return report

    def _tick_once(self) -> tuple[TickReport, list[_Step]]:
        now = self._clock.now()
        steps: dict[str, _Step] = {}
        applied: list[Escalation] = []
        silent_ids: list[str] = []
        touched: list[str] = []
        with self._uow() as uow:
            uow.incidents.lock()
            live = {i.id: i for i in uow.incidents.unresolved()}
            stored = set(live)
            originals = dict(live)  # for the hub outbox: what each incident was before
            for due in due_escalations(live.values(), now, self._policy):
                incident = live[due.incident_id]
                escalated = incident.escalate(due.level, max(now, incident.history[-1].at))
                live[incident.id] = escalated
                step = steps.setdefault(incident.id, _Step(event="escalated"))
                self._audit(uow, escalated, escalated.history[-1], now,
                            {"due_at": due.due_at.isoformat()})  # fmt: skip
                self._notify(uow, step, escalated, due.level, "escalate", now)
                step.incident = escalated
                applied.append(due)
            for device in silent_devices(uow.devices.all(), now):
                uow.devices.upsert(device.reported_silent(now))
                silent_ids.append(device.id)
                silenced = self._silence(uow, device, list(live.values()), now, steps)
                if silenced is not None:
                    live[silenced.id] = silenced
                    touched.append(silenced.id)
            for incident_id, step in steps.items():
                if step.incident is None:
                    continue
                if incident_id in stored:
                    uow.incidents.update(step.incident)
                else:
                    uow.incidents.add(step.incident)
                report_incident(uow.outbox, originals.get(incident_id), step.incident)
            uow.commit()
        report = TickReport(tuple(applied), tuple(silent_ids), tuple(touched))
        return report, list(steps.values())

    def _silence(
        self,
        uow: UnitOfWork,
        device: Device,
        live: list[Incident],
        now: datetime,
        steps: dict[str, _Step],
    ) -> Incident | None:
        since = device.reference_time
        raw = f"aucun message depuis {since.isoformat() if since else 'son installation'}"
        signal = Signal(device.id, self._site, device.zone, SILENT_CODE, raw, now,
                        IncidentType.DEVICE_SILENT)  # fmt: skip
        incident = ingest(live, signal, self._new_id(now), dedup_window=self._dedup,
                          correlation_window=self._correlation)  # fmt: skip
        if incident is None:
            return None
        before = next((i for i in live if i.id == incident.id), None)
        step = steps.setdefault(incident.id, _Step(event="opened" if before is None else "signal"))
        details = {"source": device.id, "code": SILENT_CODE, "kind": signal.kind.value,
                   "signal_type": signal.type.value}  # fmt: skip
        if before is None:
            self._audit(uow, incident, incident.history[0], now, details)
            self._notify(uow, step, incident, incident.level, "open", now)
        else:
            uow.audit.append(
                AuditEvent("system", AuditAction.INCIDENT_SIGNAL, incident.id, "", details), now
            )
        step.incident = incident
        return incident

    # -- shared --------------------------------------------------------------------------

    def _retry(self, once: Callable[[], _T]) -> _T:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return once()
            except ConflictError:
                if attempt == _ATTEMPTS:
                    raise
                log.info("incident transaction lost a race; trying again (%d)", attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _audit(
        uow: UnitOfWork,
        incident: Incident,
        transition: Transition,
        now: datetime,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        details: dict[str, object] = {
            "type": incident.type.value,
            "zone": incident.zone,
            "severity": int(incident.severity),
            "status": incident.status.value,
            "level": int(incident.level),
            "at": transition.at.isoformat(),
            **(extra or {}),
        }
        uow.audit.append(
            AuditEvent(transition.by, incident_action(transition.action), incident.id,
                       transition.note, details),
            now,
        )  # fmt: skip

    def _notify(
        self,
        uow: UnitOfWork,
        step: _Step,
        incident: Incident,
        level: EscalationLevel,
        why: str,
        now: datetime,
    ) -> None:
        subject, body = _message(incident, level, why)
        for channel, recipient in self._recipients.get(level, ()):
            if channel == LIVE_CHANNEL:
                message: dict[str, object] = {"recipient": recipient, "level": int(level),
                                              "incident_id": incident.id, "subject": subject,
                                              "body": body}  # fmt: skip
                step.live.append(message)
            else:
                uow.notifications.add(
                    Notification.new(incident.id, channel, recipient, subject, body, now)
                )

    def _publish(self, step: _Step) -> None:
        try:
            if step.incident is not None and step.event:
                payload = {"event": step.event, **incident_payload(step.incident)}
                self._bus.publish(TOPIC_INCIDENT, payload)
            for message in step.live:
                self._bus.publish(TOPIC_NOTIFICATION, message)
        except Exception:  # the port says it never raises; a bad adapter must not matter
            log.exception("live bus publish failed")


def _is_fire(signal: Signal) -> bool:
    return signal.type is IncidentType.FIRE and signal.kind is not SignalKind.RESTORE


class _Devices:
    """The devices a batch heard from: read once, changed in memory, written once (the
    same end state as touching the registry signal by signal)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._known: dict[str, Device | None] = {}
        self._read: dict[str, Device | None] = {}

    def seen(self, signal: Signal, now: datetime) -> None:
        source = signal.source
        if source not in self._known:
            self._read[source] = self._known[source] = self._uow.devices.get(source)
        device = self._known[source]
        if device is None:
            self._known[source] = Device(source, guess_kind(signal.type), signal.zone,
                                         last_seen=signal.at, registered_at=now)  # fmt: skip
        else:
            self._known[source] = device.seen(signal.at)

    def write(self) -> None:
        for source, device in self._known.items():
            if device is not None and device != self._read[source]:
                self._uow.devices.upsert(device)


def _message(incident: Incident, level: EscalationLevel, why: str) -> tuple[str, str]:
    """A French subject line and body for one incident notification."""
    label = TYPE_LABELS[incident.type]
    where = f"zone {incident.zone}" if incident.zone else "zone inconnue"
    severity = _SEVERITY_LABELS[incident.severity]
    if why == "escalate":
        subject = (f"[seuil] Escalade vers {LEVEL_LABELS[level]} : {label}, {where} "
                   "(non acquitté)")  # fmt: skip
    elif why == "worse":
        subject = f"[seuil] Aggravation : {label}, {where} (gravité {severity})"
    else:
        subject = f"[seuil] Incident : {label}, {where} (gravité {severity})"
    last = incident.signals[-1]
    lines = [
        f"Incident {incident.id} : {label}",
        f"Site : {incident.site}   Zone : {incident.zone or '?'}",
        f"Gravité : {severity}   État : {incident.status.value}",
        f"Niveau d'alerte : {LEVEL_LABELS[level]}",
        f"Ouvert le : {incident.opened_at.isoformat()}",
        f"Signaux : {len(incident.signals)} (dernier : {last.source} {last.code} "
        f"à {last.at.isoformat()})",
    ]
    if not incident.full_alarm_allowed:
        lines.append("Intrusion à confirmer par une personne avant l'alarme PPMS complète.")
    lines.append("")
    lines.append(f"Pour acquitter : seuil incidents ack {incident.id} --by VOTRE-COMPTE")
    return subject, "\n".join(lines) + "\n"


if TYPE_CHECKING:  # mypy proves that the engine is a signal sink

    def _satisfies_the_port(service: IncidentService) -> SignalSink:
        return service
