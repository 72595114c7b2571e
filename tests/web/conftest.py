"""A real site (SQLite; PostgreSQL for the storage-heavy cases) behind the web app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.services.conftest import make_settings

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.bootstrap import Site, build_site
from seuil.domain.accounts import Role
from seuil.services.accounts import AccountPolicy, AccountService
from seuil.web import WebOptions, create_app

PASSWORD = "correct horse battery"


class MovableClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2025, 10, 6, 8, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Web:
    site: Site
    accounts: AccountService
    clock: MovableClock
    app: object

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=True)  # type: ignore[arg-type]

    def login(self, username: str = "admin", password: str = PASSWORD) -> TestClient:
        client = self.client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client

    def add(self, username: str, role: Role) -> None:
        admin = self.accounts.login("admin", PASSWORD).account
        self.accounts.create_account(admin, username, username, role, PASSWORD)
        account = self.accounts.login(username, PASSWORD).account
        self.accounts.change_password(account.id, PASSWORD, PASSWORD + "!")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def web(tmp_path, monkeypatch) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(make_settings(tmp_path))
    clock = MovableClock()
    site.clock = clock  # type: ignore[assignment]
    site.people._clock = clock  # the use cases share the movable clock
    accounts = AccountService(site.uow, clock, Argon2Hasher(fast=True), TotpCodes(),
                              AccountPolicy())  # fmt: skip
    app = create_app(site, accounts, WebOptions(max_upload_bytes=200_000))
    token = accounts.begin_setup()
    assert token
    accounts.complete_setup(token, "admin", "Admin", PASSWORD)
    yield Web(site, accounts, clock, app)
    site.close()
