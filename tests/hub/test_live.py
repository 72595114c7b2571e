"""The hub's live pages: server-sent events over real HTTP (uvicorn) tell the board and
the incident list that an incident moved, a school changed its PPMS mode or its
devices' health, and tell a mediator of their own assignments only; a real browser's
board follows a new incident without reloading. Also: the pages' times in
Europe/Paris, and the accounts page offering the hub's roles only."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.hub.conftest import OTHER, SITE, HubEnv, batch, envelope
from tests.hub.servers import serving
from tests.storage.conftest import SERVICES_REQUIRED
from tests.web.conftest import PASSWORD
from tests.web.test_browser import CHROMIUM
from tests.web.test_sse import Reader

from seuil.domain.accounts import HUB_ROLES, Role
from seuil.domain.hub import EventKind
from seuil.hub.app import HubWebOptions, create_hub_app

INCIDENT = "I-20250901-0001"


@pytest.fixture
def live(env: HubEnv) -> Iterator[tuple[HubEnv, str]]:
    env.add_account("operateur", Role.REGIONAL_OPERATOR)
    env.add_account("mediateur", Role.MEDIATOR)
    env.add_account("autre", Role.MEDIATOR)
    app = create_hub_app(env.hub, HubWebOptions(sse_keepalive_s=0.3))
    with serving(app) as (host, port):
        yield env, f"http://{host}:{port}"


def _cookie(env: HubEnv, username: str) -> str:
    return env.hub.accounts.login(username, PASSWORD + "!").token


def test_the_board_stream_hears_incidents_ppms_and_health_not_heartbeats(
    live: tuple[HubEnv, str],
) -> None:
    env, base = live
    reader = Reader(f"{base}/events/board", _cookie(env, "operateur"))
    try:
        assert reader.next(None)["comment"] == "seuil"  # subscribed
        assert reader.status == 200
        env.post(SITE, batch([envelope(1)]))  # a heartbeat: nothing to announce
        assert reader.next(None)["comment"] == "keep-alive"
        started = time.monotonic()
        assert env.post(SITE, batch([envelope(2, EventKind.INCIDENT_OPENED)])).status_code == 200
        event = reader.next("incident")
        assert time.monotonic() - started < 1.0
        assert event["data"] == {"site": SITE, "incident_id": INCIDENT, "change": "site",
                                 "seq": 2}  # fmt: skip
        env.post(OTHER, batch([envelope(1, EventKind.PPMS_MODE, site=OTHER)], site=OTHER))
        assert reader.next("ppms")["data"] == {"site": OTHER, "change": "mode"}
        env.post(SITE, batch([envelope(3, EventKind.DEVICE_HEALTH)]))
        assert reader.next("board")["data"] == {"site": SITE, "change": "health"}
        # What the centre does is heard too (by the other operators' boards).
        env.hub.service.acknowledge(env.account("operateur"), SITE, INCIDENT)
        assert reader.next("incident")["data"] == {"site": SITE, "incident_id": INCIDENT,
                                                   "change": "ack"}  # fmt: skip
    finally:
        reader.close()


def test_a_mediator_hears_only_their_own_assignments(live: tuple[HubEnv, str]) -> None:
    env, base = live
    assert env.post(SITE, batch([envelope(1, EventKind.INCIDENT_OPENED)])).status_code == 200
    mine = Reader(f"{base}/events/mediator", _cookie(env, "mediateur"))
    other = Reader(f"{base}/events/mediator", _cookie(env, "autre"))
    try:
        mine.next(None)
        other.next(None)
        operator, mediator = env.account("operateur"), env.account("mediateur")
        assignment = env.hub.service.assign(operator, SITE, INCIDENT, mediator)
        data = mine.next("incident")["data"]
        assert data == {"site": SITE, "incident_id": INCIDENT, "change": "assign",
                        "mediator_id": mediator.id}  # fmt: skip
        env.hub.service.advance(mediator, assignment.id, assignment.state.ACCEPTED)
        assert mine.next("incident")["data"]["change"] == "assignment.accepted"  # type: ignore[index]
        assert other.next(None)["comment"] == "keep-alive"  # heard nothing of it
        with pytest.raises(AssertionError, match="no incident"):
            other.next("incident", timeout=0.8)
    finally:
        mine.close()
        other.close()


def test_streams_keep_to_their_roles(live: tuple[HubEnv, str]) -> None:
    import httpx

    env, base = live
    from seuil.web.auth import SESSION_COOKIE

    def status(path: str, username: str | None) -> int:
        cookies = {SESSION_COOKIE: _cookie(env, username)} if username else {}
        with httpx.Client(timeout=5, cookies=cookies) as client, client.stream(
            "GET", base + path) as response:  # fmt: skip
            return response.status_code

    assert status("/events/board", "mediateur") == 403
    assert status("/events/mediator", "operateur") == 403
    assert status("/events/board", None) in (303, 401)


def test_the_pages_show_paris_time_summer_and_winter(env: HubEnv) -> None:
    env.add_account("operateur", Role.REGIONAL_OPERATOR)
    # Opened at T0 + 1 s: 2025-09-01 07:45:01 UTC, 09:45:01 in Paris (CEST, UTC+2).
    assert env.post(SITE, batch([envelope(1, EventKind.INCIDENT_OPENED)])).status_code == 200
    client = env.login("operateur")
    detail = client.get(f"/incidents/{SITE}/{INCIDENT}").text
    assert "01/09/2025 09:45:01" in detail and "07:45:01" not in detail and "UTC" not in detail
    env.clock.at = datetime(2025, 10, 6, 8, 0, 0, tzinfo=UTC)  # CEST: 10:00
    assert "mis à jour 10:00:00" in client.get("/board").text
    env.clock.at = datetime(2025, 12, 1, 8, 0, 0, tzinfo=UTC)  # CET, UTC+1: 09:00
    board = env.login("operateur").get("/board").text  # a new session (the old expired)
    assert "mis à jour 09:00:00" in board and "UTC" not in board


def test_the_accounts_page_offers_only_the_hubs_roles(env: HubEnv) -> None:
    page = env.login("admin").get("/accounts")
    assert page.status_code == 200
    create = page.text.split('<select id="role" name="role">')[1].split("</select>")[0]
    offered = set(re.findall(r'<option value="([a-z_]+)"', create))
    assert offered == {r.value for r in HUB_ROLES}
    assert "cpe" not in offered and "gate_agent" not in offered
    # Each account's own role list is the hub's too.
    for select in re.findall(r'<select id="role-[^"]+" name="role">(.*?)</select>', page.text):
        assert set(re.findall(r'<option value="([a-z_]+)"', select)) == offered


def test_a_browser_board_follows_a_new_incident_without_reloading(
    live: tuple[HubEnv, str],
) -> None:
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: the browser test needs it"
        if SERVICES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    env, base = live
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(locale="fr-FR")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/login")
            page.get_by_label("Identifiant").fill("operateur")
            page.get_by_label("Mot de passe").fill(PASSWORD + "!")
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url("**/board")
            expect(page.locator("[data-live-status]")).to_have_text("en direct")
            assert page.locator(".row-incident").count() == 0
            page.evaluate("window.seuilMark = 1")  # gone if the page reloads
            started = time.monotonic()
            env.post(SITE, batch([envelope(1, EventKind.INCIDENT_OPENED)]))
            expect(page.locator(".row-incident")).to_have_count(1, timeout=5_000)
            elapsed = time.monotonic() - started
            assert page.evaluate("window.seuilMark") == 1, "the page reloaded instead"
            assert elapsed < 5.0  # the fallback refresh is 60 s: this was the push
            assert "1 critique" in page.locator("#live").inner_text()
            assert not errors, errors
        finally:
            browser.close()


def test_an_unknown_time_zone_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from seuil.hub.settings import HubSettings

    with pytest.raises(ValidationError, match="unknown time zone"):
        HubSettings(timezone="Mars/Olympus_Mons")
    assert HubSettings(timezone="America/Cayenne").timezone == "America/Cayenne"
