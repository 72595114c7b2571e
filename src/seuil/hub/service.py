"""The hub's use cases: sites and their credentials, the board, the region's handling of
incidents, mediators' assignments and availability, region-wide alerts. Every act is
audited (hash-chained, as on a site); what the site must know goes back as a message."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from seuil.domain.accounts import Account, Role, secret_digest
from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import ConflictError, NotFoundError, PermissionDeniedError
from seuil.domain.hub import SITE_ID, MessageKind
from seuil.domain.permissions import Permission, allowed
from seuil.hub.model import (
    NEXT_STATE,
    POLICE_NUMBERS,
    Assignment,
    AssignmentState,
    Availability,
    BoardRow,
    HubIncident,
    HubStatus,
    SiteRecord,
    site_status,
)
from seuil.hub.uow import HubUnitOfWork
from seuil.ports.clock import Clock

TOKEN_PREFIX = "hub_"  # noqa: S105 (a prefix, not a secret)

# Tells the live pages what changed, after the commit (a live bus's ``publish``): never
# blocks, never raises, carries ids only (no name: the pages re-read what they show).
Publish = Callable[[str, Mapping[str, object]], None]
TOPIC_INCIDENT = "incident"
TOPIC_PPMS = "ppms"
TOPIC_BOARD = "board"


def _no_publish(topic: str, payload: Mapping[str, object]) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Board:
    rows: list[BoardRow]
    at: datetime
    denials_24h: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status.value == status)


def _require(actor: Account, permission: Permission) -> None:
    if actor.disabled or not allowed(actor.role, permission):
        raise PermissionDeniedError(f"permission {permission.value} required")


class HubService:
    def __init__(
        self,
        uow: Callable[[], HubUnitOfWork],
        clock: Clock,
        link_timeout: timedelta = timedelta(minutes=3),
        publish: Publish | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.link_timeout = link_timeout
        self._publish = publish or _no_publish

    # -- sites ---------------------------------------------------------------------------

    def add_site(self, site_id: str, name: str, town: str = "", lat: float | None = None,
                 lon: float | None = None, *, actor: str = "cli") -> str:  # fmt: skip
        """Register a site; returns its bearer token (shown once, stored as a SHA-256)."""
        if not SITE_ID.match(site_id):
            raise ConflictError("identifiant de site : 1 à 32 lettres, chiffres, - ou _")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._uow() as uow:
            if uow.hub.get_site(site_id) is not None:
                raise ConflictError(f"le site {site_id} existe déjà (site exists)")
            uow.hub.add_site(SiteRecord(site_id, name, town, lat, lon, now), secret_digest(token))
            uow.audit.append(
                AuditEvent(actor, AuditAction.HUB_SITE_ADD, site_id, "", {"name": name}), now
            )
            uow.commit()
        return token

    def rotate_site_token(self, site_id: str, *, actor: str = "cli") -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._uow() as uow:
            if uow.hub.get_site(site_id) is None:
                raise NotFoundError(f"aucun site {site_id} (no such site)")
            uow.hub.set_site_token(site_id, secret_digest(token))
            uow.audit.append(AuditEvent(actor, AuditAction.HUB_SITE_TOKEN, site_id), now)
            uow.commit()
        return token

    def revoke_site(self, site_id: str, *, actor: str = "cli") -> None:
        now = self._clock.now()
        with self._uow() as uow:
            if not uow.hub.revoke_site(site_id, now):
                raise NotFoundError(f"aucun site actif {site_id} (no such active site)")
            uow.audit.append(AuditEvent(actor, AuditAction.HUB_SITE_REVOKE, site_id), now)
            uow.commit()

    def sites(self) -> list[SiteRecord]:
        with self._uow() as uow:
            return uow.hub.all_sites()

    # -- the board -----------------------------------------------------------------------

    def board(self, actor: Account) -> Board:
        _require(actor, Permission.HUB_VIEW)
        now = self._clock.now()
        with self._uow() as uow:
            sites = uow.hub.all_sites()
            summary = uow.hub.open_summary()
            denials = uow.hub.denials_since(now - timedelta(hours=24))
        by_site: dict[str, dict[int, int]] = {}
        oldest: dict[str, datetime] = {}
        for site_id, severity, count, opened in summary:
            by_site.setdefault(site_id, {})[severity] = count
            oldest[site_id] = min(opened, oldest.get(site_id, opened))
        rows = []
        for s in sites:
            counts = by_site.get(s.id, {})
            link_ok = s.last_contact_at is not None and now - s.last_contact_at < self.link_timeout
            rows.append(BoardRow(s, site_status(s.mode, sum(counts.values())), counts,
                                 oldest.get(s.id), link_ok))  # fmt: skip
        order = {"ppms": 0, "incident": 1, "normal": 2}
        rows.sort(key=lambda r: (order[r.status.value], -max(r.open_by_severity, default=-1),
                                 r.site.id))  # fmt: skip
        return Board(rows, now, denials)

    # -- incidents -----------------------------------------------------------------------

    def incidents(self, actor: Account, include_closed: bool = False) -> list[HubIncident]:
        _require(actor, Permission.HUB_VIEW)
        with self._uow() as uow:
            return uow.hub.incidents(include_closed=include_closed)

    def incident(self, actor: Account, site_id: str, incident_id: str) -> HubIncident:
        _require(actor, Permission.HUB_VIEW)
        with self._uow() as uow:
            found = uow.hub.incident(site_id, incident_id)
        if found is None:
            raise NotFoundError(f"aucun incident {incident_id} au site {site_id}")
        return found

    def _handle(
        self, actor: Account, site_id: str, incident_id: str, action: AuditAction,
        change: Callable[[HubIncident, datetime], dict[str, object]],
        message: dict[str, object] | None = None,
    ) -> HubIncident:  # fmt: skip
        _require(actor, Permission.HUB_HANDLE)
        now = self._clock.now()
        with self._uow() as uow:
            incident = uow.hub.incident(site_id, incident_id)
            if incident is None:
                raise NotFoundError(f"aucun incident {incident_id} au site {site_id}")
            if incident.hub_status is HubStatus.CLOSED:
                raise ConflictError("incident clos (the incident is closed)")
            values = change(incident, now)
            uow.hub.update_incident(site_id, incident_id, **values)
            if message is not None:
                uow.hub.add_message(site_id, MessageKind.ACK, now, message, actor.username)
            uow.audit.append(AuditEvent(actor.username, action,
                                        f"{site_id}/{incident_id}", "",
                                        {k: str(v) for k, v in values.items()}), now)  # fmt: skip
            uow.commit()
            updated = uow.hub.incident(site_id, incident_id)
        assert updated is not None
        self._publish(TOPIC_INCIDENT, {"site": site_id, "incident_id": incident_id,
                                       "change": action.removeprefix("hub.incident.")})  # fmt: skip
        return updated

    def acknowledge(self, actor: Account, site_id: str, incident_id: str) -> HubIncident:
        def change(incident: HubIncident, now: datetime) -> dict[str, object]:
            if incident.hub_status is not HubStatus.NEW:
                raise ConflictError("déjà pris en compte (already acknowledged)")
            return {"hub_status": HubStatus.ACKNOWLEDGED.value, "ack_by": actor.username,
                    "ack_at": now}  # fmt: skip

        body: dict[str, object] = {"incident_id": incident_id, "state": "acknowledged",
                                   "by": actor.display_name}  # fmt: skip
        return self._handle(actor, site_id, incident_id, AuditAction.HUB_INCIDENT_ACK, change, body)

    def record_police_call(
        self, actor: Account, site_id: str, incident_id: str, number: str
    ) -> HubIncident:
        if number not in POLICE_NUMBERS:
            raise ConflictError("numéro d'appel : 17 ou 112 (call number: 17 or 112)")

        def change(incident: HubIncident, now: datetime) -> dict[str, object]:
            return {"police_number": number, "police_by": actor.username, "police_at": now}

        body: dict[str, object] = {"incident_id": incident_id, "state": f"police_{number}",
                                   "by": actor.display_name}  # fmt: skip
        return self._handle(
            actor, site_id, incident_id, AuditAction.HUB_INCIDENT_POLICE, change, body
        )

    def close(self, actor: Account, site_id: str, incident_id: str, note: str) -> HubIncident:
        if not note.strip():
            raise ConflictError("une clôture demande une note (closing needs a note)")

        def change(incident: HubIncident, now: datetime) -> dict[str, object]:
            return {"hub_status": HubStatus.CLOSED.value, "closed_by": actor.username,
                    "closed_at": now, "close_note": note.strip()[:500]}  # fmt: skip

        body: dict[str, object] = {"incident_id": incident_id, "state": "closed_by_region"}
        return self._handle(
            actor, site_id, incident_id, AuditAction.HUB_INCIDENT_CLOSE, change, body
        )

    # -- mediators -----------------------------------------------------------------------

    def assign(
        self, actor: Account, site_id: str, incident_id: str, mediator: Account
    ) -> Assignment:
        _require(actor, Permission.HUB_HANDLE)
        if mediator.role is not Role.MEDIATOR or mediator.disabled:
            raise ConflictError("ce compte n'est pas un médiateur actif (not an active mediator)")
        now = self._clock.now()
        with self._uow() as uow:
            incident = uow.hub.incident(site_id, incident_id)
            if incident is None:
                raise NotFoundError(f"aucun incident {incident_id} au site {site_id}")
            if incident.hub_status is HubStatus.CLOSED:
                raise ConflictError("incident clos (the incident is closed)")
            assignment_id = uow.hub.add_assignment(site_id, incident_id, mediator.id,
                                                   actor.username, now)  # fmt: skip
            uow.hub.set_availability(mediator.id, Availability.BUSY, now)
            uow.hub.add_message(site_id, MessageKind.ASSIGNMENT, now,
                                {"incident_id": incident_id, "assignment": assignment_id,
                                 "mediator": mediator.display_name, "state": "assigned"},
                                actor.username)  # fmt: skip
            uow.audit.append(AuditEvent(actor.username, AuditAction.HUB_ASSIGN,
                                        f"{site_id}/{incident_id}", "",
                                        {"mediator": mediator.username}), now)  # fmt: skip
            uow.commit()
            found = uow.hub.assignment(assignment_id)
        assert found is not None
        self._publish(TOPIC_INCIDENT, {"site": site_id, "incident_id": incident_id,
                                       "change": "assign", "mediator_id": mediator.id})  # fmt: skip
        return found

    def my_assignments(self, mediator: Account) -> list[tuple[Assignment, HubIncident | None]]:
        _require(mediator, Permission.HUB_MEDIATE)
        with self._uow() as uow:
            mine = uow.hub.assignments(mediator_id=mediator.id)
            return [(a, uow.hub.incident(a.site, a.incident_id)) for a in mine]

    def advance(self, mediator: Account, assignment_id: int, state: AssignmentState) -> Assignment:
        """The mediator's next step: accept, on site, done (never backwards, only theirs)."""
        _require(mediator, Permission.HUB_MEDIATE)
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.hub.assignment(assignment_id)
            if found is None or found.mediator_id != mediator.id:
                raise NotFoundError("aucune mission de ce numéro (no such assignment)")
            if NEXT_STATE.get(found.state) is not state:
                raise ConflictError(
                    f"étape impossible : {found.state.value} -> {state.value} (invalid step)"
                )
            uow.hub.set_assignment_state(assignment_id, state, now)
            if state is AssignmentState.DONE:
                uow.hub.set_availability(mediator.id, Availability.AVAILABLE, now)
            uow.hub.add_message(found.site, MessageKind.ASSIGNMENT, now,
                                {"incident_id": found.incident_id, "assignment": assignment_id,
                                 "mediator": mediator.display_name, "state": state.value},
                                mediator.username)  # fmt: skip
            action = AuditAction(f"hub.assignment.{state.value}")  # each step has its code
            uow.audit.append(AuditEvent(mediator.username, action, str(assignment_id)),
                             now)  # fmt: skip
            uow.commit()
        self._publish(TOPIC_INCIDENT, {"site": found.site, "incident_id": found.incident_id,
                                       "change": f"assignment.{state.value}",
                                       "mediator_id": mediator.id})  # fmt: skip
        return replace(found, state=state, updated_at=now)

    def set_availability(self, mediator: Account, availability: Availability) -> None:
        _require(mediator, Permission.HUB_MEDIATE)
        now = self._clock.now()
        with self._uow() as uow:
            uow.hub.set_availability(mediator.id, availability, now)
            uow.audit.append(AuditEvent(mediator.username, AuditAction.HUB_AVAILABILITY,
                                        mediator.id, "", {"availability": availability.value}),
                             now)  # fmt: skip
            uow.commit()

    def mediators(self, actor: Account) -> list[tuple[Account, Availability]]:
        _require(actor, Permission.HUB_VIEW)
        with self._uow() as uow:
            people = [a for a in uow.accounts.all() if a.role is Role.MEDIATOR and not a.disabled]
            known = uow.hub.availability(a.id for a in people)
        return [(a, known.get(a.id, Availability.OFF)) for a in people]

    def assignments_for(self, actor: Account, site_id: str, incident_id: str) -> list[Assignment]:
        _require(actor, Permission.HUB_VIEW)
        with self._uow() as uow:
            return uow.hub.assignments(site_id=site_id, incident_id=incident_id)

    # -- region-wide alerts --------------------------------------------------------------

    def send_alert(self, actor: Account, title: str, text: str, town: str = "") -> int:
        """An alert to every site (or to the sites of ``town``); returns messages created."""
        _require(actor, Permission.HUB_MANAGE)
        if not title.strip():
            raise ConflictError("une alerte a un titre (an alert needs a title)")
        now = self._clock.now()
        body: dict[str, object] = {"title": title.strip()[:200], "text": text.strip()[:2000],
                                   "town": town.strip()[:100]}  # fmt: skip
        with self._uow() as uow:
            if town.strip():
                targets = [s.id for s in uow.hub.all_sites()
                           if s.town.casefold() == town.strip().casefold()]  # fmt: skip
                if not targets:
                    raise NotFoundError(f"aucun site à {town} (no site in this town)")
            else:
                targets = ["*"]
            for target in targets:
                uow.hub.add_message(target, MessageKind.ALERT, now, body, actor.username)
            details = {"title": body["title"], "sites": len(targets)}
            uow.audit.append(
                AuditEvent(actor.username, AuditAction.HUB_ALERT, town or "*", "", details), now
            )
            uow.commit()
        return len(targets)

    def recent_alerts(self, actor: Account) -> list[object]:
        _require(actor, Permission.HUB_VIEW)
        with self._uow() as uow:
            return [m for m in uow.hub.recent_messages(100) if m.kind is MessageKind.ALERT]
