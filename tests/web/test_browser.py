"""One real-browser walk (Chromium, headless) against a real uvicorn server: set up the
admin with the one-time token, log in, import a roster CSV, open a person, record
consent, issue a credential and open its printable card. Screenshots of each page go to
``$SEUIL_ARTIFACTS`` (default ``/tmp/seuil-screenshots``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.services.conftest import make_settings
from tests.storage.conftest import SERVICES_REQUIRED
from tests.web.live_server import serving
from tests.web.test_pages import ROSTER

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.bootstrap import build_site
from seuil.services.accounts import AccountService
from seuil.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "un mot de passe solide"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(make_settings(tmp_path))
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    token = accounts.begin_setup()
    assert token
    try:
        with serving(create_app(site, accounts)) as base:
            yield base, token
    finally:
        site.close()


def test_admin_setup_to_printable_card(server: tuple[str, str]) -> None:
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: the browser test needs it"
        if SERVICES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    base, token = server
    shots = Path(os.environ.get("SEUIL_ARTIFACTS", "/tmp/seuil-screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {shots}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(locale="fr-FR")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(base + "/")
        assert page.url.endswith("/setup")
        page.screenshot(path=shots / "01-setup.png", full_page=True)
        page.get_by_label("Jeton d'installation").fill(token)
        page.get_by_label("Identifiant").fill("admin")
        page.get_by_label("Nom affiché").fill("Mme Admin")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Créer le compte").click()

        page.wait_for_url("**/login")
        page.get_by_label("Identifiant").fill("admin")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.screenshot(path=shots / "02-login.png", full_page=True)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/home")
        page.screenshot(path=shots / "03-home.png", full_page=True)

        page.get_by_role("link", name="Import SIECLE / CSV").first.click()
        page.get_by_label("Fichier").set_input_files(str(ROSTER))
        page.get_by_role("button", name="Voir les différences").click()
        page.screenshot(path=shots / "04-roster-preview.png", full_page=True)
        page.get_by_role("button", name="Appliquer").click()
        page.get_by_text("appliqué").first.wait_for()
        page.screenshot(path=shots / "05-roster-applied.png", full_page=True)

        page.goto(base + "/people")
        page.get_by_label("Nom").fill("rousseau")
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_url("**/people/search")
        page.get_by_role("link", name="ROUSSEAU").click()
        page.get_by_role("heading", name="ROUSSEAU").wait_for()
        page.screenshot(path=shots / "06-person.png", full_page=True)

        page.get_by_label("Décision").select_option("given")
        page.get_by_label("Par", exact=True).select_option("guardian")
        page.get_by_label("Version du formulaire").fill("2025-1")
        page.get_by_role("button", name="Enregistrer").click()
        page.get_by_role("cell", name="donné").first.wait_for()
        page.screenshot(path=shots / "07-consent.png", full_page=True)

        page.get_by_role("button", name="Émettre un titre sans biométrie").click()
        page.wait_for_url("**/card")
        assert page.locator(".card svg").count() == 1
        page.emulate_media(media="print")
        page.screenshot(path=shots / "08-card-print.png", full_page=True)
        assert page.locator("header.top").is_hidden()  # print CSS hides the navigation
        browser.close()
    assert not errors, errors  # no CSP violation, no script error
    assert len(list(shots.glob("0*.png"))) >= 8
