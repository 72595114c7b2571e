"""The hub's own records and rules (standard library only): sites, the board's rows,
incidents as the region handles them, mediators and their assignments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from seuil.domain.errors import (
    AuthenticationError,
    ConflictError,
    DataFormatError,
    PermissionDeniedError,
)


class SiteCredentialError(AuthenticationError):
    code = "site_credential_refused"


class ForeignEventsError(PermissionDeniedError):
    code = "foreign_site_events"


class SiteCertificateError(PermissionDeniedError):
    """The client certificate names another site than the one the request speaks for
    (or, when certificates are required, there is none)."""

    code = "site_certificate_refused"


class BatchFormatError(DataFormatError):
    code = "malformed_batch"


class SequenceConflictError(ConflictError):
    code = "sequence_conflict"


class SiteStatus(StrEnum):
    NORMAL = "normal"
    INCIDENT = "incident"
    PPMS = "ppms"


class HubStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class AssignmentState(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    ON_SITE = "on_site"
    DONE = "done"
    CANCELLED = "cancelled"


class Availability(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFF = "off"


# A mediator moves forward only: assigned -> accepted -> on site -> done.
NEXT_STATE = {
    AssignmentState.ASSIGNED: AssignmentState.ACCEPTED,
    AssignmentState.ACCEPTED: AssignmentState.ON_SITE,
    AssignmentState.ON_SITE: AssignmentState.DONE,
}
POLICE_NUMBERS = ("17", "112")

STATE_LABELS = {
    AssignmentState.ASSIGNED: ("assigné", "assigned"),
    AssignmentState.ACCEPTED: ("accepté", "accepted"),
    AssignmentState.ON_SITE: ("sur place", "on site"),
    AssignmentState.DONE: ("terminé", "done"),
    AssignmentState.CANCELLED: ("annulé", "cancelled"),
}
SEVERITY_LABELS = (("info", "info"), ("faible", "low"), ("moyenne", "medium"),
                   ("haute", "high"), ("critique", "critical"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class SiteRecord:
    id: str
    name: str
    town: str
    lat: float | None
    lon: float | None
    created_at: datetime
    revoked_at: datetime | None = None
    last_contact_at: datetime | None = None
    high_water: int = 0
    events: int = 0
    mode: str = "normal"
    mode_since: datetime | None = None
    cameras_online: int | None = None
    cameras_total: int | None = None
    panels_total: int | None = None
    panels_silent: tuple[str, ...] = ()
    heartbeat_at: datetime | None = None
    backlog: int = 0


@dataclass(frozen=True, slots=True)
class HubIncident:
    site: str
    incident_id: str
    type: str
    severity: int
    zone: str
    site_status: str
    level: int
    opened_at: datetime
    updated_at: datetime
    received_at: datetime
    hub_status: HubStatus
    ack_by: str | None = None
    ack_at: datetime | None = None
    police_number: str | None = None
    police_by: str | None = None
    police_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    close_note: str | None = None

    @property
    def open(self) -> bool:
        return self.hub_status is not HubStatus.CLOSED and self.site_status != "resolved"


@dataclass(frozen=True, slots=True)
class Assignment:
    id: int
    site: str
    incident_id: str
    mediator_id: str
    state: AssignmentState
    assigned_by: str
    assigned_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BoardRow:
    site: SiteRecord
    status: SiteStatus
    open_by_severity: dict[int, int] = field(default_factory=dict)
    oldest_open_at: datetime | None = None
    link_ok: bool = True

    @property
    def open_incidents(self) -> int:
        return sum(self.open_by_severity.values())


def site_status(mode: str, open_incidents: int) -> SiteStatus:
    if mode != "normal":
        return SiteStatus.PPMS
    return SiteStatus.INCIDENT if open_incidents else SiteStatus.NORMAL
