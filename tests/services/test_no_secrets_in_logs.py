"""Secrets never reach the logs: real flows run with every logger at DEBUG (SQLAlchemy's
statement logging included), and no name, token, password, credential text, badge
number or template byte appears in any captured record."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.services.conftest import make_settings
from tests.services.test_roster_sync import FIXTURES
from tests.web.conftest import PASSWORD, Web, csrf_of

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.adapters.reports.html import render_subject_html
from seuil.adapters.reports.pdf import render_dpia_pdf
from seuil.adapters.roster import read_roster
from seuil.bootstrap import Site, build_site
from seuil.domain.accounts import Role
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.domain.errors import SeuilError
from seuil.domain.people import PersonKind
from seuil.domain.permissions import Permission
from seuil.ports.storage import PeopleQuery
from seuil.services.accounts import AccountPolicy, AccountService
from seuil.web import WebOptions, create_app

# Every logger, down to DEBUG, including the ones libraries keep quiet by default. Not
# httpx: here it is the test's own HTTP client, logging the URLs it requests (a name
# searched for is in the query string; the server's access log is off for that reason,
# see `seuil web`).
_LOUD = ("", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "seuil", "uvicorn",
         "fastapi", "alembic", "multipart", "PIL")  # fmt: skip


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in _LOUD:
        caplog.set_level(logging.DEBUG, logger=name)
    client_log = logging.getLogger("httpx")
    before = client_log.level
    client_log.setLevel(logging.WARNING)  # (caplog.set_level would raise its handler too)
    yield caplog
    client_log.setLevel(before)


def _leaks(records: list[logging.LogRecord], secrets_: dict[str, bytes | str]) -> list[str]:
    found = []
    for record in records:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]!r}"
        for label, value in secrets_.items():
            needles = (
                [value.hex(), repr(value)[2:40], value[:16].hex()]
                if isinstance(value, bytes)
                else [value, value.upper(), value.casefold()]
            )
            if any(n and n in text for n in needles):
                found.append(f"{label} in {record.name}: {text[:120]}")
    return found


@pytest.fixture
def web_site(tmp_path, monkeypatch) -> Iterator[Web]:  # type: ignore[no-untyped-def]
    from tests.web.conftest import MovableClock

    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(make_settings(tmp_path))
    clock = MovableClock()
    site.set_clock(clock)  # type: ignore[arg-type]
    accounts = AccountService(site.uow, clock, Argon2Hasher(fast=True), TotpCodes(),
                              AccountPolicy())  # fmt: skip
    yield Web(site, accounts, clock, create_app(site, accounts, WebOptions()))
    site.close()


def test_staff_flows_leak_nothing(web_site: Web, debug_logs: pytest.LogCaptureFixture) -> None:
    site, accounts = web_site.site, web_site.accounts
    last, first = f"Zqxname{secrets.token_hex(3)}", f"Wvfirst{secrets.token_hex(3)}"
    badge = str(secrets.randbelow(10**9) + 10**9)
    setup = accounts.begin_setup()
    assert setup
    accounts.complete_setup(setup, "admin", "Admin", PASSWORD)
    # People, consent, roster, credentials (the services, as the CLI uses them).
    person = site.people.create("cpe", PersonKind.PUPIL, last, first, group="2NDE1")
    site.people.get("cpe", person.ref, "check")
    site.people.search("cpe", PeopleQuery(text=last), "search")
    site.consent.record("cpe", person.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, "v1")
    roster = read_roster(FIXTURES / "eleves_utf8_bom_comma.csv", format="csv")
    site.roster.sync("cpe", roster.entries, full_export=False, source="x.csv", dry_run=False)
    issued = site.credentials.issue_qr("cpe", person.ref)
    site.credentials.check_text(issued.text)
    site.credentials.check_text(issued.text[:-5] + "AAAAA")  # tampered: refused, logged?
    site.credentials.issue_badge("cpe", person.ref, badge, TemplateStorage.NONE)
    site.credentials.check_badge(badge)
    # The web site: a wrong password, a right one, an API token used on the API.
    client = web_site.client()
    client.post("/login", data={"username": "admin", "password": "wrong " + PASSWORD})
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    session = client.cookies.get("seuil_session") or ""
    admin = accounts.login("admin", PASSWORD).account
    token = accounts.create_token(admin, "export", [Permission.VIEW_PEOPLE]).secret
    api = web_site.client()
    bearer = {"Authorization": f"Bearer {token}"}
    api.post("/api/v1/people/search", json={"query": last}, headers=bearer)
    api.post("/api/v1/people/search", json={"query": last * 20}, headers=bearer)  # refused
    api.get("/api/v1/people", headers={"Authorization": "Bearer seuil_wrong_token_value"})
    page = client.get(f"/people/{person.ref}")
    client.post(f"/people/{person.ref}/consent", data={
        "state": "given", "given_by": "guardian", "form_version": "v2",
        "csrf_token": csrf_of(page.text)})  # fmt: skip
    # Data protection: export, DPIA, purge, erasure, and a refused request.
    render_subject_html(site.subjects.export("dpo", person.ref))
    render_dpia_pdf(site.dpia().generate([]))
    web_site.clock.advance(days=400)
    site.purge.run()
    site.credentials.revoke("cpe", issued.credential.id, RevocationReason.LOST)
    site.subjects.erase("dpo", person.ref, "demande")
    with pytest.raises(SeuilError):
        site.people.create("cpe", PersonKind.PUPIL, "", first)
    web_site.add("dpo.user", Role.DPO)
    assert debug_logs.records, "nothing was captured: the check would prove nothing"
    assert any(r.name.startswith("sqlalchemy") for r in debug_logs.records)
    leaks = _leaks(debug_logs.records, {
        "last name": last, "first name": first, "roster name": "DE LA FONTAINE",
        "credential text": issued.text[12:60], "badge": badge, "setup token": setup,
        "password": PASSWORD, "session": session[8:], "api token": token[8:],
    })  # fmt: skip
    assert leaks == []


def test_enrolment_and_gate_check_leak_no_template(
    sqlite_site: Site, shared: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    site = sqlite_site
    person = site.people.create("cpe", PersonKind.PUPIL, "Yzname", "Léa", group="2NDE1")
    site.consent.record("cpe", person.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, "v1")
    photos = sorted((shared / "video/enrol/obama").glob("*.jpg"))[:3]
    outcome = site.enrolment.enrol("cpe", person.ref, [(p.name, p.read_bytes()) for p in photos],
                                   TemplateStorage.SITE_DATABASE,
                                   valid_until=site.clock.now() + timedelta(days=30))  # fmt: skip
    assert outcome.issued is not None
    check = site.credentials.check_text(outcome.issued.text)
    template = site.gate_access.template_for(check)
    assert template is not None
    with site.reader() as uow:
        stored = uow.templates.get(person.ref)
        photo = uow.photos.get(person.ref)
    assert stored is not None and photo is not None
    site.enrolment.display_photo("agent", person.ref, "visual check")
    site.consent.record("cpe", person.ref, ConsentState.WITHDRAWN, ConsentGiver.GUARDIAN, "v1")
    assert debug_logs.records
    leaks = _leaks(debug_logs.records, {
        "template": template.data, "ciphertext": stored.blob, "photo": photo,
        "photo file": photos[0].read_bytes()[200:260], "name": "Yzname",
        "credential text": outcome.issued.text[12:60],
    })  # fmt: skip
    assert leaks == []
