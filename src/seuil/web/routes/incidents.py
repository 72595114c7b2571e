"""The incidents board: open incidents by severity with live timers, their lifecycle,
notifications (failed ones shown), the PPMS control with a confirmation step, and the
demonstration's simulated devices."""

from __future__ import annotations

import json

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.incidents import IncidentStatus, IncidentType, Signal
from seuil.domain.notifications import NotificationStatus
from seuil.domain.permissions import Permission
from seuil.domain.ppms import PpmsMode
from seuil.ports.storage import IncidentQuery
from seuil.services.accounts import Identity
from seuil.services.incidents import incident_payload
from seuil.web.auth import requires
from seuil.web.hub_view import SHOWN, current_alert, message_views
from seuil.web.i18n import tr
from seuil.web.live import redact
from seuil.web.routes._forms import see_other
from seuil.web.site_access import runtime_of, site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)
BOARD = 200
DEMO_SIGNALS = {
    "panic_button": (IncidentType.PANIC, "panic"),
    "alarm_panel": (IncidentType.INTRUSION, "BA"),
}


@router.get("/incidents")
def board(request: Request, identity: Identity = requires(P.VIEW_INCIDENTS)) -> Response:
    site = site_of(request)
    engine = site.incidents
    live = engine.search(IncidentQuery(unresolved=True, limit=BOARD))
    live.sort(key=lambda i: (-int(i.severity), i.opened_at))
    done = engine.search(IncidentQuery(status=IncidentStatus.RESOLVED, limit=5))
    with site.reader() as uow:
        failed = uow.notifications.failed()[-20:]
        inbox = uow.hub_inbox.recent(SHOWN)
    return render(
        request, "incidents.html",
        incidents=[redact(incident_payload(i), identity) for i in live],
        resolved=[redact(incident_payload(i), identity) for i in done],
        failed=failed, ppms=site.ppms.current(), modes=list(PpmsMode),
        demo_devices=runtime_of(request).demo_devices if runtime_of(request).signals else (),
        names=identity.can(P.VIEW_PEOPLE), hub_messages=message_views(inbox, identity),
        hub_alert=current_alert(inbox, site.clock.now()),
    )  # fmt: skip


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request, incident_id: str, identity: Identity = requires(P.VIEW_INCIDENTS)
) -> Response:
    engine = site_of(request).incidents
    incident = engine.get(incident_id)
    return render(request, "incident.html", incident=incident,
                  summary=redact(incident_payload(incident), identity),
                  notifications=engine.notifications(incident_id),
                  names=identity.can(P.VIEW_PEOPLE), failed=NotificationStatus.FAILED)  # fmt: skip


def _back(incident_id: str, where: str) -> Response:
    return see_other("/incidents" if where == "board" else f"/incidents/{incident_id}")


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(
    request: Request, incident_id: str, back: str = Form("board", max_length=10),
    identity: Identity = requires(P.HANDLE_INCIDENTS),
) -> Response:  # fmt: skip
    site_of(request).incidents.acknowledge(incident_id, identity.account.username)
    return _back(incident_id, back)


@router.post("/incidents/{incident_id}/escalate")
def escalate(
    request: Request, incident_id: str, back: str = Form("board", max_length=10),
    identity: Identity = requires(P.HANDLE_INCIDENTS),
) -> Response:  # fmt: skip
    site_of(request).incidents.escalate(incident_id, identity.account.username)
    return _back(incident_id, back)


@router.post("/incidents/{incident_id}/confirm")
def confirm(
    request: Request, incident_id: str, back: str = Form("board", max_length=10),
    identity: Identity = requires(P.HANDLE_INCIDENTS),
) -> Response:  # fmt: skip
    site_of(request).incidents.confirm(incident_id, identity.account.username)
    return _back(incident_id, back)


@router.post("/incidents/{incident_id}/resolve")
def resolve(
    request: Request, incident_id: str, note: str = Form(max_length=2000),
    back: str = Form("board", max_length=10), identity: Identity = requires(P.HANDLE_INCIDENTS),
) -> Response:  # fmt: skip
    if not note.strip():
        raise ConflictError(tr(request, "Une clôture demande une note.",
                               "Resolving needs a note."))  # fmt: skip
    site_of(request).incidents.resolve(incident_id, identity.account.username, note.strip())
    return _back(incident_id, back)


def _mode(request: Request, value: str) -> PpmsMode:
    try:
        return PpmsMode(value)
    except ValueError:
        raise ConflictError(tr(request, f"Mode PPMS inconnu : {value}",
                               f"Unknown PPMS mode: {value}")) from None  # fmt: skip


@router.get("/ppms/confirm")
def ppms_confirm(
    request: Request, mode: str, identity: Identity = requires(P.CONTROL_PPMS)
) -> Response:
    """The confirmation step: nothing changes until the form of this page is sent."""
    return render(request, "ppms_confirm.html", mode=_mode(request, mode),
                  current=site_of(request).ppms.current())  # fmt: skip


@router.post("/ppms")
def ppms_set(
    request: Request, mode: str = Form(max_length=20), reason: str = Form("", max_length=500),
    confirmed: str = Form("", max_length=5), identity: Identity = requires(P.CONTROL_PPMS),
) -> Response:  # fmt: skip
    chosen = _mode(request, mode)
    if confirmed != "yes":
        return see_other(f"/ppms/confirm?mode={chosen.value}")
    ppms = site_of(request).ppms
    actor = identity.account.username
    if chosen is PpmsMode.NORMAL:
        change = ppms.end_alert(actor, reason.strip())
    else:
        if not reason.strip():
            raise ConflictError(tr(request, "Indiquez la raison du déclenchement.",
                                   "Give the reason for this alert."))  # fmt: skip
        change = ppms.enter(chosen, actor, reason.strip())
    if change.failures:
        return render(request, "ppms_confirm.html", mode=chosen, current=change.state,
                      failures=change.failures, done=True)  # fmt: skip
    return see_other("/incidents")


@router.post("/demo/devices/{device_id}/trigger")
def trigger_demo_device(
    request: Request, device_id: str, identity: Identity = requires(P.HANDLE_INCIDENTS)
) -> Response:
    """A simulated panic button or alarm panel sends a real signal to the engine."""
    runtime = runtime_of(request)
    device = next((d for d in runtime.demo_devices if d.id == device_id), None)
    if device is None or runtime.signals is None:
        raise NotFoundError(tr(request, f"Équipement simulé inconnu : {device_id}",
                               f"Unknown simulated device: {device_id}"))  # fmt: skip
    kind, code = DEMO_SIGNALS.get(device.kind, (IncidentType.UNKNOWN, device.kind))
    site = site_of(request)
    raw = json.dumps({"demo": True, "device": device.id, "kind": device.kind})
    runtime.signals.receive(Signal(device.id, site.settings.site.id, device.zone, code, raw,
                                   site.clock.now(), kind))  # fmt: skip
    return see_other("/incidents")
