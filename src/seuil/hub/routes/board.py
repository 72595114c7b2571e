"""The regional board: every school's status, open incidents, devices, and the map."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seuil.domain.permissions import Permission
from seuil.hub.map import HEIGHT, WIDTH, project
from seuil.hub.model import SEVERITY_LABELS
from seuil.hub.runtime import Hub
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.routes._forms import see_other
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


@router.get("/")
def home(request: Request, identity: Identity = requires(None)) -> Response:
    if identity.can(Permission.HUB_VIEW):
        return see_other("/board")
    if identity.can(Permission.HUB_MEDIATE):
        return see_other("/mediator")
    return render(request, "home.html")


@router.get("/board")
def board(request: Request, identity: Identity = requires(Permission.HUB_VIEW)) -> Response:
    found = hub_of(request).service.board(identity.account)
    return render(request, "hub_board.html", board=found, points=project(found.rows),
                  map_w=WIDTH, map_h=HEIGHT, severities=SEVERITY_LABELS)  # fmt: skip
