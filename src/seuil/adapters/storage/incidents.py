"""SQL storage of the incident engine: incidents, the notification outbox, devices and
the site's PPMS state.

An incident is stored as one row plus its signals and transitions, numbered in order,
so it comes back exactly as it went in (history, levels, notes, raw codes). Updates
append only what is new and bump a version: a transaction that read an incident which
another transaction changed meanwhile gets :class:`ConflictError` instead of silently
overwriting it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.devices import Device, DeviceKind
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.incidents import (
    Action,
    EscalationLevel,
    Incident,
    IncidentStatus,
    IncidentType,
    Severity,
    Signal,
    SignalKind,
    Transition,
)
from seuil.domain.notifications import Notification, NotificationStatus
from seuil.domain.ppms import INITIAL, PpmsMode, PpmsState
from seuil.ports.storage import IncidentQuery

# Any constant: the key of the transaction-level advisory lock of incident writers.
_INCIDENT_LOCK_KEY = 0x5E01_1C1D
_CHUNK = 500
# Statements built once, values bound at execution: compiled once, then cached.
_INSERT_SIGNALS = sa.insert(t.incident_signals)
_INSERT_TRANSITIONS = sa.insert(t.incident_transitions)
_INSERT_NOTIFICATION = sa.insert(t.notifications)


def signal_fingerprint(signal: Signal) -> str:
    """The identity of a message: same source, code, time and raw text."""
    text = json.dumps(
        [signal.source, signal.code, signal.at.astimezone(UTC).isoformat(), signal.raw],
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _incident_type(value: str) -> IncidentType:
    try:
        return IncidentType(value)
    except ValueError:
        return IncidentType.UNKNOWN  # a type removed since: still shown, never dropped


def _signal_values(incident_id: str, seq: int, s: Signal) -> dict[str, Any]:
    return {
        "incident_id": incident_id, "seq": seq, "source": s.source, "site": s.site,
        "zone": s.zone, "code": s.code, "raw": s.raw, "at": s.at, "type": s.type.value,
        "kind": s.kind.value, "fingerprint": signal_fingerprint(s),
    }  # fmt: skip


def _signal(row: sa.Row[Any]) -> Signal:
    return Signal(
        source=row.source, site=row.site, zone=row.zone, code=row.code, raw=row.raw,
        at=row.at, type=_incident_type(row.type), kind=SignalKind(row.kind),
    )  # fmt: skip


def _transition_values(incident_id: str, seq: int, tr: Transition) -> dict[str, Any]:
    return {
        "incident_id": incident_id, "seq": seq, "action": tr.action.value, "at": tr.at,
        "by": tr.by, "level": None if tr.level is None else int(tr.level), "note": tr.note,
    }  # fmt: skip


def _transition(row: sa.Row[Any]) -> Transition:
    level = None if row.level is None else EscalationLevel(row.level)
    return Transition(Action(row.action), row.at, row.by, level, row.note)


def _incident_values(incident: Incident) -> dict[str, Any]:
    return {
        "type": incident.type.value,
        "site": incident.site,
        "zone": incident.zone,
        "severity": int(incident.severity),
        "status": incident.status.value,
        "level": int(incident.level),
        "opened_at": incident.opened_at,
        "last_signal_at": incident.last_signal_at,
    }


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlIncidentRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    # -- reading -------------------------------------------------------------------------

    def _children(self, table: sa.Table, ids: Sequence[str]) -> dict[str, list[sa.Row[Any]]]:
        found: dict[str, list[sa.Row[Any]]] = defaultdict(list)
        for chunk in _chunks(ids):
            statement = (
                sa.select(table)
                .where(table.c.incident_id.in_(chunk))
                .order_by(table.c.incident_id, table.c.seq)
            )
            for row in self._db.execute(statement):
                found[row.incident_id].append(row)
        return found

    def _load(self, rows: Sequence[sa.Row[Any]]) -> list[Incident]:
        cache = self._db.incident_cache
        written = self._db.incidents_written
        cached: dict[str, Incident] = {}
        for row in rows:
            self._db.incident_versions[row.id] = int(row.version)
            hit = None
            if cache is not None and row.id not in written:
                hit = cache.get(row.id, int(row.version))
            if hit is not None:
                cached[row.id] = hit
        missing = [row.id for row in rows if row.id not in cached]
        signals = self._children(t.incident_signals, missing) if missing else {}
        transitions = self._children(t.incident_transitions, missing) if missing else {}
        incidents = []
        for row in rows:
            if row.id in cached:
                hit = cached[row.id]
                self._db.incident_lengths[row.id] = (len(hit.signals), len(hit.history))
                incidents.append(hit)
                continue
            incident = Incident(
                id=row.id,
                type=_incident_type(row.type),
                site=row.site,
                zone=row.zone,
                severity=Severity(row.severity),
                signals=tuple(_signal(s) for s in signals.get(row.id, ())),
                history=tuple(_transition(tr) for tr in transitions.get(row.id, ())),
                status=IncidentStatus(row.status),
                level=EscalationLevel(row.level),
            )
            self._db.incident_lengths[row.id] = (len(incident.signals), len(incident.history))
            if cache is not None and row.id not in written:  # committed content only
                cache.put(incident, int(row.version))
            incidents.append(incident)
        return incidents

    def get(self, incident_id: str) -> Incident | None:
        rows = self._db.execute(sa.select(t.incidents).where(t.incidents.c.id == incident_id))
        found = self._load(rows.all())
        return found[0] if found else None

    def unresolved(self) -> list[Incident]:
        c = t.incidents.c
        statement = (
            sa.select(t.incidents)
            .where(c.status != IncidentStatus.RESOLVED.value)
            .order_by(c.opened_at, c.id)
        )
        return self._load(self._db.execute(statement).all())

    @staticmethod
    def _filtered(statement: sa.Select[Any], query: IncidentQuery) -> sa.Select[Any]:
        c = t.incidents.c
        if query.status is not None:
            statement = statement.where(c.status == query.status.value)
        if query.unresolved:
            statement = statement.where(c.status != IncidentStatus.RESOLVED.value)
        if query.type is not None:
            statement = statement.where(c.type == query.type.value)
        if query.min_severity is not None:
            statement = statement.where(c.severity >= int(query.min_severity))
        return statement

    def search(self, query: IncidentQuery) -> list[Incident]:
        c = t.incidents.c
        statement = (
            self._filtered(sa.select(t.incidents), query)
            .order_by(c.opened_at.desc(), c.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        return self._load(self._db.execute(statement).all())

    def count(self, query: IncidentQuery) -> int:
        statement = self._filtered(sa.select(sa.func.count()).select_from(t.incidents), query)
        return int(self._db.execute(statement).scalar_one())

    def with_signal(self, signal: Signal) -> Incident | None:
        c = t.incident_signals.c
        statement = sa.select(c.incident_id).where(c.fingerprint == signal_fingerprint(signal))
        incident_id = self._db.execute(statement).scalar()
        return None if incident_id is None else self.get(incident_id)

    def incidents_holding(self, signals: Sequence[Signal]) -> list[str | None]:
        c = t.incident_signals.c
        prints = [signal_fingerprint(s) for s in signals]
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(prints))):
            statement = sa.select(c.fingerprint, c.incident_id).where(c.fingerprint.in_(chunk))
            found.update((row.fingerprint, row.incident_id) for row in self._db.execute(statement))
        return [found.get(p) for p in prints]

    # -- writing -------------------------------------------------------------------------

    def lock(self) -> None:
        if self._db.dialect == "postgresql":
            self._db.execute(sa.select(sa.func.pg_advisory_xact_lock(_INCIDENT_LOCK_KEY)))
        # SQLite: every writing unit of work began with BEGIN IMMEDIATE, already exclusive.

    def add(self, incident: Incident) -> None:
        self._db.execute(
            sa.insert(t.incidents).values(id=incident.id, version=1, **_incident_values(incident))
        )
        self._append(incident, 0, 0)
        self._db.incident_versions[incident.id] = 1
        self._db.incidents_written[incident.id] = (1, incident)
        self._db.incident_lengths[incident.id] = (len(incident.signals), len(incident.history))

    def update(self, incident: Incident) -> None:
        c = t.incidents.c
        version = self._db.incident_versions.get(incident.id)
        if version is None:
            version = self._db.execute(sa.select(c.version).where(c.id == incident.id)).scalar()
            if version is None:
                raise NotFoundError(f"no incident {incident.id}")
        result = self._db.execute(
            sa.update(t.incidents)
            .where(c.id == incident.id, c.version == version)
            .values(version=version + 1, **_incident_values(incident))
        )
        if result.rowcount == 0:
            raise ConflictError(f"incident {incident.id} changed meanwhile: read it again")
        known = self._db.incident_lengths.get(incident.id)
        if known is not None:  # read (or written) at this version in this transaction
            stored_signals, stored_steps = known
        else:
            stored_signals = self._count(t.incident_signals, incident.id)
            stored_steps = self._count(t.incident_transitions, incident.id)
        if stored_signals > len(incident.signals) or stored_steps > len(incident.history):
            raise ConflictError(f"incident {incident.id}: stored history is longer")
        self._append(incident, stored_signals, stored_steps)
        self._db.incident_versions[incident.id] = version + 1
        self._db.incidents_written[incident.id] = (version + 1, incident)
        self._db.incident_lengths[incident.id] = (len(incident.signals), len(incident.history))

    def _count(self, table: sa.Table, incident_id: str) -> int:
        statement = (
            sa.select(sa.func.count()).select_from(table).where(table.c.incident_id == incident_id)
        )
        return int(self._db.execute(statement).scalar_one())

    def _append(self, incident: Incident, from_signal: int, from_step: int) -> None:
        new_signals = [
            _signal_values(incident.id, seq, s)
            for seq, s in enumerate(incident.signals[from_signal:], from_signal)
        ]
        new_steps = [
            _transition_values(incident.id, seq, tr)
            for seq, tr in enumerate(incident.history[from_step:], from_step)
        ]
        if new_signals:
            self._db.execute(_INSERT_SIGNALS, new_signals)
        if new_steps:
            self._db.execute(_INSERT_TRANSITIONS, new_steps)


# -- the outbox ------------------------------------------------------------------------------


def _notification_values(n: Notification) -> dict[str, Any]:
    return {
        "incident_id": n.incident_id, "channel": n.channel, "recipient": n.recipient,
        "subject": n.subject, "body": n.body, "created_at": n.created_at,
        "status": n.status.value, "attempts": n.attempts, "next_attempt_at": n.due_at,
        "last_error": n.last_error, "sent_at": n.sent_at,
    }  # fmt: skip


def _notification(row: sa.Row[Any]) -> Notification:
    return Notification(
        id=row.id, incident_id=row.incident_id, channel=row.channel, recipient=row.recipient,
        subject=row.subject, body=row.body, created_at=row.created_at,
        status=NotificationStatus(row.status), attempts=row.attempts,
        next_attempt_at=row.next_attempt_at, last_error=row.last_error, sent_at=row.sent_at,
    )  # fmt: skip


class SqlNotificationOutbox:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, notification: Notification) -> None:
        values = {"id": notification.id, **_notification_values(notification)}
        self._db.execute(_INSERT_NOTIFICATION, [values])

    def get(self, notification_id: str) -> Notification | None:
        statement = sa.select(t.notifications).where(t.notifications.c.id == notification_id)
        row = self._db.execute(statement).first()
        return _notification(row) if row else None

    def due(self, now: datetime, limit: int = 50) -> list[Notification]:
        c = t.notifications.c
        statement = (
            sa.select(t.notifications)
            .where(c.status == NotificationStatus.PENDING.value, c.next_attempt_at <= now)
            .order_by(c.next_attempt_at, c.created_at, c.id)
            .limit(limit)
        )
        if self._db.dialect == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        return [_notification(row) for row in self._db.execute(statement)]

    def update(self, notification: Notification) -> None:
        result = self._db.execute(
            sa.update(t.notifications)
            .where(t.notifications.c.id == notification.id)
            .values(**_notification_values(notification))
        )
        if result.rowcount == 0:
            raise NotFoundError(f"no notification {notification.id}")

    def recent(self, limit: int = 50) -> list[Notification]:
        c = t.notifications.c
        statement = sa.select(t.notifications).order_by(c.created_at.desc(), c.id).limit(limit)
        return [_notification(row) for row in self._db.execute(statement)]

    def failed(self) -> list[Notification]:
        c = t.notifications.c
        statement = (
            sa.select(t.notifications)
            .where(c.status == NotificationStatus.FAILED.value)
            .order_by(c.created_at, c.id)
        )
        return [_notification(row) for row in self._db.execute(statement)]

    def for_incident(self, incident_id: str) -> list[Notification]:
        c = t.notifications.c
        statement = (
            sa.select(t.notifications)
            .where(c.incident_id == incident_id)
            .order_by(c.created_at, c.id)
        )
        return [_notification(row) for row in self._db.execute(statement)]


# -- devices -------------------------------------------------------------------------------


def _device_values(d: Device) -> dict[str, Any]:
    return {
        "kind": d.kind.value, "zone": d.zone, "label": d.label,
        "supervision_interval_s": d.supervision_interval_s, "last_seen": d.last_seen,
        "health": d.health, "registered_at": d.registered_at, "silent_since": d.silent_since,
    }  # fmt: skip


def _device(row: sa.Row[Any]) -> Device:
    return Device(
        id=row.id, kind=DeviceKind(row.kind), zone=row.zone, label=row.label,
        supervision_interval_s=row.supervision_interval_s, last_seen=row.last_seen,
        health=row.health, registered_at=row.registered_at, silent_since=row.silent_since,
    )  # fmt: skip


class SqlDeviceRegistry:
    def __init__(self, db: Db) -> None:
        self._db = db

    def upsert(self, device: Device) -> None:
        c = t.devices.c
        values = _device_values(device)
        result = self._db.execute(sa.update(t.devices).where(c.id == device.id).values(**values))
        if result.rowcount == 0:
            self._db.execute(sa.insert(t.devices).values(id=device.id, **values))

    def get(self, device_id: str) -> Device | None:
        row = self._db.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).first()
        return _device(row) if row else None

    def all(self) -> list[Device]:
        statement = sa.select(t.devices).order_by(t.devices.c.id)
        return [_device(row) for row in self._db.execute(statement)]

    def touch(self, device_id: str, at: datetime) -> bool:
        device = self.get(device_id)
        if device is None:
            return False
        seen = device.seen(at)
        if seen != device:
            self.upsert(seen)
        return True


# -- the site's state ----------------------------------------------------------------------

_SITE_ROW = 1


class SqlSiteStateRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def ppms(self) -> PpmsState:
        statement = sa.select(t.site_state).where(t.site_state.c.id == _SITE_ROW)
        row = self._db.execute(statement).first()
        if row is None:
            return INITIAL
        return PpmsState(PpmsMode(row.ppms_mode), row.ppms_since, row.ppms_by, row.ppms_reason)

    def set_ppms(self, state: PpmsState) -> None:
        values = {
            "ppms_mode": state.mode.value,
            "ppms_since": state.since,
            "ppms_by": state.by,
            "ppms_reason": state.reason,
        }
        c = t.site_state.c
        result = self._db.execute(sa.update(t.site_state).where(c.id == _SITE_ROW).values(**values))
        if result.rowcount == 0:
            self._db.execute(sa.insert(t.site_state).values(id=_SITE_ROW, **values))
