"""Accounts, sessions, API tokens, login throttling and setup tokens, on both back-ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from tests.storage.conftest import T0

from seuil.adapters.storage import SqlUnitOfWork
from seuil.domain.accounts import (
    Account,
    ApiToken,
    Role,
    Session,
    SessionStage,
    SetupToken,
    Throttle,
    new_account_id,
    secret_digest,
)
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.permissions import Permission

Uow = Callable[..., SqlUnitOfWork]


def _account(username: str = "cpe.martin", role: Role = Role.CPE) -> Account:
    return Account(new_account_id(), username, "M. Martin", role, "$argon2id$fake", T0)


def test_account_round_trip_and_unique_username(uow: Uow) -> None:
    account = _account()
    with uow() as u:
        u.accounts.add(account)
        u.commit()
    with uow() as u:
        assert u.accounts.get(account.id) == account
        assert u.accounts.by_username("cpe.martin") == account
        assert u.accounts.count() == 1
        changed = replace(account, role=Role.DPO, totp_secret="JBSWY3DP", disabled=True)
        u.accounts.update(changed)
        u.commit()
    with uow() as u:
        assert u.accounts.all() == [changed]
    with pytest.raises(ConflictError), uow() as u:
        u.accounts.add(_account())  # same username
    with pytest.raises(NotFoundError), uow() as u:
        u.accounts.update(_account("ghost"))


def test_sessions_are_found_by_hash_touched_and_purged(uow: Uow) -> None:
    account = _account()
    live = Session(secret_digest("a"), account.id, "csrf", SessionStage.FULL, T0, T0,
                   T0 + timedelta(hours=12))  # fmt: skip
    idle = replace(live, token_hash=secret_digest("b"), last_seen_at=T0 - timedelta(hours=2))
    with uow() as u:
        u.accounts.add(account)
        u.sessions.add(live)
        u.sessions.add(idle)
        u.commit()
    with uow() as u:
        assert u.sessions.get(secret_digest("a")) == live
        u.sessions.touch(live.token_hash, T0 + timedelta(minutes=5))
        assert u.sessions.purge_expired(T0, T0 - timedelta(minutes=30)) == 1
        u.commit()
    with uow() as u:
        got = u.sessions.get(live.token_hash)
        assert got is not None and got.last_seen_at == T0 + timedelta(minutes=5)
        assert u.sessions.get(idle.token_hash) is None
        assert u.sessions.delete_for_account(account.id) == 1
        u.commit()


def test_api_tokens_hashed_scoped_revocable(uow: Uow) -> None:
    account = _account()
    token = ApiToken("tok_1", account.id, "export", frozenset({Permission.VIEW_PEOPLE,
                     Permission.USE_API}), secret_digest("secret"), T0)  # fmt: skip
    with uow() as u:
        u.accounts.add(account)
        u.api_tokens.add(token)
        u.commit()
    with uow() as u:
        assert u.api_tokens.by_hash(secret_digest("secret")) == token
        assert u.api_tokens.by_hash(secret_digest("other")) is None
        u.api_tokens.revoke("tok_1", T0 + timedelta(days=1))
        u.api_tokens.revoke("tok_1", T0 + timedelta(days=2))  # the first revocation stays
        u.commit()
    with uow() as u:
        revoked = u.api_tokens.get("tok_1")
        assert revoked is not None and revoked.revoked_at == T0 + timedelta(days=1)
        assert not revoked.live(T0 + timedelta(days=1))
        assert u.api_tokens.for_account(account.id) == [revoked]


def test_throttle_and_setup_tokens(uow: Uow) -> None:
    with uow() as u:
        assert u.login_throttle.get("account:x") is None
        u.login_throttle.put(Throttle("account:x", 1, T0))
        u.login_throttle.put(Throttle("account:x", 2, T0, T0 + timedelta(seconds=4)))
        u.setup_tokens.add(SetupToken(secret_digest("setup"), T0, T0 + timedelta(hours=1)))
        u.commit()
    with uow() as u:
        assert u.login_throttle.get("account:x") == Throttle(
            "account:x", 2, T0, T0 + timedelta(seconds=4)
        )
        u.login_throttle.clear("account:x")
        u.setup_tokens.mark_used(secret_digest("setup"), T0)
        u.commit()
    with uow() as u:
        assert u.login_throttle.get("account:x") is None
        used = u.setup_tokens.get(secret_digest("setup"))
        assert used is not None and used.used_at == T0
