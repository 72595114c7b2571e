"""A real hub (its own database: SQLite file, or a throwaway PostgreSQL schema) per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.storage.conftest import postgres  # noqa: F401 (fixture: one schema per test)
from tests.web.conftest import PASSWORD, MovableClock

from seuil.domain.accounts import Role
from seuil.domain.hub import Envelope, EventKind, new_idempotency_key
from seuil.hub.app import HubWebOptions, create_hub_app
from seuil.hub.runtime import Hub
from seuil.hub.settings import HubSettings

SITE = "0830042X"
OTHER = "0830053J"


@dataclass
class HubEnv:
    hub: Hub
    clock: MovableClock
    app: object
    tokens: dict[str, str]

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=True)  # type: ignore[arg-type]

    def post(
        self, site: str, payload: object, token: str | None = None, client: TestClient | None = None
    ):  # type: ignore[no-untyped-def]
        c = client or self.client()
        tok = self.tokens[site] if token is None else token
        return c.post(
            f"/hub/api/v1/sites/{site}/events",
            json=payload,
            headers={"Authorization": f"Bearer {tok}"},
        )

    def add_account(self, username: str, role: Role) -> None:
        admin = self.hub.accounts.login("admin", PASSWORD).account
        self.hub.accounts.create_account(admin, username, username.title(), role, PASSWORD)
        account = self.hub.accounts.login(username, PASSWORD).account
        self.hub.accounts.change_password(account.id, PASSWORD, PASSWORD + "!")

    def login(self, username: str) -> TestClient:
        client = self.client()
        password = PASSWORD if username == "admin" else PASSWORD + "!"
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return client

    def account(self, username: str):  # type: ignore[no-untyped-def]
        with self.hub.uow() as uow:
            return uow.accounts.by_username(username)

    def stored(self, site: str) -> list[tuple[int, str, str]]:
        with self.hub.uow() as uow:
            return uow.hub.events_of(site)


def envelope(
    seq: int,
    kind: EventKind = EventKind.HEARTBEAT,
    body: dict | None = None,
    site: str = SITE,
    at=None,
    key: str | None = None,
) -> dict:  # type: ignore[no-untyped-def]
    from tests.unit.test_hub_protocol import T0, _every_body

    return Envelope(
        site,
        seq,
        key or new_idempotency_key(),
        kind,
        at or T0 + timedelta(seconds=seq),
        body if body is not None else _every_body()[kind],
    ).to_wire()


def batch(events: list[dict], site: str = SITE, after: int = 0) -> dict:
    return {"site": site, "events": events, "messages_after": after}


def hub_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.sqlite3'}"
        return
    schemas = request.getfixturevalue("postgres")
    schema, url = schemas.create()
    yield url
    schemas.drop(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    yield from hub_database(request, tmp_path)


@pytest.fixture
def env(hub_url: str) -> Iterator[HubEnv]:
    clock = MovableClock()
    hub = Hub(HubSettings(database_url=hub_url), clock=clock, fast_hashing=True)
    app = create_hub_app(hub, HubWebOptions(max_batch_bytes=200_000))
    token = hub.accounts.begin_setup()
    assert token
    hub.accounts.complete_setup(token, "admin", "Admin", PASSWORD)
    tokens = {
        SITE: hub.service.add_site(SITE, "Lycée Dumont d'Urville", "Toulon", 43.12, 5.93),
        OTHER: hub.service.add_site(OTHER, "Lycée Rouvière", "Toulon", 43.13, 5.95),
    }
    yield HubEnv(hub, clock, app, tokens)
    hub.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)
