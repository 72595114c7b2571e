"""SQL repositories for accounts, sessions, API tokens, login throttling, setup tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.accounts import (
    Account,
    ApiToken,
    Role,
    Session,
    SessionStage,
    SetupToken,
    Throttle,
)
from seuil.domain.errors import NotFoundError
from seuil.domain.permissions import Permission


def _account(row: sa.Row[Any]) -> Account:
    return Account(
        id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role),
        password_hash=row.password_hash, created_at=row.created_at, totp_secret=row.totp_secret,
        disabled=bool(row.disabled), must_change_password=bool(row.must_change_password),
        password_changed_at=row.password_changed_at,
    )  # fmt: skip


def _account_values(a: Account) -> dict[str, Any]:
    return {
        "id": a.id, "username": a.username, "display_name": a.display_name,
        "role": a.role.value, "password_hash": a.password_hash, "totp_secret": a.totp_secret,
        "disabled": a.disabled, "must_change_password": a.must_change_password,
        "created_at": a.created_at, "password_changed_at": a.password_changed_at,
    }  # fmt: skip


class SqlAccountRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def get(self, account_id: str) -> Account | None:
        row = self._db.execute(sa.select(t.accounts).where(t.accounts.c.id == account_id)).first()
        return _account(row) if row else None

    def by_username(self, username: str) -> Account | None:
        statement = sa.select(t.accounts).where(t.accounts.c.username == username)
        row = self._db.execute(statement).first()
        return _account(row) if row else None

    def add(self, account: Account) -> None:
        self._db.execute(sa.insert(t.accounts).values(**_account_values(account)))

    def update(self, account: Account) -> None:
        values = _account_values(account)
        del values["id"]
        statement = sa.update(t.accounts).where(t.accounts.c.id == account.id).values(**values)
        if self._db.execute(statement).rowcount != 1:
            raise NotFoundError(f"no account {account.id!r}")

    def count(self) -> int:
        return int(
            self._db.execute(sa.select(sa.func.count()).select_from(t.accounts)).scalar_one()
        )

    def all(self) -> list[Account]:
        statement = sa.select(t.accounts).order_by(t.accounts.c.username)
        return [_account(row) for row in self._db.execute(statement)]


def _session(row: sa.Row[Any]) -> Session:
    return Session(
        token_hash=row.token_hash, account_id=row.account_id, csrf_secret=row.csrf_secret,
        stage=SessionStage(row.stage), created_at=row.created_at, last_seen_at=row.last_seen_at,
        expires_at=row.expires_at, client=row.client,
    )  # fmt: skip


class SqlSessionRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, session: Session) -> None:
        self._db.execute(
            sa.insert(t.sessions).values(
                token_hash=session.token_hash, account_id=session.account_id,
                csrf_secret=session.csrf_secret, stage=session.stage.value,
                created_at=session.created_at, last_seen_at=session.last_seen_at,
                expires_at=session.expires_at, client=session.client,
            )
        )  # fmt: skip

    def get(self, token_hash: str) -> Session | None:
        statement = sa.select(t.sessions).where(t.sessions.c.token_hash == token_hash)
        row = self._db.execute(statement).first()
        return _session(row) if row else None

    def touch(self, token_hash: str, at: datetime) -> None:
        c = t.sessions.c
        self._db.execute(sa.update(t.sessions).where(c.token_hash == token_hash).values(
            last_seen_at=at))  # fmt: skip

    def delete(self, token_hash: str) -> None:
        self._db.execute(sa.delete(t.sessions).where(t.sessions.c.token_hash == token_hash))

    def delete_for_account(self, account_id: str) -> int:
        statement = sa.delete(t.sessions).where(t.sessions.c.account_id == account_id)
        return int(self._db.execute(statement).rowcount)

    def purge_expired(self, now: datetime, idle_before: datetime) -> int:
        c = t.sessions.c
        statement = sa.delete(t.sessions).where(
            sa.or_(c.expires_at <= now, c.last_seen_at < idle_before)
        )
        return int(self._db.execute(statement).rowcount)


def _token(row: sa.Row[Any]) -> ApiToken:
    return ApiToken(
        id=row.id, account_id=row.account_id, name=row.name,
        scopes=frozenset(Permission(s) for s in row.scopes.split()),
        token_hash=row.token_hash, created_at=row.created_at, expires_at=row.expires_at,
        revoked_at=row.revoked_at, last_used_at=row.last_used_at,
    )  # fmt: skip


class SqlApiTokenRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, token: ApiToken) -> None:
        self._db.execute(
            sa.insert(t.api_tokens).values(
                id=token.id, account_id=token.account_id, name=token.name,
                scopes=" ".join(sorted(s.value for s in token.scopes)),
                token_hash=token.token_hash, created_at=token.created_at,
                expires_at=token.expires_at, revoked_at=token.revoked_at,
                last_used_at=token.last_used_at,
            )
        )  # fmt: skip

    def get(self, token_id: str) -> ApiToken | None:
        row = self._db.execute(sa.select(t.api_tokens).where(t.api_tokens.c.id == token_id)).first()
        return _token(row) if row else None

    def by_hash(self, token_hash: str) -> ApiToken | None:
        statement = sa.select(t.api_tokens).where(t.api_tokens.c.token_hash == token_hash)
        row = self._db.execute(statement).first()
        return _token(row) if row else None

    def for_account(self, account_id: str) -> list[ApiToken]:
        c = t.api_tokens.c
        statement = sa.select(t.api_tokens).where(c.account_id == account_id).order_by(
            c.created_at)  # fmt: skip
        return [_token(row) for row in self._db.execute(statement)]

    def revoke(self, token_id: str, at: datetime) -> None:
        c = t.api_tokens.c
        statement = sa.update(t.api_tokens).where(c.id == token_id, c.revoked_at.is_(None))
        self._db.execute(statement.values(revoked_at=at))

    def touch(self, token_id: str, at: datetime) -> None:
        statement = sa.update(t.api_tokens).where(t.api_tokens.c.id == token_id)
        self._db.execute(statement.values(last_used_at=at))


class SqlThrottleRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def get(self, key: str) -> Throttle | None:
        statement = sa.select(t.login_throttle).where(t.login_throttle.c.key == key)
        row = self._db.execute(statement).first()
        if row is None:
            return None
        return Throttle(row.key, row.failures, row.last_failure_at, row.locked_until)

    def put(self, throttle: Throttle) -> None:
        values = {
            "failures": throttle.failures,
            "last_failure_at": throttle.last_failure_at,
            "locked_until": throttle.locked_until,
        }
        c = t.login_throttle.c
        updated = self._db.execute(
            sa.update(t.login_throttle).where(c.key == throttle.key).values(**values)
        ).rowcount
        if updated == 0:
            self._db.execute(sa.insert(t.login_throttle).values(key=throttle.key, **values))

    def clear(self, key: str) -> None:
        self._db.execute(sa.delete(t.login_throttle).where(t.login_throttle.c.key == key))


class SqlSetupTokenRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, token: SetupToken) -> None:
        self._db.execute(
            sa.insert(t.setup_tokens).values(
                token_hash=token.token_hash, created_at=token.created_at,
                expires_at=token.expires_at, used_at=token.used_at,
            )
        )  # fmt: skip

    def get(self, token_hash: str) -> SetupToken | None:
        statement = sa.select(t.setup_tokens).where(t.setup_tokens.c.token_hash == token_hash)
        row = self._db.execute(statement).first()
        if row is None:
            return None
        return SetupToken(row.token_hash, row.created_at, row.expires_at, row.used_at)

    def mark_used(self, token_hash: str, at: datetime) -> None:
        c = t.setup_tokens.c
        statement = sa.update(t.setup_tokens).where(c.token_hash == token_hash)
        self._db.execute(statement.values(used_at=at))
