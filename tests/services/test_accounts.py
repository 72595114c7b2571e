"""Accounts: setup token, login throttling, sessions, TOTP, passwords, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.adapters.storage.audit_log import verify_audit
from seuil.bootstrap import Site
from seuil.domain.accounts import (
    LoginThrottledError,
    PasswordPolicyError,
    Role,
    SessionStage,
)
from seuil.domain.errors import (
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
)
from seuil.domain.permissions import Permission
from seuil.services.accounts import AccountPolicy, AccountService

PASSWORD = "correct horse battery"


class MovableClock:
    def __init__(self) -> None:
        self.at = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def accounts(site: Site, clock: MovableClock) -> AccountService:
    policy = AccountPolicy(require_totp_for=frozenset({Role.HEAD_OF_SCHOOL}))
    return AccountService(site.uow, clock, Argon2Hasher(fast=True), TotpCodes(), policy)


def _actions(site: Site) -> list[str]:
    with site.reader() as uow:
        return [e.action for e in uow.audit.entries()]


def test_setup_token_creates_the_first_admin_once(site: Site, accounts: AccountService,
                                                  clock: MovableClock) -> None:  # fmt: skip
    assert accounts.needs_setup()
    token = accounts.begin_setup()
    assert token
    with pytest.raises(AuthenticationError):
        accounts.complete_setup("not-the-token", "admin", "Admin", PASSWORD)
    with pytest.raises(PasswordPolicyError):
        accounts.complete_setup(token, "admin", "Admin", "azertyuiop123")
    admin = accounts.complete_setup(token, "admin", "Admin", PASSWORD)
    assert admin.role is Role.ADMIN and not accounts.needs_setup()
    assert PASSWORD not in admin.password_hash and admin.password_hash.startswith("$argon2id$")
    with pytest.raises(AuthenticationError):  # valid once
        accounts.complete_setup(token, "admin2", "Admin", PASSWORD)
    assert accounts.begin_setup() is None  # never again once an account exists
    assert {"setup.token", "setup.refused", "account.create"} <= set(_actions(site))
    with site.reader() as uow:
        assert verify_audit(uow).ok


def test_setup_token_expires(accounts: AccountService, clock: MovableClock) -> None:
    token = accounts.begin_setup()
    assert token
    clock.advance(hours=3)
    with pytest.raises(AuthenticationError):
        accounts.complete_setup(token, "admin", "Admin", PASSWORD)


def _admin(accounts: AccountService) -> None:
    token = accounts.begin_setup()
    assert token
    accounts.complete_setup(token, "admin", "Admin", PASSWORD)


def test_login_throttles_per_account_then_recovers(
    site: Site, accounts: AccountService, clock: MovableClock
) -> None:
    _admin(accounts)
    for _ in range(3):
        with pytest.raises(AuthenticationError) as err:
            accounts.login("admin", "wrong password!!", "10.0.0.1")
        assert not isinstance(err.value, LoginThrottledError)
    with pytest.raises(AuthenticationError):  # 4th failure: locks for 2 s
        accounts.login("admin", "wrong password!!", "10.0.0.2")
    with pytest.raises(LoginThrottledError) as locked:  # even the right password waits
        accounts.login("admin", PASSWORD, "10.0.0.3")
    assert locked.value.retry_after_s == 2
    clock.advance(seconds=2)
    with pytest.raises(AuthenticationError):  # 5th: 4 s
        accounts.login("admin", "wrong password!!", "10.0.0.3")
    clock.advance(seconds=3)
    with pytest.raises(LoginThrottledError):
        accounts.login("admin", PASSWORD, "10.0.0.3")
    clock.advance(seconds=1)
    result = accounts.login("admin", PASSWORD, "10.0.0.3")
    assert result.session.stage is SessionStage.FULL
    actions = _actions(site)
    assert actions.count("login.failure") == 5
    assert {"login.lock", "login.throttled", "login.success"} <= set(actions)


def test_login_throttles_per_client_address(accounts: AccountService) -> None:
    _admin(accounts)
    for i in range(10):  # different user names from one address
        with pytest.raises(AuthenticationError):
            accounts.login(f"guess{i}", "wrong password!!", "192.0.2.9")
    with pytest.raises(AuthenticationError):
        accounts.login("guess-x", "wrong password!!", "192.0.2.9")
    with pytest.raises(LoginThrottledError):
        accounts.login("admin", PASSWORD, "192.0.2.9")
    assert accounts.login("admin", PASSWORD, "192.0.2.10").account.username == "admin"


def test_sessions_expire_when_idle_and_absolutely(accounts: AccountService,
                                                  clock: MovableClock) -> None:  # fmt: skip
    _admin(accounts)
    first = accounts.login("admin", PASSWORD)
    assert accounts.authenticate(first.token) is not None
    clock.advance(minutes=31)
    assert accounts.authenticate(first.token) is None  # idle
    second = accounts.login("admin", PASSWORD)
    for _ in range(25):  # active every 29 min: the 12 h absolute limit still ends it
        clock.advance(minutes=29)
        if accounts.authenticate(second.token) is None:
            break
    assert clock.at - second.session.created_at <= timedelta(hours=12, minutes=29)
    assert accounts.authenticate(second.token) is None
    assert accounts.authenticate("forged-token") is None


def test_logout_and_password_change_end_sessions(site: Site, accounts: AccountService) -> None:
    _admin(accounts)
    one = accounts.login("admin", PASSWORD)
    two = accounts.login("admin", PASSWORD)
    accounts.logout(one.token)
    assert accounts.authenticate(one.token) is None
    with pytest.raises(AuthenticationError):
        accounts.change_password(two.account.id, "bad current pw", "another long secret")
    with pytest.raises(PasswordPolicyError):
        accounts.change_password(two.account.id, PASSWORD, "short")
    with pytest.raises(PasswordPolicyError):
        accounts.change_password(two.account.id, PASSWORD, "admin-is-my-password")
    fresh = accounts.change_password(two.account.id, PASSWORD, "another long secret")
    assert accounts.authenticate(two.token) is None
    assert accounts.authenticate(fresh.token) is not None
    assert {"logout", "password.change", "password.change_refused"} <= set(_actions(site))


def test_totp_second_step_and_required_enrolment(accounts: AccountService) -> None:
    _admin(accounts)
    admin = accounts.login("admin", PASSWORD).account
    head = accounts.create_account(admin, "proviseur", "Mme Head", Role.HEAD_OF_SCHOOL,
                                   PASSWORD)  # fmt: skip
    pending = accounts.login("proviseur", PASSWORD)
    assert pending.session.stage is SessionStage.TOTP_ENROL
    identity = accounts.authenticate(pending.token)
    assert identity is not None and not identity.can(Permission.VIEW_PEOPLE)
    secret, uri = accounts.new_totp_secret(head)
    assert uri.startswith("otpauth://totp/")
    with pytest.raises(AuthenticationError):
        accounts.enable_totp(pending.token, secret, "000000")
    full = accounts.enable_totp(
        pending.token, secret, pyotp.TOTP(secret).at(accounts_now(accounts))
    )
    assert accounts.authenticate(full.token).can(Permission.VIEW_PEOPLE)  # type: ignore[union-attr]
    step = accounts.login("proviseur", PASSWORD)
    assert step.session.stage is SessionStage.TOTP
    with pytest.raises(AuthenticationError):
        accounts.second_factor(step.token, "123456")
    done = accounts.second_factor(step.token, pyotp.TOTP(secret).at(accounts_now(accounts)))
    assert done.token != step.token and accounts.authenticate(step.token) is None
    assert done.session.stage is SessionStage.FULL


def accounts_now(accounts: AccountService) -> datetime:
    return accounts._clock.now()


def test_api_tokens_scoped_hashed_revocable(site: Site, accounts: AccountService) -> None:
    _admin(accounts)
    admin = accounts.login("admin", PASSWORD).account
    cpe = accounts.create_account(admin, "cpe.martin", "M. Martin", Role.CPE, PASSWORD)
    with pytest.raises(PermissionDeniedError):  # beyond the CPE's role
        accounts.create_token(cpe, "audit", [Permission.VIEW_AUDIT])
    with pytest.raises(ConflictError):
        accounts.create_token(cpe, " ", [Permission.VIEW_PEOPLE])
    created = accounts.create_token(cpe, "sync", [Permission.VIEW_PEOPLE])
    assert created.secret.startswith("seuil_") and created.secret not in repr(created)
    with site.reader() as uow:
        stored = uow.api_tokens.get(created.token.id)
    assert stored is not None and created.secret not in stored.token_hash
    identity = accounts.authenticate_token(created.secret)
    assert identity is not None and identity.can(Permission.VIEW_PEOPLE)
    assert not identity.can(Permission.MANAGE_PEOPLE)  # the role could; the token cannot
    assert accounts.authenticate_token(created.secret + "x") is None
    accounts.revoke_token(cpe, created.token.id)
    assert accounts.authenticate_token(created.secret) is None
    assert {"token.create", "token.revoke"} <= set(_actions(site))


def test_admin_updates_accounts_and_sessions_end(accounts: AccountService) -> None:
    _admin(accounts)
    admin = accounts.login("admin", PASSWORD).account
    with pytest.raises(ConflictError):
        accounts.update_account(admin, admin.id, disabled=True)
    dpo = accounts.create_account(admin, "dpo", "DPO", Role.DPO, PASSWORD)
    with pytest.raises(PermissionDeniedError):
        accounts.create_account(dpo, "x.y", "X", Role.ADMIN, PASSWORD)
    session = accounts.login("dpo", PASSWORD)
    accounts.update_account(admin, dpo.id, disabled=True)
    assert accounts.authenticate(session.token) is None
    with pytest.raises(AuthenticationError):
        accounts.login("dpo", PASSWORD)
