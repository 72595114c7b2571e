"""The DPO's pages: data-subject access (JSON, HTML) and erasure; the DPIA (HTML, PDF);
the head of school records the DPIA reference. Every act is audited by the services."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from seuil.adapters.reports.html import render_dpia_html, render_subject_html
from seuil.adapters.reports.pdf import render_dpia_pdf
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.routes._forms import see_other
from seuil.web.routes.people import site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)


@router.get("/subjects")
def subjects_page(
    request: Request, ref: str = "", identity: Identity = requires(P.EXPORT_SUBJECT_DATA)
) -> Response:
    site = site_of(request)
    return render(request, "subjects.html", erasure=None, ref=ref.strip()[:40],
                  assessment=site.impact_assessments.current())  # fmt: skip


@router.post("/subjects/{ref}/export")
def export(
    request: Request,
    ref: str,
    motif: str = Form(min_length=3, max_length=500),
    format: Literal["html", "json"] = Form("html"),
    identity: Identity = requires(P.EXPORT_SUBJECT_DATA),
) -> Response:
    """Everything the site holds on one person, for an access request. A form, not a
    link: the request answered (``motif``) is recorded in the audit entry, and neither
    it nor the export lands in a URL, a proxy log or the browser's history."""
    data = site_of(request).subjects.export(identity.account.username, ref, motif.strip())
    if format == "html":
        return HTMLResponse(render_subject_html(data))
    body = json.dumps(data, ensure_ascii=False, indent=2)
    headers = {"Content-Disposition": f'attachment; filename="export-{ref}.json"'}
    return Response(body, media_type="application/json", headers=headers)


@router.post("/subjects/{ref}/erase")
def erase(
    request: Request, ref: str, motif: str = Form(max_length=500),
    confirm: str = Form(""), identity: Identity = requires(P.EXPORT_SUBJECT_DATA),
) -> Response:  # fmt: skip
    site = site_of(request)
    if confirm != ref:
        return render(request, "subjects.html", status=422, erasure=None, ref=ref,
                      assessment=site.impact_assessments.current(),
                      error=True)  # fmt: skip
    erasure = site.subjects.erase(identity.account.username, ref, motif)
    return render(request, "subjects.html", erasure=erasure, ref="",
                  assessment=site.impact_assessments.current())  # fmt: skip


@router.get("/dpia")
def dpia_html(request: Request, identity: Identity = requires(P.EXPORT_SUBJECT_DATA)) -> Response:
    document = site_of(request).dpia().generate(request.app.state.gates)
    return HTMLResponse(render_dpia_html(document))


@router.get("/dpia.pdf")
def dpia_pdf(request: Request, identity: Identity = requires(P.EXPORT_SUBJECT_DATA)) -> Response:
    document = site_of(request).dpia().generate(request.app.state.gates)
    headers = {"Content-Disposition": 'attachment; filename="aipd.pdf"'}
    return Response(render_dpia_pdf(document), media_type="application/pdf", headers=headers)


@router.post("/dpia/reference")
def record_reference(
    request: Request, reference: str = Form(max_length=200), note: str = Form("", max_length=500),
    identity: Identity = requires(P.MANAGE_SETTINGS),
) -> Response:  # fmt: skip
    """Only the head of school's account may record it (checked by the service)."""
    site_of(request).impact_assessments.record(
        identity.account.username, identity.account.role, reference, note
    )
    return see_other("/subjects")
