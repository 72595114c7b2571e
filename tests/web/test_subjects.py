"""The DPO's page: export (JSON, HTML), erasure with confirmation, the DPIA (HTML, PDF),
and the DPIA reference that only the head of school records."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Web, csrf_of

from seuil.domain.accounts import Role
from seuil.domain.people import PersonKind


def _dpo(web: Web):  # type: ignore[no-untyped-def]
    web.site.set_clock(web.clock)
    web.add("dpo", Role.DPO)
    return web.login("dpo", PASSWORD + "!")


def test_dpo_exports_and_erases(web: Web) -> None:
    client = _dpo(web)
    person = web.site.people.create("cpe", PersonKind.PUPIL, "Martin", "Léa", group="1G2")
    page = client.get("/subjects", params={"ref": person.ref})
    assert page.status_code == 200 and f'action="/subjects/{person.ref}/export"' in page.text
    csrf = csrf_of(page.text)
    export = f"/subjects/{person.ref}/export"
    form = {"motif": "courrier du 12/11", "format": "json", "csrf_token": csrf}
    exported = client.post(export, data=form)
    assert exported.status_code == 200 and exported.json()["identity"]["first_name"] == "Léa"
    assert "no-store" in exported.headers["cache-control"]  # (the app's security headers)
    html = client.post(export, data={**form, "format": "html"})
    assert "Léa" in html.text and html.headers["content-type"].startswith("text/html")
    with web.site.reader() as uow:  # the request answered is recorded with the export
        assert uow.audit.latest(1, "subject.export")[0].reason == "courrier du 12/11"
    assert client.post(export, data={**form, "motif": ""}).status_code == 422  # a reason
    assert client.post(export, data={"motif": "courrier", "format": "json"}).status_code in (
        400, 403)  # no CSRF token: refused  # fmt: skip
    assert client.get(f"/subjects/{person.ref}/export.json").status_code in (404, 405)
    url = f"/subjects/{person.ref}/erase"
    wrong = client.post(url, data={"motif": "demande", "confirm": "P-OTHER", "csrf_token": csrf})
    assert wrong.status_code == 422 and "Recopiez" in wrong.text
    with web.site.reader() as uow:
        assert uow.people.get(person.ref) is not None  # nothing erased on a bad confirmation
    done = client.post(url, data={"motif": "demande", "confirm": person.ref, "csrf_token": csrf})
    assert done.status_code == 200 and "Effacement effectué" in done.text
    assert "audit_entries" in done.text  # the legal exception is shown
    with web.site.reader() as uow:
        assert uow.people.get(person.ref) is None
        assert uow.audit.latest(1, "subject.erase")[0].actor == "dpo"
    missing = client.post(export, data=form)
    assert missing.status_code == 404


def test_dpia_pages_and_reference(web: Web) -> None:
    client = _dpo(web)
    assert "<h2>1. Contexte" in client.get("/dpia").text
    pdf = client.get("/dpia.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    web.add("proviseur", Role.HEAD_OF_SCHOOL)
    head = web.login("proviseur", PASSWORD + "!")
    page = head.get("/subjects")
    assert 'action="/dpia/reference"' in page.text
    form = {"reference": "AIPD-2025-07", "csrf_token": csrf_of(page.text)}
    response = head.post("/dpia/reference", data=form)
    assert response.status_code == 200 and "AIPD-2025-07" in response.text
    assert web.site.impact_assessments.current().reference == "AIPD-2025-07"  # type: ignore[union-attr]
    # The admin holds manage_settings too, but is not the data controller: refused.
    admin = web.login()
    form = {"reference": "X", "csrf_token": csrf_of(admin.get("/subjects").text)}
    refused = admin.post("/dpia/reference", data=form)
    assert refused.status_code == 403
    assert web.site.impact_assessments.current().reference == "AIPD-2025-07"  # type: ignore[union-attr]
