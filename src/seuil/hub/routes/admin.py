"""Region-wide alerts and the list of schools (regional supervisor)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seuil.domain.permissions import Permission
from seuil.hub.routes.board import hub_of
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.routes._forms import see_other
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/alerts")
def alerts(request: Request, identity: Identity = requires(Permission.HUB_MANAGE)) -> Response:
    service = hub_of(request).service
    return render(request, "hub_alerts.html", alerts=service.recent_alerts(identity.account),
                  towns=sorted({s.town for s in service.sites() if s.town}))  # fmt: skip


@router.post("/alerts")
def send_alert(
    request: Request, title: str = Form(max_length=200), text: str = Form("", max_length=2000),
    town: str = Form("", max_length=100), identity: Identity = requires(Permission.HUB_MANAGE),
) -> Response:  # fmt: skip
    hub_of(request).service.send_alert(identity.account, title, text, town)
    return see_other("/alerts")


@router.get("/sites")
def sites(request: Request, identity: Identity = requires(Permission.HUB_MANAGE)) -> Response:
    return render(request, "hub_sites.html", sites=hub_of(request).service.sites())
