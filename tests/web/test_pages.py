"""Staff pages: login security, CSRF, sessions, uploads, language, and the main flows."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.conftest import PASSWORD, Web, csrf_of

from seuil.domain.people import PersonKind
from seuil.web.auth import SESSION_COOKIE

ROSTER = Path(__file__).parents[1] / "fixtures" / "roster" / "eleves_utf8_bom_comma.csv"


def test_security_headers_and_cookie_flags(web: Web) -> None:
    client = web.client()
    response = client.post("/login", data={"username": "admin", "password": PASSWORD},
                           follow_redirects=False)  # fmt: skip
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = client.get("/home")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and ' style="' not in page.text
    assert '<html lang="fr">' in page.text


def test_secure_cookie_over_https(web: Web) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(web.app, base_url="https://testserver")  # type: ignore[arg-type]
    response = client.post("/login", data={"username": "admin", "password": PASSWORD},
                           follow_redirects=False)  # fmt: skip
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_then_throttled(web: Web) -> None:
    client = web.client()
    for _ in range(4):
        wrong = client.post("/login", data={"username": "admin", "password": "nope nope nope"})
        assert wrong.status_code == 401
        assert "incorrect" in wrong.text
    locked = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429 and locked.headers["retry-after"] == "2"
    assert "réessayez" in locked.text
    web.clock.advance(seconds=3)
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).url.path == (
        "/home"
    )


def test_csrf_is_required_on_every_unsafe_form(web: Web) -> None:
    client = web.login()
    forged = client.post("/people/P-X/consent", data={"state": "given", "given_by": "self",
                         "form_version": "v1"})  # fmt: skip
    assert forged.status_code == 403 and "CSRF" in forged.text
    wrong = client.post("/logout", data={"csrf_token": "guess"})
    assert wrong.status_code == 403
    assert client.get("/home").status_code == 200  # still signed in
    token = csrf_of(client.get("/home").text)
    assert client.post("/logout", data={"csrf_token": token}).url.path == "/login"
    assert client.get("/home", follow_redirects=False).status_code == 303


def test_tampered_cookie_and_expired_sessions(web: Web) -> None:
    client = web.login()
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/home", follow_redirects=False).status_code == 303
    client = web.login()
    web.clock.advance(minutes=29)
    assert client.get("/home", follow_redirects=False).status_code == 200
    web.clock.advance(minutes=31)  # idle
    response = client.get("/people", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/people"


def test_oversized_upload_is_refused_clearly(web: Web) -> None:
    client = web.login()
    token = csrf_of(client.get("/roster").text)
    big = b"x" * 300_000
    response = client.post("/roster/preview", data={"csrf_token": token},
                           files={"file": ("big.csv", big, "text/csv")})  # fmt: skip
    assert response.status_code == 413
    assert "trop volumineux" in response.text and "0.2 Mo" in response.text
    api = client.post("/api/v1/roster/sync", files={"file": ("big.csv", big, "text/csv")})
    assert api.status_code == 413 and api.json()["code"] == "payload_too_large"


def test_english_switch(web: Web) -> None:
    client = web.client()
    assert "Identifiant" in client.get("/login").text
    english = client.get("/lang/en?next=/login")
    assert english.url.path == "/login" and "User name" in english.text
    assert '<html lang="en">' in english.text
    assert "User name" in web.client().get("/login", headers={"accept-language": "en-GB"}).text
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False).headers[
        "location"] == "/"  # fmt: skip


def test_roster_person_consent_card_audit(web: Web) -> None:
    client = web.login()
    token = csrf_of(client.get("/roster").text)
    upload = {"file": (ROSTER.name, ROSTER.read_bytes(), "text/csv")}
    form = {"csrf_token": token, "format": "auto", "scope": "auto"}
    preview = client.post("/roster/preview", data=form, files=upload)
    assert preview.status_code == 200, preview.text
    assert "aperçu" in preview.text and "ROUSSEAU" in preview.text
    search = {"csrf_token": token, "q": "rousseau"}
    assert client.post("/people/search", data=search).text.count('href="/people/P-') == 0
    key = re.search(r'name="key" value="([^"]+)"', preview.text)
    assert key
    applied = client.post("/roster/apply", data={"csrf_token": token, "key": key.group(1)})
    assert applied.status_code == 200 and "appliqué" in applied.text
    again = client.post("/roster/apply", data={"csrf_token": token, "key": key.group(1)})
    assert again.status_code == 409  # used once
    found = client.post("/people/search", data=search)
    ref = re.search(r'href="/people/(P-[A-Z0-9]+)"', found.text)
    assert ref
    person = client.get(f"/people/{ref.group(1)}")
    assert "ROUSSEAU" in person.text
    consent = client.post(
        f"/people/{ref.group(1)}/consent",
        data={
            "csrf_token": token,
            "state": "refused",
            "given_by": "guardian",
            "form_version": "2025",
        },
    )
    assert consent.status_code == 200 and "refused" in consent.text
    card = client.post(f"/people/{ref.group(1)}/credentials", data={"csrf_token": token})
    assert card.status_code == 200 and card.url.path.endswith("/card")
    assert "<svg" in card.text and "ROUSSEAU" in card.text
    bad = client.post(
        f"/people/{ref.group(1)}/consent",
        data={"csrf_token": token, "state": "maybe", "given_by": "self", "form_version": "x"},
    )
    assert bad.status_code == 422  # bad input: a clear error, nothing recorded
    audit = client.get("/audit?action=consent.*")
    assert "consent.record" in audit.text
    verdict = client.get("/audit/verify")
    assert "Chaîne intacte" in verdict.text


def test_the_person_search_keeps_names_out_of_urls(web: Web) -> None:
    """A name typed in the search travels in a CSRF-protected POST body: never in the
    URL (proxies and access logs keep query strings), and a GET query is not searched."""
    site = web.site
    site.people.create("cpe", PersonKind.PUPIL, "Zébulon", "Paul", group="1G2")
    site.people.create("cpe", PersonKind.PUPIL, "Martin", "Léa", group="1G2")
    client = web.login()
    listing = client.get("/people")
    token = csrf_of(listing.text)
    assert 'method="post" action="/people/search"' in listing.text
    assert 'method="get"' not in listing.text
    found = client.post("/people/search", data={"csrf_token": token, "q": "zébulon"})
    assert found.status_code == 200 and str(found.url).endswith("/people/search")
    assert "ZÉBULON" in found.text.upper() and "MARTIN" not in found.text
    assert client.get("/people?q=zebulon").text.count('href="/people/P-') == 2  # ignored
    forged = client.post("/people/search", data={"q": "zébulon"})
    assert forged.status_code == 403
    assert client.get("/people?group=1G2").text.count('href="/people/P-') == 2
