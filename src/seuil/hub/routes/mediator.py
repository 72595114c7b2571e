"""The mediator's phone page: assignments (accept, on site, done) and availability."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seuil.domain.permissions import Permission
from seuil.hub.model import NEXT_STATE, SEVERITY_LABELS, STATE_LABELS, AssignmentState, Availability
from seuil.hub.routes.board import hub_of
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.routes._forms import see_other
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/mediator")
def mediator_page(
    request: Request, identity: Identity = requires(Permission.HUB_MEDIATE)
) -> Response:
    service = hub_of(request).service
    mine = service.my_assignments(identity.account)
    with hub_of(request).uow() as uow:
        availability = uow.hub.availability([identity.account.id]).get(
            identity.account.id, Availability.OFF
        )
    return render(request, "hub_mediator.html", assignments=mine, next_state=NEXT_STATE,
                  states=STATE_LABELS, availability=availability, severities=SEVERITY_LABELS,
                  choices=list(Availability))  # fmt: skip


@router.post("/mediator/assignments/{assignment_id}")
def advance(
    request: Request, assignment_id: int, state: AssignmentState = Form(),
    identity: Identity = requires(Permission.HUB_MEDIATE),
) -> Response:  # fmt: skip
    hub_of(request).service.advance(identity.account, assignment_id, state)
    return see_other("/mediator")


@router.post("/mediator/availability")
def availability(
    request: Request, availability: Availability = Form(),
    identity: Identity = requires(Permission.HUB_MEDIATE),
) -> Response:  # fmt: skip
    hub_of(request).service.set_availability(identity.account, availability)
    return see_other("/mediator")
