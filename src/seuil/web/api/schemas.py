"""API v1 schemas: what the API shows, never a database row.

No schema has a field that can carry a template, a face image, a credential's signed
content or any secret (a test walks the OpenAPI document for such field names). The
one exception by design is :class:`TokenCreated.token`, the API token shown once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from seuil.domain.accounts import Account, ApiToken, Role
from seuil.domain.audit import AuditEntry
from seuil.domain.consent import ConsentGiver, ConsentRecord, ConsentState
from seuil.domain.credentials import Credential, CredentialKind, RevocationReason, TemplateStorage
from seuil.domain.gate import GateDecision
from seuil.domain.people import Person, PersonKind, PersonStatus
from seuil.domain.permissions import Permission
from seuil.domain.roster import RosterDiff

Text = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*$")


class PersonOut(BaseModel):
    ref: str
    kind: PersonKind
    last_name: str
    first_name: str
    group: str
    status: PersonStatus
    status_reason: str
    status_until: date | None
    external_id: str | None

    @classmethod
    def of(cls, p: Person) -> PersonOut:
        return cls(ref=p.ref, kind=p.kind, last_name=p.last_name, first_name=p.first_name,
                   group=p.group, status=p.status, status_reason=p.status_reason,
                   status_until=p.status_until, external_id=p.external_id)  # fmt: skip


class PeoplePage(BaseModel):
    items: list[PersonOut]
    total: int
    limit: int
    offset: int


class PeopleSearchIn(BaseModel):
    """A name search: in the request body, never in the URL (proxies and logs keep URLs)."""

    model_config = ConfigDict(extra="forbid")

    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                            pattern=r"^[^\x00-\x1f]*$")]  # fmt: skip
    group: str | None = Field(None, max_length=32)
    kind: PersonKind | None = None
    status: PersonStatus | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class PersonIn(BaseModel):
    kind: PersonKind = PersonKind.PUPIL
    last_name: str = Text
    first_name: str = Text
    external_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    group: str = Field("", max_length=32, pattern=r"^[\w .-]*$")
    birth_date: date | None = Field(None, ge=date(1900, 1, 1), le=date(2100, 1, 1))


class ConsentIn(BaseModel):
    state: ConsentState
    given_by: ConsentGiver
    form_version: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]*$")
    evidence_ref: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f]*$")


class ConsentOut(BaseModel):
    state: ConsentState
    given_by: ConsentGiver
    recorded_at: datetime
    form_version: str
    evidence_ref: str
    recorded_by: str

    @classmethod
    def of(cls, r: ConsentRecord) -> ConsentOut:
        return cls(state=r.state, given_by=r.given_by, recorded_at=r.recorded_at,
                   form_version=r.form_version, evidence_ref=r.evidence_ref,
                   recorded_by=r.recorded_by)  # fmt: skip


class CredentialOut(BaseModel):
    id: str
    person_ref: str
    kind: CredentialKind
    storage: TemplateStorage
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    badge_number: str | None
    revoked_at: datetime | None
    revocation_reason: RevocationReason | None

    @classmethod
    def of(cls, c: Credential) -> CredentialOut:
        return cls(id=c.id, person_ref=c.person_ref, kind=c.kind, storage=c.storage,
                   valid_from=c.valid_from, valid_until=c.valid_until, issued_at=c.issued_at,
                   badge_number=c.badge_number, revoked_at=c.revoked_at,
                   revocation_reason=c.revocation_reason)  # fmt: skip


class RevokeIn(BaseModel):
    reason: RevocationReason


class RosterEntryOut(BaseModel):
    last_name: str
    first_name: str
    group: str


class RosterDiffOut(BaseModel):
    applied: bool
    full_export: bool
    counts: dict[str, int]
    arrivals: list[RosterEntryOut]
    departures: list[str]  # person refs
    changes: list[str]  # person refs
    warnings: list[str]

    @classmethod
    def of(cls, diff: RosterDiff, applied: bool, warnings: list[str]) -> RosterDiffOut:
        return cls(
            applied=applied, full_export=diff.full_export, counts=diff.counts(),
            arrivals=[RosterEntryOut(last_name=e.last_name, first_name=e.first_name,
                                     group=e.group) for e in diff.arrivals],
            departures=[d.person.ref for d in diff.departures],
            changes=[c.person.ref for c in diff.changes], warnings=warnings,
        )  # fmt: skip


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    reason: str
    details: dict[str, object]
    hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(seq=e.seq, at=e.at, actor=e.actor, action=e.action, target=e.target,
                   reason=e.reason, details=e.details, hash=e.hash)  # fmt: skip


class AnchorsOut(BaseModel):
    """The chain against the regional hub's anchors (with a hub link)."""

    checked: int
    purged: int  # older than the retention checkpoint: not checkable
    rewritten_seq: int | None  # the first anchored entry that no longer matches
    purged_too_early: bool  # a purge checkpoint past a recent anchor: a forged purge
    unavailable: str  # why the anchors were not checked ("" when they were)


class AuditVerifyOut(BaseModel):
    ok: bool  # the chain holds, and matches the hub's anchors when they were checked
    entries: int
    first_bad_seq: int | None
    problem: str
    anchors: AnchorsOut | None = None


class AccountOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role
    disabled: bool
    totp_enabled: bool

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(id=a.id, username=a.username, display_name=a.display_name, role=a.role,
                   disabled=a.disabled, totp_enabled=a.totp_enabled)  # fmt: skip


class AccountIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    display_name: str = Text
    role: Role
    initial_password: str = Field(min_length=12, max_length=1000, repr=False)


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[Permission]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(id=t.id, name=t.name, scopes=sorted(t.scopes), created_at=t.created_at,
                   expires_at=t.expires_at, revoked_at=t.revoked_at)  # fmt: skip


class TokenIn(BaseModel):
    name: str = Text
    scopes: list[Permission] = Field(max_length=len(Permission))
    expires_at: datetime | None = None


class TokenCreated(BaseModel):
    token_info: TokenOut
    token: str = Field(description="Shown once; store it safely. (Affiché une seule fois.)")


# -- incidents, PPMS, gate events -----------------------------------------------------------


class IncidentOut(BaseModel):
    """An incident as the board shows it; staff names only for roles that see people."""

    id: str
    type: str
    label: str
    site: str
    zone: str
    severity: int
    status: str
    level: int
    level_label: str
    opened_at: datetime
    last_signal_at: datetime
    signals: int
    last_source: str
    acknowledged_by: str | None = None
    confirmed_by: str | None = None
    needs_confirmation: bool


class IncidentsPage(BaseModel):
    items: list[IncidentOut]
    total: int
    limit: int
    offset: int


class ResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*\S[^\x00]*$")


class PpmsOut(BaseModel):
    mode: str
    label: str
    since: datetime
    by: str | None = None
    reason: str | None = None


class PpmsIn(BaseModel):
    mode: Literal["normal", "confinement", "evacuation"]
    reason: str = Field("", max_length=500, pattern=r"^[^\x00-\x1f]*$")


class PpmsChangeOut(BaseModel):
    state: PpmsOut
    changed: bool
    failed_doors: list[str]


class GateEventOut(BaseModel):
    gate_id: str
    at: datetime
    decision: str
    reason: str | None
    credential_id: str | None
    person_ref: str | None
    match_score: float | None
    liveness_score: float | None
    latency_ms: float | None
    mode: str
    decided_by: str

    @classmethod
    def of(cls, d: GateDecision) -> GateEventOut:
        return cls(gate_id=d.gate_id, at=d.at, decision=d.decision.value,
                   reason=d.reason.value if d.reason else None, credential_id=d.credential_id,
                   person_ref=d.person_ref, match_score=d.match_score,
                   liveness_score=d.liveness_score, latency_ms=d.latency_ms,
                   mode=d.mode.value, decided_by=d.decided_by)  # fmt: skip


class GateEventsPage(BaseModel):
    items: list[GateEventOut]
    total: int | None  # None on keyset pages (``after``): counting costs a full scan
    limit: int
    offset: int
    next: str | None = None  # the ``after`` cursor of the next page; None on the last


class DeviceReply(BaseModel):
    """The answer to a device (badge reader, webhook): a code and a message."""

    code: str
    message: str
