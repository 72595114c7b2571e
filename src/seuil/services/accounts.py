"""Staff accounts: first-admin setup, login with throttling and TOTP, sessions, API tokens.

Every login, failure, lock, logout, password change, token creation and revocation is
written to the audit trail. No default password exists anywhere: the first admin is
created with a one-time setup token printed on the console at first start.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from seuil.domain.accounts import (
    SITE_ROLES,
    Account,
    ApiToken,
    LoginThrottledError,
    PasswordPolicyError,
    Role,
    Session,
    SessionStage,
    SetupToken,
    locked_for,
    new_account_id,
    next_throttle,
    secret_digest,
)
from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from seuil.domain.permissions import Permission, allowed, permissions_of
from seuil.ports.clock import Clock
from seuil.ports.passwords import OneTimeCodes, PasswordHasher
from seuil.ports.storage import AccountsUnitOfWork as UnitOfWork

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "seuil_"  # noqa: S105 (a prefix, not a secret)
_WRONG = "identifiant, mot de passe ou code incorrect (wrong user name, password or code)"

# The commonest passwords (global and French lists) that pass the length rule.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890123", "12345678910111213", "azertyuiopqs",
        "azertyuiop123", "motdepasse123", "motdepasse1234", "password1234",
        "passwordpassword", "qwertyuiop12", "qwertyuiop123", "iloveyou1234",
        "administrateur", "administrator", "bonjourbonjour", "soleil123456",
        "changeme1234", "welcome12345", "letmein12345", "000000000000", "111111111111",
        "aaaaaaaaaaaa", "abcdefghijkl", "abc123456789", "lycee2024lycee", "seuilseuil12",
        "jetaime123456", "marseille1234", "doudou123456", "chouchou1234",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    second_step: timedelta = timedelta(minutes=5)  # to give or set up the TOTP code
    setup_token_ttl: timedelta = timedelta(hours=2)
    min_password_length: int = 12
    # Roles that must use a second factor (empty: TOTP stays optional for everyone).
    require_totp_for: frozenset[Role] = frozenset()
    account_free_failures: int = 3
    client_free_failures: int = 10
    max_lock_s: int = 900
    issuer: str = "seuil"
    # The roles this application's accounts may have (a site's, or the hub's).
    roles: frozenset[Role] = SITE_ROLES


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str = field(repr=False)  # the cookie's value: shown once, stored hashed
    session: Session
    account: Account


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: a browser session or an API token (never both)."""

    account: Account
    session: Session | None = None
    api_token: ApiToken | None = None

    def can(self, permission: Permission) -> bool:
        if self.account.disabled or not allowed(self.account.role, permission):
            return False
        if self.api_token is not None:
            return allowed(self.account.role, Permission.USE_API) and (
                permission in self.api_token.scopes
            )
        return self.session is not None and self.session.stage is SessionStage.FULL


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token: ApiToken
    secret: str = field(repr=False)  # shown once, never stored


class AccountService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        hasher: PasswordHasher,
        codes: OneTimeCodes,
        policy: AccountPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._codes = codes
        self.policy = policy or AccountPolicy()
        # Verified against when the user name is unknown, so timing tells nothing.
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    # -- first start -------------------------------------------------------------------

    def needs_setup(self) -> bool:
        with self._uow() as uow:
            return uow.accounts.count() == 0

    def begin_setup(self) -> str | None:
        """A one-time setup token when no account exists yet (None otherwise)."""
        now = self._clock.now()
        with self._uow() as uow:
            if uow.accounts.count() > 0:
                return None
            token = secrets.token_urlsafe(24)
            expiry = now + self.policy.setup_token_ttl
            uow.setup_tokens.add(SetupToken(secret_digest(token), now, expiry))
            uow.audit.append(AuditEvent("system", AuditAction.SETUP_TOKEN, "", "",
                                        {"expires": expiry.isoformat()}), now)  # fmt: skip
            uow.commit()
        return token

    def complete_setup(
        self, token: str, username: str, display_name: str, password: str, client: str = ""
    ) -> Account:
        now = self._clock.now()
        username = self._check_username(username)
        self.check_password(password, username)
        with self._uow() as uow:
            stored = uow.setup_tokens.get(secret_digest(token.strip()))
            if stored is None or stored.used_at is not None or stored.expires_at <= now:
                uow.audit.append(
                    AuditEvent("anonymous", AuditAction.SETUP_REFUSED, "", client), now
                )
                uow.commit()
                raise AuthenticationError(
                    "jeton d'installation invalide, déjà utilisé ou expiré "
                    "(setup token invalid, used or expired)"
                )
            if uow.accounts.count() > 0:
                raise ConflictError("an account already exists: setup is over")
            account = Account(new_account_id(), username, display_name.strip() or username,
                              Role.ADMIN, self._hasher.hash(password), now,
                              password_changed_at=now)  # fmt: skip
            uow.accounts.add(account)
            uow.setup_tokens.mark_used(stored.token_hash, now)
            uow.audit.append(AuditEvent(username, AuditAction.ACCOUNT_CREATE, account.id,
                                        "first admin", {"role": Role.ADMIN.value}),
                             now)  # fmt: skip
            uow.commit()
        return account

    # -- accounts ------------------------------------------------------------------------

    def check_password(self, password: str, username: str = "") -> None:
        minimum = self.policy.min_password_length
        if len(password) < minimum:
            raise PasswordPolicyError(
                f"le mot de passe doit compter au moins {minimum} caractères "
                f"(at least {minimum} characters)"
            )
        lowered = password.casefold()
        if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
            raise PasswordPolicyError(
                "ce mot de passe est trop courant (this password is too common)"
            )
        if username and username.casefold() in lowered:
            raise PasswordPolicyError(
                "le mot de passe ne doit pas contenir l'identifiant "
                "(the password must not contain the user name)"
            )

    @staticmethod
    def _check_username(username: str) -> str:
        name = username.strip()
        if not (2 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
            raise ConflictError(
                "identifiant : 2 à 64 lettres, chiffres, « . », « _ » ou « - » "
                "(user name: 2 to 64 letters, digits, '.', '_' or '-')"
            )
        return name

    def _check_role(self, role: Role) -> None:
        if role not in self.policy.roles:
            raise ConflictError(
                f"le rôle {role.value} n'existe pas ici (role {role.value} is not used here)"
            )

    def create_account(
        self, actor: Account, username: str, display_name: str, role: Role, password: str
    ) -> Account:
        self._require(actor, Permission.MANAGE_ACCOUNTS)
        self._check_role(role)
        username = self._check_username(username)
        self.check_password(password, username)
        now = self._clock.now()
        account = Account(new_account_id(), username, display_name.strip() or username, role,
                          self._hasher.hash(password), now, must_change_password=True,
                          password_changed_at=now)  # fmt: skip
        with self._uow() as uow:
            if uow.accounts.by_username(username) is not None:
                raise ConflictError(f"the user name {username!r} is taken")
            uow.accounts.add(account)
            uow.audit.append(AuditEvent(actor.username, AuditAction.ACCOUNT_CREATE, account.id, "",
                                        {"role": role.value}), now)  # fmt: skip
            uow.commit()
        return account

    def list_accounts(self, actor: Account) -> list[Account]:
        self._require(actor, Permission.MANAGE_ACCOUNTS)
        with self._uow() as uow:
            return uow.accounts.all()

    def get_account(self, account_id: str) -> Account:
        with self._uow() as uow:
            account = uow.accounts.get(account_id)
        if account is None:
            raise NotFoundError(f"no account {account_id!r}")
        return account

    def update_account(
        self, actor: Account, account_id: str, *, role: Role | None = None,
        disabled: bool | None = None, new_password: str | None = None,
    ) -> Account:  # fmt: skip
        """Change a role, disable or enable, or reset the password (to be changed at once)."""
        self._require(actor, Permission.MANAGE_ACCOUNTS)
        if role is not None:
            self._check_role(role)
        now = self._clock.now()
        with self._uow() as uow:
            account = uow.accounts.get(account_id)
            if account is None:
                raise NotFoundError(f"no account {account_id!r}")
            if account.id == actor.id and (disabled or (role and role is not Role.ADMIN)):
                raise ConflictError("you cannot disable or demote your own account")
            changed = account
            details: dict[str, object] = {}
            if role is not None and role is not account.role:
                changed = replace(changed, role=role)
                details["role"] = role.value
            if disabled is not None and disabled != account.disabled:
                changed = replace(changed, disabled=disabled)
                details["disabled"] = disabled
            if new_password is not None:
                self.check_password(new_password, account.username)
                changed = replace(changed, password_hash=self._hasher.hash(new_password),
                                  must_change_password=True, password_changed_at=now)  # fmt: skip
                details["password_reset"] = True
            if details:
                uow.accounts.update(changed)
                uow.sessions.delete_for_account(account.id)  # takes effect at once
                uow.audit.append(
                    AuditEvent(actor.username, AuditAction.ACCOUNT_UPDATE, account.id, "", details),
                    now,
                )
                uow.commit()
        return changed

    # -- login -------------------------------------------------------------------------

    def login(self, username: str, password: str, client: str = "") -> LoginResult:
        now = self._clock.now()
        username = username.strip()
        keys = (f"account:{username.casefold()}", f"client:{client}")
        with self._uow() as uow:
            wait = max(locked_for(uow.login_throttle.get(k), now) for k in keys)
            if wait:
                uow.audit.append(AuditEvent("anonymous", AuditAction.LOGIN_THROTTLED, username,
                                            client, {"retry_after_s": wait}), now)  # fmt: skip
                uow.commit()
                raise LoginThrottledError(
                    f"trop d'essais : réessayez dans {wait} s (too many attempts: retry in "
                    f"{wait} s)",
                    wait,
                )
            account = uow.accounts.by_username(username)
            ok = self._hasher.verify(account.password_hash if account else self._dummy_hash,
                                     password)  # fmt: skip
            if account is None or not ok or account.disabled:
                self._failure(uow, keys, username, client, now, "password")
                uow.commit()
                raise AuthenticationError(_WRONG)
            for key in keys:
                uow.login_throttle.clear(key)
            if self._hasher.needs_rehash(account.password_hash):
                account = replace(account, password_hash=self._hasher.hash(password))
                uow.accounts.update(account)
            stage = SessionStage.FULL
            if account.totp_enabled:
                stage = SessionStage.TOTP
            elif account.role in self.policy.require_totp_for:
                stage = SessionStage.TOTP_ENROL
            result = self._new_session(uow, account, stage, client, now)
            uow.audit.append(AuditEvent(account.username, AuditAction.LOGIN_SUCCESS, account.id,
                                        client, {"stage": stage.value}), now)  # fmt: skip
            uow.commit()
        return result

    def _failure(
        self, uow: UnitOfWork, keys: Iterable[str], username: str, client: str,
        now: datetime, factor: str,
    ) -> None:  # fmt: skip
        for key in keys:
            free = (self.policy.account_free_failures if key.startswith("account:")
                    else self.policy.client_free_failures)  # fmt: skip
            state = next_throttle(uow.login_throttle.get(key), key, now, free,
                                  self.policy.max_lock_s)  # fmt: skip
            uow.login_throttle.put(state)
            if state.locked_until is not None:
                uow.audit.append(AuditEvent("anonymous", AuditAction.LOGIN_LOCK, key, client,
                                            {"failures": state.failures,
                                             "until": state.locked_until.isoformat()}),
                                 now)  # fmt: skip
        uow.audit.append(AuditEvent("anonymous", AuditAction.LOGIN_FAILURE, username, client,
                                    {"factor": factor}), now)  # fmt: skip

    def _new_session(
        self, uow: UnitOfWork, account: Account, stage: SessionStage, client: str, now: datetime
    ) -> LoginResult:
        token = secrets.token_urlsafe(32)
        ttl = self.policy.session_absolute if stage is SessionStage.FULL else (
            self.policy.second_step)  # fmt: skip
        session = Session(secret_digest(token), account.id, secrets.token_urlsafe(32), stage,
                          now, now, now + ttl, client)  # fmt: skip
        uow.sessions.add(session)
        return LoginResult(token, session, account)

    def second_factor(self, token: str, code: str, client: str = "") -> LoginResult:
        """The TOTP step after the password: a new session id for the full session."""
        now = self._clock.now()
        with self._uow() as uow:
            session = self._live_session(uow, token, now)
            account = uow.accounts.get(session.account_id) if session else None
            if session is None or account is None or session.stage is not SessionStage.TOTP:
                raise AuthenticationError(_WRONG)
            keys = (f"account:{account.username.casefold()}",)
            wait = locked_for(uow.login_throttle.get(keys[0]), now)
            if wait:
                raise LoginThrottledError(
                    f"trop d'essais : réessayez dans {wait} s (too many attempts: retry in "
                    f"{wait} s)",
                    wait,
                )
            if account.totp_secret is None or not self._codes.verify(
                account.totp_secret, code, now
            ):
                self._failure(uow, keys, account.username, client, now, "totp")
                uow.commit()
                raise AuthenticationError(_WRONG)
            uow.sessions.delete(session.token_hash)
            result = self._new_session(uow, account, SessionStage.FULL, client, now)
            uow.audit.append(AuditEvent(account.username, AuditAction.LOGIN_SECOND_FACTOR,
                                        account.id, client), now)  # fmt: skip
            uow.commit()
        return result

    def new_totp_secret(self, account: Account) -> tuple[str, str]:
        """A fresh secret and its ``otpauth://`` URI (for the QR the app scans)."""
        secret = self._codes.new_secret()
        return secret, self._codes.provisioning_uri(secret, account.username, self.policy.issuer)

    def enable_totp(self, token: str, secret: str, code: str, client: str = "") -> LoginResult:
        """Turn the second factor on once the app shows a right code; a new session."""
        now = self._clock.now()
        with self._uow() as uow:
            session = self._live_session(uow, token, now)
            account = uow.accounts.get(session.account_id) if session else None
            if session is None or account is None or session.stage is SessionStage.TOTP:
                raise AuthenticationError(_WRONG)
            if not self._codes.verify(secret, code, now):
                raise AuthenticationError(_WRONG)
            account = replace(account, totp_secret=secret)
            uow.accounts.update(account)
            uow.sessions.delete_for_account(account.id)
            result = self._new_session(uow, account, SessionStage.FULL, client, now)
            uow.audit.append(AuditEvent(account.username, AuditAction.ACCOUNT_TOTP_ENABLE,
                                        account.id), now)  # fmt: skip
            uow.commit()
        return result

    # -- sessions ----------------------------------------------------------------------

    def _live_session(self, uow: UnitOfWork, token: str, now: datetime) -> Session | None:
        session = uow.sessions.get(secret_digest(token))
        if session is None:
            return None
        if session.expires_at <= now or now - session.last_seen_at >= self.policy.session_idle:
            uow.sessions.delete(session.token_hash)
            uow.commit()
            return None
        return session

    def authenticate(self, token: str) -> Identity | None:
        """The identity of a session cookie's value, or None (unknown, idle or expired)."""
        if not token:
            return None
        now = self._clock.now()
        with self._uow() as uow:
            session = self._live_session(uow, token, now)
            if session is None:
                return None
            account = uow.accounts.get(session.account_id)
            if account is None or account.disabled:
                return None
            if now - session.last_seen_at >= timedelta(seconds=30):
                uow.sessions.touch(session.token_hash, now)
                uow.commit()
                session = replace(session, last_seen_at=now)
        return Identity(account, session=session)

    def logout(self, token: str) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            session = uow.sessions.get(secret_digest(token))
            if session is None:
                return
            uow.sessions.delete(session.token_hash)
            uow.audit.append(
                AuditEvent(session.account_id, AuditAction.LOGOUT, session.account_id), now
            )
            uow.commit()

    def change_password(
        self, account_id: str, current: str, new: str, client: str = ""
    ) -> LoginResult:
        """Every other session ends; the caller gets a fresh one."""
        now = self._clock.now()
        with self._uow() as uow:
            account = uow.accounts.get(account_id)
            if account is None or not self._hasher.verify(account.password_hash, current):
                uow.audit.append(AuditEvent(account_id, AuditAction.PASSWORD_CHANGE_REFUSED,
                                            account_id), now)  # fmt: skip
                uow.commit()
                raise AuthenticationError(_WRONG)
            self.check_password(new, account.username)
            if new == current:
                raise PasswordPolicyError(
                    "le nouveau mot de passe doit différer de l'ancien "
                    "(the new password must differ from the old one)"
                )
            account = replace(account, password_hash=self._hasher.hash(new),
                              must_change_password=False, password_changed_at=now)  # fmt: skip
            uow.accounts.update(account)
            uow.sessions.delete_for_account(account.id)
            result = self._new_session(uow, account, SessionStage.FULL, client, now)
            uow.audit.append(
                AuditEvent(account.username, AuditAction.PASSWORD_CHANGE, account.id), now
            )
            uow.commit()
        return result

    # -- API tokens --------------------------------------------------------------------

    def create_token(
        self, actor: Account, name: str, scopes: Iterable[Permission],
        expires_at: datetime | None = None,
    ) -> CreatedToken:  # fmt: skip
        wanted = frozenset(scopes)
        self._require(actor, Permission.USE_API)
        if not name.strip():
            raise ConflictError("a token needs a name (un jeton doit avoir un nom)")
        beyond = wanted - permissions_of(actor.role)
        if beyond:
            raise PermissionDeniedError(
                "un jeton ne peut pas dépasser les droits de son compte (a token cannot exceed "
                f"its account's permissions): {', '.join(sorted(p.value for p in beyond))}"
            )
        now = self._clock.now()
        if expires_at is not None and expires_at <= now:
            raise ConflictError("the expiry date is in the past")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken("tok_" + secrets.token_hex(6), actor.id, name.strip(),
                         wanted | {Permission.USE_API}, secret_digest(secret), now,
                         expires_at)  # fmt: skip
        with self._uow() as uow:
            uow.api_tokens.add(token)
            uow.audit.append(AuditEvent(actor.username, AuditAction.TOKEN_CREATE, token.id,
                                        token.name,
                                        {"scopes": sorted(p.value for p in token.scopes)}),
                             now)  # fmt: skip
            uow.commit()
        return CreatedToken(token, secret)

    def list_tokens(self, actor: Account) -> list[ApiToken]:
        with self._uow() as uow:
            return uow.api_tokens.for_account(actor.id)

    def revoke_token(self, actor: Account, token_id: str) -> ApiToken:
        now = self._clock.now()
        with self._uow() as uow:
            token = uow.api_tokens.get(token_id)
            if token is None or (
                token.account_id != actor.id and not allowed(actor.role, Permission.MANAGE_ACCOUNTS)
            ):
                raise NotFoundError(f"no token {token_id!r}")
            if token.revoked_at is None:
                uow.api_tokens.revoke(token_id, now)
                uow.audit.append(
                    AuditEvent(actor.username, AuditAction.TOKEN_REVOKE, token_id), now
                )
                uow.commit()
                token = replace(token, revoked_at=now)
        return token

    def authenticate_token(self, secret: str) -> Identity | None:
        if not secret.startswith(TOKEN_PREFIX):
            return None
        now = self._clock.now()
        with self._uow() as uow:
            token = uow.api_tokens.by_hash(secret_digest(secret))
            if token is None or not token.live(now):
                return None
            account = uow.accounts.get(token.account_id)
            if account is None or account.disabled:
                return None
            if token.last_used_at is None or now - token.last_used_at >= timedelta(minutes=1):
                uow.api_tokens.touch(token.id, now)
                uow.commit()
        return Identity(account, api_token=token)

    @staticmethod
    def _require(actor: Account, permission: Permission) -> None:
        if actor.disabled or not allowed(actor.role, permission):
            raise PermissionDeniedError(
                f"votre rôle ne permet pas cette action (your role does not allow this): "
                f"{permission.value}"
            )
