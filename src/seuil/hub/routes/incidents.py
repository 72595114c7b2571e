"""Incidents of every school: acknowledge, assign a mediator, record a police call, close."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seuil.domain.errors import NotFoundError
from seuil.domain.permissions import Permission
from seuil.hub.model import SEVERITY_LABELS, STATE_LABELS
from seuil.hub.routes.board import hub_of
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.routes._forms import see_other
from seuil.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/incidents")
def incidents(
    request: Request, closed: bool = False, site: str = "",
    identity: Identity = requires(Permission.HUB_VIEW),
) -> Response:  # fmt: skip
    found = hub_of(request).service.incidents(identity.account, include_closed=closed)
    if site:
        found = [i for i in found if i.site == site]
    return render(request, "hub_incidents.html", incidents=found, closed=closed,
                  severities=SEVERITY_LABELS, now=hub_of(request).clock.now())  # fmt: skip


@router.get("/incidents/{site}/{incident_id}")
def incident(
    request: Request, site: str, incident_id: str,
    identity: Identity = requires(Permission.HUB_VIEW),
) -> Response:  # fmt: skip
    service = hub_of(request).service
    found = service.incident(identity.account, site, incident_id)
    mediators = service.mediators(identity.account)
    names = {a.id: a.display_name for a, _ in mediators}
    return render(request, "hub_incident.html", incident=found, mediators=mediators,
                  assignments=service.assignments_for(identity.account, site, incident_id),
                  names=names, severities=SEVERITY_LABELS, states=STATE_LABELS)  # fmt: skip


def _back(site: str, incident_id: str) -> Response:
    return see_other(f"/incidents/{site}/{incident_id}")


@router.post("/incidents/{site}/{incident_id}/ack")
def acknowledge(
    request: Request, site: str, incident_id: str,
    identity: Identity = requires(Permission.HUB_HANDLE),
) -> Response:  # fmt: skip
    hub_of(request).service.acknowledge(identity.account, site, incident_id)
    return _back(site, incident_id)


@router.post("/incidents/{site}/{incident_id}/police")
def police(
    request: Request, site: str, incident_id: str, number: str = Form(max_length=4),
    identity: Identity = requires(Permission.HUB_HANDLE),
) -> Response:  # fmt: skip
    hub_of(request).service.record_police_call(identity.account, site, incident_id, number)
    return _back(site, incident_id)


@router.post("/incidents/{site}/{incident_id}/assign")
def assign(
    request: Request, site: str, incident_id: str, mediator_id: str = Form(max_length=40),
    identity: Identity = requires(Permission.HUB_HANDLE),
) -> Response:  # fmt: skip
    hub = hub_of(request)
    mediator = next((a for a, _ in hub.service.mediators(identity.account) if a.id == mediator_id),
                    None)  # fmt: skip
    if mediator is None:
        raise NotFoundError("aucun médiateur de ce nom (no such mediator)")
    hub.service.assign(identity.account, site, incident_id, mediator)
    return _back(site, incident_id)


@router.post("/incidents/{site}/{incident_id}/close")
def close(
    request: Request, site: str, incident_id: str, note: str = Form(max_length=500),
    identity: Identity = requires(Permission.HUB_HANDLE),
) -> Response:  # fmt: skip
    hub_of(request).service.close(identity.account, site, incident_id, note)
    return _back(site, incident_id)
