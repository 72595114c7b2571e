"""Devices: gates (camera and door health), alarm panels, buttons, cameras, with the
last time each was heard and its last fault; the demonstration's presentations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.demo_view import presentation_choices
from seuil.web.routes.gate import gate_health
from seuil.web.site_access import runtime_of, site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)


@router.get("/devices")
def devices_page(request: Request, identity: Identity = requires(P.VIEW_DEVICES)) -> Response:
    site = site_of(request)
    runtime = runtime_of(request)
    with site.reader() as uow:
        devices = sorted(uow.devices.all(), key=lambda d: (d.kind.value, d.id))
    gates = [(g, gate_health(request, g.id)) for g in runtime.gates]
    demo = None
    if identity.can(P.MANAGE_DEVICES) and runtime.presenters:
        demo = presentation_choices(request, identity)
    return render(request, "devices.html", gates=gates, devices=devices, demo=demo,
                  presenters=set(runtime.presenters), now=site.clock.now(),
                  demo_devices=runtime.demo_devices)  # fmt: skip
