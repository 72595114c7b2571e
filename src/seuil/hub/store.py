"""SQL for the hub's own tables, on the unit of work's connection (``uow.hub``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage.db import Db
from seuil.domain.hub import AnchoredHead, Envelope, EventKind, HubMessage, MessageKind
from seuil.hub import tables as h
from seuil.hub.model import (
    Assignment,
    AssignmentState,
    Availability,
    HubIncident,
    HubStatus,
    SiteRecord,
)


def _utc(at: datetime) -> datetime:
    """An aggregate (MIN) loses the column type on SQLite: give the time back its zone."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _site(row: sa.Row[Any]) -> SiteRecord:
    return SiteRecord(
        id=row.id, name=row.name, town=row.town, lat=row.lat, lon=row.lon,
        created_at=row.created_at, revoked_at=row.revoked_at,
        last_contact_at=row.last_contact_at, high_water=row.high_water, events=row.events,
        mode=row.mode, mode_since=row.mode_since, cameras_online=row.cameras_online,
        cameras_total=row.cameras_total, panels_total=row.panels_total,
        panels_silent=tuple(json.loads(row.panels_silent or "[]")),
        heartbeat_at=row.heartbeat_at, backlog=row.backlog,
    )  # fmt: skip


def _incident(row: sa.Row[Any]) -> HubIncident:
    values = dict(row._mapping)
    for name in ("last_seq",):
        values.pop(name, None)
    values["hub_status"] = HubStatus(values["hub_status"])
    return HubIncident(**values)


def _assignment(row: sa.Row[Any]) -> Assignment:
    values = dict(row._mapping)
    values["state"] = AssignmentState(values["state"])
    return Assignment(**values)


class HubStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    # -- sites -------------------------------------------------------------------------

    def add_site(self, record: SiteRecord, token_hash: str) -> None:
        self._db.execute(
            sa.insert(h.sites).values(
                id=record.id, name=record.name, town=record.town, lat=record.lat,
                lon=record.lon, token_hash=token_hash, created_at=record.created_at,
            )
        )  # fmt: skip

    def set_site_token(self, site_id: str, token_hash: str) -> None:
        self._db.execute(
            sa.update(h.sites).where(h.sites.c.id == site_id)
            .values(token_hash=token_hash, revoked_at=None)
        )  # fmt: skip

    def revoke_site(self, site_id: str, at: datetime) -> bool:
        result = self._db.execute(
            sa.update(h.sites).where(h.sites.c.id == site_id, h.sites.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )  # fmt: skip
        return bool(result.rowcount)

    def site_credential(self, site_id: str, *, lock: bool = False) -> tuple[str, bool] | None:
        """(token hash, revoked) of a site, row-locked on PostgreSQL when ``lock``."""
        query = sa.select(h.sites.c.token_hash, h.sites.c.revoked_at).where(h.sites.c.id == site_id)
        if lock and self._db.dialect == "postgresql":
            query = query.with_for_update()
        row = self._db.execute(query).first()
        return None if row is None else (row.token_hash, row.revoked_at is not None)

    def get_site(self, site_id: str) -> SiteRecord | None:
        row = self._db.execute(sa.select(h.sites).where(h.sites.c.id == site_id)).first()
        return None if row is None else _site(row)

    def all_sites(self) -> list[SiteRecord]:
        return [_site(r) for r in self._db.execute(sa.select(h.sites).order_by(h.sites.c.id))]

    # -- events ------------------------------------------------------------------------

    def known_keys(self, site_id: str, seqs: Sequence[int]) -> dict[int, str]:
        e = h.events
        rows = self._db.execute(
            sa.select(e.c.seq, e.c.key).where(e.c.site == site_id, e.c.seq.in_(list(seqs)))
        )
        return {row.seq: row.key for row in rows}

    def insert_events(self, envelopes: Sequence[Envelope], received_at: datetime) -> None:
        if not envelopes:
            return
        rows = [
            {"site": env.site, "seq": env.seq, "key": env.key, "kind": env.kind.value,
             "occurred_at": env.occurred_at, "body": json.dumps(dict(env.body),
                                                                separators=(",", ":")),
             "received_at": received_at}
            for env in envelopes
        ]  # fmt: skip
        # executemany: psycopg pipelines it; a multi-VALUES statement measured slower
        # (SQLAlchemy compiles a new 1,400-parameter statement for every batch size).
        self._db.execute(sa.insert(h.events), rows)

    def insert_anchors(self, site_id: str, anchors: Sequence[AnchoredHead], at: datetime) -> None:
        if anchors:
            self._db.execute(sa.insert(h.audit_anchors), [
                {"site": site_id, "seq": a.seq, "audit_seq": a.audit_seq,
                 "head_hash": a.head_hash, "entries": a.entries, "anchored_at": a.at,
                 "received_at": at}
                for a in anchors
            ])  # fmt: skip

    def anchors_of(self, site_id: str, after: int, limit: int) -> list[AnchoredHead]:
        """The site's audit anchors after event ``after``, oldest first."""
        a = h.audit_anchors.c
        rows = self._db.execute(
            sa.select(a.seq, a.audit_seq, a.head_hash, a.entries, a.anchored_at)
            .where(a.site == site_id, a.seq > after).order_by(a.seq).limit(limit)
        )  # fmt: skip
        return [AnchoredHead(int(r.seq), int(r.audit_seq), r.head_hash, int(r.entries),
                             _utc(r.anchored_at)) for r in rows]  # fmt: skip

    def seqs_above(self, site_id: str, seq: int, limit: int = 100_000) -> list[int]:
        e = h.events
        rows = self._db.execute(
            sa.select(e.c.seq).where(e.c.site == site_id, e.c.seq > seq).order_by(e.c.seq)
            .limit(limit)
        )  # fmt: skip
        return [r.seq for r in rows]

    def record_contact(self, site_id: str, at: datetime, high_water: int, new_events: int) -> None:
        s = h.sites
        self._db.execute(
            sa.update(s)
            .where(s.c.id == site_id)
            .values(last_contact_at=at, high_water=high_water, events=s.c.events + new_events)
        )

    def touch_site(self, site_id: str, at: datetime) -> None:
        self._db.execute(sa.update(h.sites).where(h.sites.c.id == site_id)
                         .values(last_contact_at=at))  # fmt: skip

    def events_of(self, site_id: str) -> list[tuple[int, str, str]]:
        """(seq, key, kind) of every stored event of a site, in order (tests, audits)."""
        e = h.events
        rows = self._db.execute(
            sa.select(e.c.seq, e.c.key, e.c.kind).where(e.c.site == site_id).order_by(e.c.seq)
        )
        return [(r.seq, r.key, r.kind) for r in rows]

    def count_events(self, kind: EventKind | None = None, since: datetime | None = None) -> int:
        e = h.events
        query = sa.select(sa.func.count()).select_from(e)
        if kind is not None:
            query = query.where(e.c.kind == kind.value)
        if since is not None:
            query = query.where(e.c.occurred_at >= since)
        return int(self._db.execute(query).scalar_one())

    def events_size_mb(self) -> float | None:
        """PostgreSQL: the events table with its indexes, in MB (None elsewhere)."""
        if self._db.dialect != "postgresql":
            return None
        size = self._db.execute(sa.text("SELECT pg_total_relation_size('hub_events')")).scalar()
        return round(int(size or 0) / 1e6, 1)

    def denials_since(self, since: datetime) -> dict[str, int]:
        e = h.events
        rows = self._db.execute(
            sa.select(e.c.site, sa.func.count().label("n"))
            .where(e.c.kind == EventKind.GATE_DENIAL.value, e.c.occurred_at >= since)
            .group_by(e.c.site)
        )
        return {r.site: int(r.n) for r in rows}

    # -- projections (called by ingestion, in the same transaction) ---------------------

    def project_incident(self, env: Envelope, received_at: datetime) -> None:
        b = env.body
        i = h.incidents
        key = (i.c.site == env.site, i.c.incident_id == b["incident_id"])
        row = self._db.execute(sa.select(i.c.last_seq, i.c.opened_at).where(*key)).first()
        values = {"type": b["type"], "severity": b["severity"], "zone": b["zone"],
                  "site_status": b["status"], "level": b["level"],
                  "updated_at": env.occurred_at, "last_seq": env.seq}  # fmt: skip
        if row is None:
            self._db.execute(sa.insert(i).values(
                site=env.site, incident_id=b["incident_id"], opened_at=env.occurred_at,
                received_at=received_at, hub_status=HubStatus.NEW.value, **values,
            ))  # fmt: skip
            return
        opened_at = row.opened_at
        if env.kind is EventKind.INCIDENT_OPENED and env.occurred_at < opened_at:
            opened_at = env.occurred_at
        if env.seq < row.last_seq:  # a late event: only the opening time may improve
            self._db.execute(sa.update(i).where(*key).values(opened_at=opened_at))
            return
        self._db.execute(sa.update(i).where(*key).values(opened_at=opened_at, **values))

    def project_mode(self, env: Envelope) -> None:
        s = h.sites
        self._db.execute(
            sa.update(s).where(s.c.id == env.site, s.c.mode_seq < env.seq)
            .values(mode=env.body["mode"], mode_since=env.occurred_at, mode_seq=env.seq)
        )  # fmt: skip

    def project_health(self, env: Envelope) -> None:
        s = h.sites
        b = env.body
        self._db.execute(
            sa.update(s).where(s.c.id == env.site, s.c.health_seq < env.seq).values(
                cameras_online=b["cameras_online"], cameras_total=b["cameras_total"],
                panels_total=b["panels_total"], panels_silent=json.dumps(b["panels_silent"]),
                health_seq=env.seq, health_at=env.occurred_at,
            )
        )  # fmt: skip

    def project_heartbeat(self, env: Envelope) -> None:
        s = h.sites
        self._db.execute(
            sa.update(s).where(s.c.id == env.site)
            .where(sa.or_(s.c.heartbeat_at.is_(None), s.c.heartbeat_at < env.occurred_at))
            .values(heartbeat_at=env.occurred_at, backlog=env.body["outbox_backlog"])
        )  # fmt: skip

    # -- incidents as the region handles them ------------------------------------------

    def incident(self, site_id: str, incident_id: str) -> HubIncident | None:
        i = h.incidents
        row = self._db.execute(
            sa.select(i).where(i.c.site == site_id, i.c.incident_id == incident_id)
        ).first()
        return None if row is None else _incident(row)

    def incidents(self, *, include_closed: bool = False, limit: int = 500) -> list[HubIncident]:
        i = h.incidents
        query = sa.select(i).order_by(i.c.severity.desc(), i.c.opened_at).limit(limit)
        if not include_closed:
            query = query.where(i.c.hub_status != HubStatus.CLOSED.value,
                                i.c.site_status != "resolved")  # fmt: skip
        return [_incident(r) for r in self._db.execute(query)]

    def open_summary(self) -> list[tuple[str, int, int, datetime]]:
        """(site, severity, count, oldest opened_at) of the open incidents."""
        i = h.incidents
        rows = self._db.execute(
            sa.select(
                i.c.site,
                i.c.severity,
                sa.func.count().label("n"),
                sa.func.min(i.c.opened_at).label("oldest"),
            )
            .where(i.c.hub_status != HubStatus.CLOSED.value, i.c.site_status != "resolved")
            .group_by(i.c.site, i.c.severity)
        )
        return [(r.site, int(r.severity), int(r.n), _utc(r.oldest)) for r in rows]

    def update_incident(self, site_id: str, incident_id: str, **values: Any) -> None:
        i = h.incidents
        self._db.execute(
            sa.update(i).where(i.c.site == site_id, i.c.incident_id == incident_id)
            .values(**values)
        )  # fmt: skip

    # -- mediators -----------------------------------------------------------------------

    def add_assignment(self, site_id: str, incident_id: str, mediator_id: str, by: str,
                       at: datetime) -> int:  # fmt: skip
        result = self._db.execute(
            sa.insert(h.assignments).values(
                site=site_id, incident_id=incident_id, mediator_id=mediator_id,
                state=AssignmentState.ASSIGNED.value, assigned_by=by, assigned_at=at,
                updated_at=at,
            )
        )  # fmt: skip
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def assignment(self, assignment_id: int) -> Assignment | None:
        a = h.assignments
        row = self._db.execute(sa.select(a).where(a.c.id == assignment_id)).first()
        return None if row is None else _assignment(row)

    def assignments(
        self, *, mediator_id: str | None = None, site_id: str | None = None,
        incident_id: str | None = None, active_only: bool = False,
    ) -> list[Assignment]:  # fmt: skip
        a = h.assignments
        query = sa.select(a).order_by(a.c.assigned_at.desc())
        if mediator_id is not None:
            query = query.where(a.c.mediator_id == mediator_id)
        if site_id is not None:
            query = query.where(a.c.site == site_id)
        if incident_id is not None:
            query = query.where(a.c.incident_id == incident_id)
        if active_only:
            query = query.where(a.c.state.not_in(["done", "cancelled"]))
        return [_assignment(r) for r in self._db.execute(query)]

    def set_assignment_state(self, assignment_id: int, state: AssignmentState,
                             at: datetime) -> None:  # fmt: skip
        a = h.assignments
        self._db.execute(
            sa.update(a).where(a.c.id == assignment_id).values(state=state.value, updated_at=at)
        )

    def availability(self, account_ids: Iterable[str]) -> dict[str, Availability]:
        m = h.mediators
        rows = self._db.execute(sa.select(m).where(m.c.account_id.in_(list(account_ids))))
        return {r.account_id: Availability(r.availability) for r in rows}

    def set_availability(self, account_id: str, availability: Availability, at: datetime) -> None:
        m = h.mediators
        done = self._db.execute(
            sa.update(m).where(m.c.account_id == account_id)
            .values(availability=availability.value, updated_at=at)
        ).rowcount  # fmt: skip
        if not done:
            self._db.execute(
                sa.insert(m).values(
                    account_id=account_id, availability=availability.value, updated_at=at
                )
            )

    # -- messages to the sites ---------------------------------------------------------

    def add_message(self, site_id: str, kind: MessageKind, at: datetime,
                    body: dict[str, Any], by: str) -> int:  # fmt: skip
        result = self._db.execute(
            sa.insert(h.messages).values(site=site_id, kind=kind.value, at=at,
                                         body=json.dumps(body, ensure_ascii=False), created_by=by)
        )  # fmt: skip
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def messages_for(self, site_id: str, after: int, limit: int = 100) -> list[HubMessage]:
        m = h.messages
        rows = self._db.execute(
            sa.select(m).where(m.c.id > after, m.c.site.in_([site_id, "*"]))
            .order_by(m.c.id).limit(limit)
        )  # fmt: skip
        return [HubMessage(r.id, MessageKind(r.kind), r.site, r.at, json.loads(r.body))
                for r in rows]  # fmt: skip

    def recent_messages(self, limit: int = 50) -> list[HubMessage]:
        m = h.messages
        rows = self._db.execute(sa.select(m).order_by(m.c.id.desc()).limit(limit))
        return [HubMessage(r.id, MessageKind(r.kind), r.site, r.at, json.loads(r.body))
                for r in rows]  # fmt: skip
