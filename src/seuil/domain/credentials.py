"""Credentials and the reasons a gate refuses one. Standard library only.

A credential is either a signed QR code printed on the student card or booklet, or a
badge number read by a reader. It always has a validity window (by default the school
year) and can be revoked at once; every gate checks both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum


class CredentialKind(StrEnum):
    QR = "qr"
    BADGE = "badge"


class TemplateStorage(StrEnum):
    """Where the face template lives (the French authority's three types, plus none)."""

    ON_CREDENTIAL = "on_credential"  # the signed credential carries it; the site has none
    KEY_ON_CREDENTIAL = "key_on_credential"  # site keeps it encrypted with a key on the card
    SITE_DATABASE = "site_database"  # site keeps it encrypted with the site key
    NONE = "none"  # non-biometric path: visual check by the gate agent


class RevocationReason(StrEnum):
    LEFT = "left"
    EXCLUDED = "excluded"
    SUSPENDED = "suspended"
    LOST = "lost"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    REPLACED = "replaced"
    ADMINISTRATIVE = "administrative"


class CheckResult(StrEnum):
    """Why a presented credential is accepted or refused: one distinct code per cause."""

    VALID = "valid"
    MALFORMED = "malformed"  # cannot be decoded at all
    TRUNCATED = "truncated"  # decodes, but bytes are missing
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_KEY = "unknown_key"  # signed with a key this site does not know (or retired)
    FORGED = "forged"  # the signature does not verify
    WRONG_SITE = "wrong_site"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN_BADGE = "unknown_badge"
    PERSON_INACTIVE = "person_inactive"

    @property
    def accepted(self) -> bool:
        return self is CheckResult.VALID


def new_credential_id() -> bytes:
    """16 random bytes: unguessable, so a credential id cannot be enumerated."""
    return secrets.token_bytes(16)


@dataclass(frozen=True, slots=True)
class Credential:
    """What the site records about an issued credential (never a secret key or template)."""

    id: str  # hex of the 16-byte id
    person_ref: str
    site_id: str
    kind: CredentialKind
    storage: TemplateStorage
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    key_id: str = ""  # signing key (QR)
    badge_number: str | None = None
    revoked_at: datetime | None = None
    revocation_reason: RevocationReason | None = None

    def check_window(self, now: datetime) -> CheckResult:
        if self.revoked_at is not None:  # whatever this gate's clock says
            return CheckResult.REVOKED
        if now < self.valid_from:
            return CheckResult.NOT_YET_VALID
        if now >= self.valid_until:
            return CheckResult.EXPIRED
        return CheckResult.VALID


def school_year(today: date) -> tuple[datetime, datetime]:
    """The French school year containing ``today``: 1 September to 31 August (UTC)."""
    start_year = today.year if today.month >= 9 else today.year - 1
    return (
        datetime(start_year, 9, 1, tzinfo=UTC),
        datetime(start_year + 1, 9, 1, tzinfo=UTC),
    )
