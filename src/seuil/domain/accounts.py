"""Staff accounts, their roles, sessions and API tokens. Standard library only.

Secrets never live in these objects in clear: an account holds its password *hash*
(argon2, made by an adapter), a session and an API token are known by the SHA-256 of
their random value, which is shown to their holder once and never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from seuil.domain.errors import AuthenticationError, SeuilError

if TYPE_CHECKING:
    from seuil.domain.permissions import Permission


class Role(StrEnum):
    ADMIN = "admin"
    HEAD_OF_SCHOOL = "head_of_school"
    CPE = "cpe"
    GATE_AGENT = "gate_agent"
    DPO = "dpo"
    TECHNICIAN = "technician"
    REGIONAL_OPERATOR = "regional_operator"  # read-only on a site, no personal data
    # The regional hub's own roles (issue 7): they exist on the hub only.
    REGIONAL_SUPERVISOR = "regional_supervisor"
    MEDIATOR = "mediator"  # regional school guard: their assignments on a phone

    @property
    def label_fr(self) -> str:
        return _LABELS_FR[self]


_LABELS_FR = {
    Role.ADMIN: "Administrateur",
    Role.HEAD_OF_SCHOOL: "Chef d'établissement",
    Role.CPE: "CPE / vie scolaire",
    Role.GATE_AGENT: "Agent d'accueil",
    Role.DPO: "Délégué à la protection des données",
    Role.TECHNICIAN: "Technicien",
    Role.REGIONAL_OPERATOR: "Opérateur régional",
    Role.REGIONAL_SUPERVISOR: "Superviseur régional",
    Role.MEDIATOR: "Médiateur (équipe mobile)",
}

# Which roles an application may give its accounts (AccountPolicy.roles).
SITE_ROLES = frozenset(
    {Role.ADMIN, Role.HEAD_OF_SCHOOL, Role.CPE, Role.GATE_AGENT, Role.DPO, Role.TECHNICIAN,
     Role.REGIONAL_OPERATOR}
)  # fmt: skip
HUB_ROLES = frozenset({Role.ADMIN, Role.REGIONAL_OPERATOR, Role.REGIONAL_SUPERVISOR, Role.MEDIATOR})


class SessionStage(StrEnum):
    """A session is usable only when FULL; the others allow one step of the login."""

    FULL = "full"
    TOTP = "totp"  # password accepted, second factor still to give
    TOTP_ENROL = "totp_enrol"  # password accepted, second factor still to set up


class LoginThrottledError(AuthenticationError):
    """Too many failed attempts for this account or address: wait before retrying."""

    code = "login_throttled"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def new_account_id() -> str:
    return "A-" + secrets.token_hex(6)


def secret_digest(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (session, API or setup token).

    A slow hash is for passwords people choose; 256 random bits need none.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    username: str
    display_name: str
    role: Role
    password_hash: str = field(repr=False)
    created_at: datetime
    totp_secret: str | None = field(default=None, repr=False)
    disabled: bool = False
    must_change_password: bool = False
    password_changed_at: datetime | None = None

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str  # SHA-256 of the cookie's value
    account_id: str
    csrf_secret: str = field(repr=False)
    stage: SessionStage
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # absolute end, whatever the activity
    client: str = ""


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str  # public part, shown in lists ("tok_3f9a...")
    account_id: str
    name: str
    scopes: frozenset[Permission]
    token_hash: str = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class Throttle:
    """Failed-login state of one key (``account:<name>`` or ``client:<address>``)."""

    key: str
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SetupToken:
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class PasswordPolicyError(SeuilError):
    """The new password is too short, too common, or contains the user name."""

    code = "weak_password"
    exit_code = 2


def next_throttle(
    previous: Throttle | None, key: str, now: datetime, free_failures: int, max_lock_s: int
) -> Throttle:
    """The state after one more failure: past ``free_failures`` the key is locked for an
    exponentially growing time (2 s, 4 s, 8 s... up to ``max_lock_s``). A day without
    failures starts afresh."""
    failures = 1
    if previous is not None and now - previous.last_failure_at < timedelta(days=1):
        failures = previous.failures + 1
    locked_until = None
    if failures > free_failures:
        lock_s = min(2 ** (failures - free_failures), max_lock_s)
        locked_until = now + timedelta(seconds=lock_s)
    return Throttle(key, failures, now, locked_until)


def locked_for(throttle: Throttle | None, now: datetime) -> int:
    """Seconds left before this key may try again (0: it may try now)."""
    if throttle is None or throttle.locked_until is None or throttle.locked_until <= now:
        return 0
    return max(1, int((throttle.locked_until - now).total_seconds() + 0.999))
