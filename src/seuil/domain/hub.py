"""The site -> hub protocol: event envelopes and THE payload allow-list. Standard library only.

A site sends the regional hub *events*, each in an :class:`Envelope`: the site's id
(UAI), a gap-free sequence number per site (``seq``, 1, 2, 3... in commit order), a
random idempotency key, the event's kind, when it happened, and a body. The hub stores
each ``(site, seq)`` exactly once; the same ``seq`` sent again with the same key is a
harmless replay, with another key a conflict.

Privacy decision 5 (nothing biometric leaves the site) is enforced *here*, at build
time, on both sides of the wire: every kind has an allow-list of body fields with their
types and bounds (:data:`ALLOWED`); a field that is not on it, or is on the list of
forbidden names (templates, images, names, credential ids and secrets...), makes
:func:`check_body` raise :class:`ForbiddenFieldError` and no envelope exists. A person
(a pupil at a gate, a staff member who acted) appears only as a :class:`Pseudonymizer`
reference: a keyed HMAC with a secret that never leaves the site, so the hub can tell
"the same person again" within a site and nothing more.

The hub answers with :class:`HubMessage` items (acknowledgements, mediator assignments,
region-wide alerts), numbered per hub so a site can ask for "everything after N".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from seuil.domain.errors import DataFormatError

if TYPE_CHECKING:
    from seuil.domain.gate import GateDecision
    from seuil.domain.incidents import Incident, Transition

__all__ = [
    "ALLOWED",
    "AUDIT_HASH",
    "FORBIDDEN_FIELDS",
    "MAX_BATCH_EVENTS",
    "AnchoredHead",
    "Envelope",
    "EventKind",
    "FieldSpec",
    "ForbiddenFieldError",
    "HubMessage",
    "MessageKind",
    "Pseudonymizer",
    "audit_anchor_body",
    "check_body",
    "device_health_body",
    "gate_counts_body",
    "gate_denial_body",
    "heartbeat_body",
    "incident_opened_body",
    "incident_transition_body",
    "new_idempotency_key",
    "ppms_mode_body",
]

MAX_BATCH_EVENTS = 500
MAX_SEQ = 2**63 - 1  # a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT)
SITE_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
KEY = re.compile(r"^[0-9a-f]{32}$")
PSEUDONYM = re.compile(r"^ps_[0-9a-f]{32}$")
AUDIT_HASH = re.compile(r"^[0-9a-f]{64}$")  # an audit entry's SHA-256, hexadecimal
SYSTEM = "system"


class EventKind(StrEnum):
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_TRANSITION = "incident.transition"
    GATE_COUNTS = "gate.counts"  # decisions per gate per interval
    GATE_DENIAL = "gate.denial"  # one DENY, with its reason code
    DEVICE_HEALTH = "device.health"  # cameras online/total, silent panels
    PPMS_MODE = "ppms.mode"  # the site's safety mode changed
    HEARTBEAT = "heartbeat"
    AUDIT_ANCHOR = "audit.anchor"  # the head of the site's audit chain, kept off the site


class ForbiddenFieldError(DataFormatError):
    """A body field outside the allow-list (or a value out of its bounds)."""

    code = "forbidden_field"


# Field names that must never cross, whatever the kind: refused with their own message.
FORBIDDEN_FIELDS = frozenset(
    {
        "template", "templates", "embedding", "embeddings", "vector", "image", "images",
        "photo", "photos", "face", "faces", "frame", "snapshot", "thumbnail", "name",
        "names", "first_name", "last_name", "display_name", "full_name", "username",
        "birth_date", "email", "phone", "address", "group", "class", "external_id",
        "ine", "person_ref", "credential", "credential_id", "badge", "badge_number",
        "secret", "token", "password", "key", "raw", "note", "match_score",
        "liveness_score",
    }
)  # fmt: skip

# Values that mean "a person": only pseudonyms (or "system" for an automatic step).
_INCIDENT_TYPES = frozenset(
    {
        "panic", "duress", "intrusion", "fire", "tamper", "power", "periodic_test",
        "device_silent", "deny_revoked", "deny_mismatch", "liveness_failure", "tailgating",
        "door_forced", "door_held_open", "camera_offline", "unknown",
    }
)  # fmt: skip
_STATUSES = frozenset({"open", "acknowledged", "escalated", "resolved"})
_ACTIONS = frozenset({"open", "acknowledge", "escalate", "resolve", "confirm"})
_MODES = frozenset({"normal", "confinement", "evacuation"})
_DENY_REASONS = frozenset(
    {
        "revoked", "expired", "not_yet_valid", "forged", "wrong_site", "malformed",
        "unknown_badge", "person_inactive", "face_mismatch", "liveness_failed", "no_face",
        "device_fault",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One allowed body field: its type and bounds."""

    kind: str  # "str", "int", "bool", "pseudonym", "str_list", "time", "sha256"
    required: bool = True
    choices: frozenset[str] | None = None
    max_len: int = 64
    minimum: int = 0
    maximum: int = 10_000_000
    nullable: bool = False

    def check(self, name: str, value: Any) -> None:
        if value is None:
            if not self.nullable:
                raise ForbiddenFieldError(f"{name}: a value is required")
            return
        if self.kind in ("str", "pseudonym", "time"):
            if not isinstance(value, str) or len(value) > self.max_len:
                raise ForbiddenFieldError(f"{name}: a text of at most {self.max_len} characters")
            if self.choices is not None and value not in self.choices:
                raise ForbiddenFieldError(f"{name}: {value!r} is not one of the allowed codes")
            if self.kind == "pseudonym" and value != SYSTEM and not PSEUDONYM.match(value):
                raise ForbiddenFieldError(f"{name}: only a pseudonymous reference may cross")
            if self.kind == "time":
                _parse_time(value, name)
        elif self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ForbiddenFieldError(f"{name}: an integer is required")
            if not self.minimum <= value <= self.maximum:
                raise ForbiddenFieldError(
                    f"{name}: {value} is outside [{self.minimum}, {self.maximum}]"
                )
        elif self.kind == "sha256":
            if not isinstance(value, str) or not AUDIT_HASH.match(value):
                raise ForbiddenFieldError(f"{name}: 64 lowercase hexadecimal digits (SHA-256)")
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise ForbiddenFieldError(f"{name}: true or false is required")
        elif self.kind == "str_list":
            if not isinstance(value, list) or len(value) > self.maximum:
                raise ForbiddenFieldError(f"{name}: a list of at most {self.maximum} codes")
            for item in value:
                if not isinstance(item, str) or len(item) > self.max_len:
                    raise ForbiddenFieldError(f"{name}: codes of at most {self.max_len} chars")
        else:  # pragma: no cover - a programming error in the table below
            raise AssertionError(self.kind)


_ID = FieldSpec("str", max_len=64)
_COUNT = FieldSpec("int", maximum=10_000_000)

ALLOWED: Mapping[EventKind, Mapping[str, FieldSpec]] = MappingProxyType(
    {
        EventKind.INCIDENT_OPENED: {
            "incident_id": _ID,
            "type": FieldSpec("str", choices=_INCIDENT_TYPES),
            "severity": FieldSpec("int", maximum=4),
            "zone": FieldSpec("str", max_len=64),
            "status": FieldSpec("str", choices=_STATUSES),
            "level": FieldSpec("int", maximum=3),
            "signals": FieldSpec("int", minimum=1, maximum=1_000_000),
        },
        EventKind.INCIDENT_TRANSITION: {
            "incident_id": _ID,
            "type": FieldSpec("str", choices=_INCIDENT_TYPES),
            "severity": FieldSpec("int", maximum=4),
            "zone": FieldSpec("str", max_len=64),
            "action": FieldSpec("str", choices=_ACTIONS),
            "status": FieldSpec("str", choices=_STATUSES),
            "level": FieldSpec("int", maximum=3),
            "actor": FieldSpec("pseudonym", max_len=35),
        },
        EventKind.GATE_COUNTS: {
            "gate_id": _ID,
            "interval_start": FieldSpec("time", max_len=40),
            "interval_s": FieldSpec("int", minimum=1, maximum=86_400),
            "grant": _COUNT,
            "deny": _COUNT,
            "refer": _COUNT,
        },
        EventKind.GATE_DENIAL: {
            "gate_id": _ID,
            "reason": FieldSpec("str", choices=_DENY_REASONS),
            "person": FieldSpec("pseudonym", max_len=35, nullable=True),
        },
        EventKind.DEVICE_HEALTH: {
            "cameras_online": _COUNT,
            "cameras_total": _COUNT,
            "panels_total": _COUNT,
            "panels_silent": FieldSpec("str_list", max_len=64, maximum=500),
        },
        EventKind.PPMS_MODE: {
            "mode": FieldSpec("str", choices=_MODES),
            "previous": FieldSpec("str", choices=_MODES),
            "actor": FieldSpec("pseudonym", max_len=35),
        },
        EventKind.HEARTBEAT: {
            "outbox_backlog": _COUNT,
            "version": FieldSpec("str", max_len=32),
        },
        # The audit chain's head (seq and hash of the last entry), how many entries the
        # site keeps and when: hashes and counts, nothing about anyone.
        EventKind.AUDIT_ANCHOR: {
            "audit_seq": FieldSpec("int", maximum=MAX_SEQ),
            "head_hash": FieldSpec("sha256"),
            "entries": FieldSpec("int", maximum=MAX_SEQ),
            "at": FieldSpec("time", max_len=40),
        },
    }
)


def check_body(kind: EventKind | str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` if every field is on ``kind``'s allow-list and within bounds; else raise.

    Raises :class:`ForbiddenFieldError` naming the first offending field. Returns a
    plain dict copy (the envelope keeps no reference to the caller's mapping).
    """
    try:
        spec = ALLOWED[EventKind(kind)]
    except ValueError:
        raise ForbiddenFieldError(f"unknown event kind {str(kind)[:40]!r}") from None
    if not isinstance(body, Mapping):
        raise ForbiddenFieldError("an event body is an object")
    for name in body:
        if not isinstance(name, str):
            raise ForbiddenFieldError("body field names are text")
        if name.lower() in FORBIDDEN_FIELDS:
            raise ForbiddenFieldError(f"{name!r} must never leave the site (privacy decision 5)")
        if name not in spec:
            raise ForbiddenFieldError(f"{name!r} is not on the allow-list of {kind}")
    for name, field_spec in spec.items():
        if name not in body:
            if field_spec.required:
                raise ForbiddenFieldError(f"{kind}: {name!r} is missing")
            continue
        field_spec.check(name, body[name])
    return {name: (list(v) if isinstance(v, list) else v) for name, v in body.items()}


def _parse_time(value: str, what: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ForbiddenFieldError(f"{what}: an ISO 8601 time is required") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ForbiddenFieldError(f"{what}: the time must carry its offset (UTC)")
    return at


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event on the wire. Valid by construction: the body passed the allow-list."""

    site: str
    seq: int
    key: str
    kind: EventKind
    occurred_at: datetime
    body: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.site, str) or not SITE_ID.match(self.site):
            raise ForbiddenFieldError("site: 1 to 32 letters, digits, '-' or '_'")
        if (
            isinstance(self.seq, bool)
            or not isinstance(self.seq, int)
            or not 1 <= self.seq <= MAX_SEQ
        ):
            raise ForbiddenFieldError("seq: a positive integer (64-bit)")
        if not isinstance(self.key, str) or not KEY.match(self.key):
            raise ForbiddenFieldError("key: 32 lowercase hexadecimal digits")
        if not isinstance(self.occurred_at, datetime) or self.occurred_at.utcoffset() is None:
            raise ForbiddenFieldError("occurred_at: a timezone-aware time")
        kind = self.kind
        try:
            kind = EventKind(kind)
        except ValueError:
            raise ForbiddenFieldError(f"unknown event kind {str(kind)[:40]!r}") from None
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "body", MappingProxyType(check_body(kind, self.body)))

    def to_wire(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "seq": self.seq,
            "key": self.key,
            "kind": self.kind.value,
            "occurred_at": self.occurred_at.isoformat(),
            "body": dict(self.body),
        }

    @classmethod
    def from_wire(cls, data: Any) -> Envelope:
        """Parse and check one received event (the hub's side of the same allow-list)."""
        if not isinstance(data, Mapping):
            raise ForbiddenFieldError("an event is an object")
        extra = set(data) - {"site", "seq", "key", "kind", "occurred_at", "body"}
        if extra:
            raise ForbiddenFieldError(f"unknown envelope field {sorted(extra)[0]!r}")
        occurred = data.get("occurred_at")
        if not isinstance(occurred, str):
            raise ForbiddenFieldError("occurred_at: an ISO 8601 time is required")
        body = data.get("body")
        if not isinstance(body, Mapping):
            raise ForbiddenFieldError("body: an object is required")
        return cls(
            site=data.get("site"),  # type: ignore[arg-type]  # checked in __post_init__
            seq=data.get("seq"),  # type: ignore[arg-type]
            key=data.get("key"),  # type: ignore[arg-type]
            kind=data.get("kind"),  # type: ignore[arg-type]
            occurred_at=_parse_time(occurred, "occurred_at"),
            body=body,
        )


class Pseudonymizer:
    """Keyed HMAC-SHA-256 of a site-local identifier: ``ps_`` + 32 hex digits.

    The secret stays on the site (a key file beside the signing keys); without it the
    hub can neither reverse a reference nor link it to another site's.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("a pseudonymisation secret has at least 32 bytes")
        self._secret = bytes(secret)

    def __call__(self, value: str) -> str:
        if value == SYSTEM or value.startswith(SYSTEM + ":"):
            return SYSTEM  # automatic steps are not people
        digest = hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return "ps_" + digest[:32]

    def __repr__(self) -> str:
        return "Pseudonymizer(<secret>)"


Pseudonymize = Callable[[str], str]

# --------------------------------------------------------------------- body builders


def incident_opened_body(incident: Incident) -> dict[str, Any]:
    return check_body(
        EventKind.INCIDENT_OPENED,
        {
            "incident_id": incident.id,
            "type": incident.type.value,
            "severity": int(incident.severity),
            "zone": incident.zone[:64],
            "status": incident.status.value,
            "level": int(incident.level),
            "signals": len(incident.signals),
        },
    )


def incident_transition_body(
    incident: Incident, step: Transition, pseudonym: Pseudonymize
) -> dict[str, Any]:
    """A transition: who acted is a pseudonym; the free-text note stays on the site."""
    return check_body(
        EventKind.INCIDENT_TRANSITION,
        {
            "incident_id": incident.id,
            "type": incident.type.value,
            "severity": int(incident.severity),
            "zone": incident.zone[:64],
            "action": step.action.value,
            "status": incident.status.value,
            "level": int(incident.level),
            "actor": pseudonym(step.by),
        },
    )


def gate_denial_body(decision: GateDecision, pseudonym: Pseudonymize) -> dict[str, Any]:
    if decision.reason is None or decision.decision.value != "deny":
        raise ValueError("only a DENY is reported as a denial")
    person = pseudonym(decision.person_ref) if decision.person_ref else None
    return check_body(
        EventKind.GATE_DENIAL,
        {"gate_id": decision.gate_id, "reason": decision.reason.value, "person": person},
    )


def gate_counts_body(
    gate_id: str, interval_start: datetime, interval_s: int, grant: int, deny: int, refer: int
) -> dict[str, Any]:
    return check_body(
        EventKind.GATE_COUNTS,
        {
            "gate_id": gate_id,
            "interval_start": interval_start.isoformat(),
            "interval_s": interval_s,
            "grant": grant,
            "deny": deny,
            "refer": refer,
        },
    )


def device_health_body(
    cameras_online: int, cameras_total: int, panels_total: int, panels_silent: list[str]
) -> dict[str, Any]:
    if cameras_online > cameras_total:
        raise ValueError("more cameras online than cameras")
    return check_body(
        EventKind.DEVICE_HEALTH,
        {
            "cameras_online": cameras_online,
            "cameras_total": cameras_total,
            "panels_total": panels_total,
            "panels_silent": sorted(panels_silent),
        },
    )


def ppms_mode_body(mode: str, previous: str, by: str, pseudonym: Pseudonymize) -> dict[str, Any]:
    return check_body(
        EventKind.PPMS_MODE, {"mode": mode, "previous": previous, "actor": pseudonym(by)}
    )


def heartbeat_body(outbox_backlog: int, version: str) -> dict[str, Any]:
    return check_body(
        EventKind.HEARTBEAT, {"outbox_backlog": outbox_backlog, "version": version[:32]}
    )


def audit_anchor_body(audit_seq: int, head_hash: str, entries: int, at: datetime) -> dict[str, Any]:
    """The head of the site's audit chain at ``at`` (0 and the genesis hash: empty)."""
    return check_body(
        EventKind.AUDIT_ANCHOR,
        {"audit_seq": audit_seq, "head_hash": head_hash, "entries": entries,
         "at": at.isoformat()},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AnchoredHead:
    """An audit anchor as the hub keeps it and gives it back to its site: event ``seq``,
    the chain's head then (``audit_seq``, ``head_hash``), the entries kept, and when."""

    seq: int
    audit_seq: int
    head_hash: str
    entries: int
    at: datetime

    @classmethod
    def of(cls, envelope: Envelope) -> AnchoredHead:
        body = envelope.body
        return cls(envelope.seq, body["audit_seq"], body["head_hash"], body["entries"],
                   _parse_time(body["at"], "at"))  # fmt: skip

    def to_wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "audit_seq": self.audit_seq, "head_hash": self.head_hash,
                "entries": self.entries, "at": self.at.isoformat()}  # fmt: skip

    @classmethod
    def from_wire(cls, data: Any) -> AnchoredHead:
        """One anchor from the hub's answer, checked like the event it came from."""
        if not isinstance(data, Mapping) or set(data) != {"seq", "audit_seq", "head_hash",
                                                          "entries", "at"}:  # fmt: skip
            raise DataFormatError("an audit anchor has seq, audit_seq, head_hash, entries, at")
        seq = data["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
            raise DataFormatError("an audit anchor's seq is a positive integer")
        body = check_body(
            EventKind.AUDIT_ANCHOR, {k: data[k] for k in ALLOWED[EventKind.AUDIT_ANCHOR]}
        )
        return cls(seq, body["audit_seq"], body["head_hash"], body["entries"],
                   _parse_time(body["at"], "at"))  # fmt: skip


# --------------------------------------------------------------- hub -> site messages


class MessageKind(StrEnum):
    ACK = "ack"  # the regional centre acknowledged a site incident
    ASSIGNMENT = "assignment"  # a mediator was assigned / changed state
    ALERT = "alert"  # a region-wide alert (e.g. confinement advised in a town)


@dataclass(frozen=True, slots=True)
class HubMessage:
    """One message from the hub to a site (or to every site: ``site`` is ``"*"``)."""

    id: int
    kind: MessageKind
    site: str
    at: datetime
    body: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.id < 1:
            raise ValueError("message ids start at 1")
        if self.at.utcoffset() is None:
            raise ValueError("a message's time must be timezone-aware")
        object.__setattr__(self, "kind", MessageKind(self.kind))
        for name, value in self.body.items():
            if not isinstance(value, str | int | bool) and value is not None:
                raise DataFormatError(f"message field {name!r}: text, number or boolean")

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "site": self.site,
            "at": self.at.isoformat(),
            "body": dict(self.body),
        }

    @classmethod
    def from_wire(cls, data: Any) -> HubMessage:
        if not isinstance(data, Mapping) or not isinstance(data.get("body"), Mapping):
            raise DataFormatError("a hub message is an object with a body")
        try:
            return cls(
                id=int(data["id"]),
                kind=MessageKind(data["kind"]),
                site=str(data["site"]),
                at=_parse_time(str(data["at"]), "at"),
                body=dict(data["body"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(f"malformed hub message: {exc}") from None
