"""What a gate decides, and why. Standard library only.

One pure function, :func:`decide`, turns the evidence gathered at a gate (the credential
check, the person's template storage, the face and liveness verdicts, the gate's mode)
into GRANT, DENY or REFER with a reason. It **fails closed**: nothing missing, failed or
unexpected ever leads to GRANT. The order of the rules is the contract:

1. several credentials at once -> REFER ``several_credentials`` (which one is it?);
2. no credential and nobody identified -> REFER ``person_not_found``;
3. a refused credential -> DENY with its reason, at once, before any face work;
4. a device fault -> DENY ``device_fault``;
5. credential-only mode -> REFER ``non_biometric`` for everyone (the agent confirms);
6. a non-biometric credential (storage ``none``) -> REFER ``non_biometric``
   (visual check against the enrolment photo);
7. presentation attack -> DENY ``liveness_failed``; face mismatch -> DENY
   ``face_mismatch``; out of time -> REFER ``timeout``; no usable face -> DENY
   ``no_face``; liveness not established -> DENY ``liveness_failed``; liveness in doubt
   -> REFER ``liveness_uncertain``; score in the REFER band -> REFER ``refer_band``;
8. only MATCH with LIVE -> GRANT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Self, TypeVar

from seuil.domain.credentials import CheckResult, TemplateStorage

__all__ = [
    "Decision",
    "DenyReason",
    "FaceVerdict",
    "GateDecision",
    "GateMode",
    "LivenessVerdict",
    "Outcome",
    "ReferReason",
    "decide",
    "deny_reason_for",
    "needs_face",
]


class GateMode(StrEnum):
    """How a gate works; set per gate in the site configuration."""

    VERIFICATION = "verification"  # default: credential, then the face confirms it (1:1)
    CREDENTIAL_ONLY = "credential_only"  # credential + the agent's visual check, no face work
    IDENTIFICATION = "identification"  # opt-in 1:N, refused without an impact assessment


class Decision(StrEnum):
    GRANT = "grant"
    DENY = "deny"
    REFER = "refer"  # the gate agent decides


class DenyReason(StrEnum):
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    FORGED = "forged"
    WRONG_SITE = "wrong_site"
    MALFORMED = "malformed"
    UNKNOWN_BADGE = "unknown_badge"
    PERSON_INACTIVE = "person_inactive"
    FACE_MISMATCH = "face_mismatch"
    LIVENESS_FAILED = "liveness_failed"
    NO_FACE = "no_face"
    DEVICE_FAULT = "device_fault"


class ReferReason(StrEnum):
    REFER_BAND = "refer_band"  # the face score is in the band of doubt
    NON_BIOMETRIC = "non_biometric"  # visual check against the enrolment photo
    TAILGATING = "tailgating"
    TIMEOUT = "timeout"
    SEVERAL_CREDENTIALS = "several_credentials"
    PERSON_NOT_FOUND = "person_not_found"
    LIVENESS_UNCERTAIN = "liveness_uncertain"  # the liveness check could not conclude
    CONFINEMENT = "confinement"  # PPMS lockdown: no door opens, the gate agent decides
    UNAUTHORISED_PASSAGE = "unauthorised_passage"  # a counter saw someone; nobody opened


class FaceVerdict(StrEnum):
    """The 1:1 comparison's verdict (same values as the engine's ``Verdict``)."""

    MATCH = "match"
    REFER = "refer"
    NO_MATCH = "no_match"


class LivenessVerdict(StrEnum):
    """The presentation-attack check's verdict."""

    LIVE = "live"
    UNCERTAIN = "uncertain"
    SPOOF = "spoof"


Reason = DenyReason | ReferReason
_E = TypeVar("_E", bound=StrEnum)

# Every refusal of the credential check has a gate reason; VALID has none.
_CHECK_TO_DENY: dict[CheckResult, DenyReason] = {
    CheckResult.MALFORMED: DenyReason.MALFORMED,
    CheckResult.TRUNCATED: DenyReason.MALFORMED,
    CheckResult.UNSUPPORTED_VERSION: DenyReason.MALFORMED,
    CheckResult.UNKNOWN_KEY: DenyReason.FORGED,  # no key we trust vouches for it
    CheckResult.FORGED: DenyReason.FORGED,
    CheckResult.WRONG_SITE: DenyReason.WRONG_SITE,
    CheckResult.NOT_YET_VALID: DenyReason.NOT_YET_VALID,
    CheckResult.EXPIRED: DenyReason.EXPIRED,
    CheckResult.REVOKED: DenyReason.REVOKED,
    CheckResult.UNKNOWN_BADGE: DenyReason.UNKNOWN_BADGE,
    CheckResult.PERSON_INACTIVE: DenyReason.PERSON_INACTIVE,
}


def deny_reason_for(result: CheckResult) -> DenyReason | None:
    """The gate's reason for a refused credential; ``None`` for a valid one.

    A check result this module does not know (a future addition) is a malformed
    credential: it is never taken as valid.
    """
    if result is CheckResult.VALID:
        return None
    return _CHECK_TO_DENY.get(result, DenyReason.MALFORMED)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision and its reason: GRANT has no reason, DENY and REFER always have one."""

    decision: Decision
    reason: Reason | None = None

    def __post_init__(self) -> None:
        if self.decision is Decision.GRANT and self.reason is not None:
            raise ValueError("a GRANT carries no reason")
        if self.decision is Decision.DENY and not isinstance(self.reason, DenyReason):
            raise ValueError("a DENY needs a DenyReason")
        if self.decision is Decision.REFER and not isinstance(self.reason, ReferReason):
            raise ValueError("a REFER needs a ReferReason")

    @classmethod
    def grant(cls) -> Outcome:
        return cls(Decision.GRANT)

    @classmethod
    def deny(cls, reason: DenyReason) -> Outcome:
        return cls(Decision.DENY, reason)

    @classmethod
    def refer(cls, reason: ReferReason) -> Outcome:
        return cls(Decision.REFER, reason)

    @property
    def granted(self) -> bool:
        return self.decision is Decision.GRANT


def _coerce(kind: type[_E], value: object) -> _E | None:
    """``value`` as a member of ``kind`` (an equal string works too), else ``None``."""
    try:
        return kind(str(value))
    except ValueError:
        return None


def _biometric(face: object, liveness: object, timed_out: bool) -> Outcome:
    """Rule 7 and 8: what the face and liveness verdicts allow (fail closed)."""
    face_v = _coerce(FaceVerdict, face) if face is not None else None
    live_v = _coerce(LivenessVerdict, liveness) if liveness is not None else None
    if (face is not None and face_v is None) or (liveness is not None and live_v is None):
        return Outcome.deny(DenyReason.DEVICE_FAULT)  # a value nobody should send
    if live_v is LivenessVerdict.SPOOF:
        return Outcome.deny(DenyReason.LIVENESS_FAILED)
    if face_v is FaceVerdict.NO_MATCH:
        return Outcome.deny(DenyReason.FACE_MISMATCH)
    if timed_out:
        return Outcome.refer(ReferReason.TIMEOUT)
    if face_v is None:
        return Outcome.deny(DenyReason.NO_FACE)
    if live_v is None:
        return Outcome.deny(DenyReason.LIVENESS_FAILED)  # liveness not established
    if live_v is LivenessVerdict.UNCERTAIN:
        return Outcome.refer(ReferReason.LIVENESS_UNCERTAIN)
    if face_v is FaceVerdict.REFER:
        return Outcome.refer(ReferReason.REFER_BAND)
    return Outcome.grant()  # MATCH and LIVE, nothing else


def needs_face(credential: CheckResult, storage: TemplateStorage | None, mode: GateMode) -> bool:
    """Whether a presented credential leads to face work (else it is decided at once)."""
    return (
        credential is CheckResult.VALID
        and mode is not GateMode.CREDENTIAL_ONLY
        and storage is not None
        and storage is not TemplateStorage.NONE
    )


def decide(
    credential: CheckResult | None,
    storage: TemplateStorage | None,
    face: FaceVerdict | None,
    liveness: LivenessVerdict | None,
    mode: GateMode = GateMode.VERIFICATION,
    *,
    credentials_seen: int = 1,
    device_fault: bool = False,
    timed_out: bool = False,
) -> Outcome:
    """The gate's decision from its evidence (see the module docstring for the rules).

    ``credential`` is the check result of the presented credential (in identification
    mode: of the identified person's credential), ``None`` when there is none.
    ``storage`` is where that person's template lives (``None`` if unknown). ``face`` is
    ``None`` when no usable face was compared, ``liveness`` when it was not measured.
    ``credentials_seen`` counts the distinct credentials read at once, ``device_fault``
    says a camera, reader or engine failed, ``timed_out`` that the face step ran out of
    time. The engine's ``Verdict`` members are accepted for ``face`` (same values).
    """
    if credentials_seen > 1:
        return Outcome.refer(ReferReason.SEVERAL_CREDENTIALS)
    if credential is None:
        if device_fault:  # a camera or reader failed before any credential was read
            return Outcome.deny(DenyReason.DEVICE_FAULT)
        return Outcome.refer(ReferReason.PERSON_NOT_FOUND)
    check = _coerce(CheckResult, credential)
    refusal = DenyReason.MALFORMED if check is None else deny_reason_for(check)
    if refusal is not None:
        return Outcome.deny(refusal)
    if device_fault:
        return Outcome.deny(DenyReason.DEVICE_FAULT)
    gate_mode = _coerce(GateMode, mode)
    if gate_mode is None:
        return Outcome.deny(DenyReason.DEVICE_FAULT)  # misconfigured gate
    if gate_mode is GateMode.CREDENTIAL_ONLY:
        return Outcome.refer(ReferReason.NON_BIOMETRIC)
    store = _coerce(TemplateStorage, storage) if storage is not None else None
    if store is None:
        return Outcome.deny(DenyReason.DEVICE_FAULT)  # a valid check always says where
    if store is TemplateStorage.NONE:
        return Outcome.refer(ReferReason.NON_BIOMETRIC)
    return _biometric(face, liveness, timed_out)


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The record of one decision at one gate: what becomes an event.

    It never holds a name, a face image or a template: the person is the pseudonymous
    ``person_ref`` and the credential its random id.
    """

    gate_id: str
    at: datetime
    decision: Decision
    reason: Reason | None = None
    credential_id: str | None = None
    person_ref: str | None = None
    match_score: float | None = None
    liveness_score: float | None = None
    latency_ms: float | None = None
    mode: GateMode = GateMode.VERIFICATION
    decided_by: str = "system"  # or the gate agent's account for a settled REFER

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("a gate decision's time must be timezone-aware")
        Outcome(self.decision, self.reason)  # same reason rules as an outcome
        for name in ("match_score", "liveness_score", "latency_ms"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number")
        if self.latency_ms is not None and self.latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")

    @classmethod
    def from_outcome(cls, gate_id: str, at: datetime, outcome: Outcome, **details: Any) -> Self:
        return cls(gate_id, at, outcome.decision, outcome.reason, **details)

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.decision, self.reason)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO time, enum values) for the event log and the hub."""
        return {
            "gate_id": self.gate_id,
            "at": self.at.isoformat(),
            "decision": self.decision.value,
            "reason": self.reason.value if self.reason is not None else None,
            "credential_id": self.credential_id,
            "person_ref": self.person_ref,
            "match_score": self.match_score,
            "liveness_score": self.liveness_score,
            "latency_ms": self.latency_ms,
            "mode": self.mode.value,
            "decided_by": self.decided_by,
        }
