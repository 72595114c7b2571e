"""Server-sent event streams: one for a gate screen, one for the incidents board.

A gate screen (``view_gate_screen``) gets the decisions of its gate, with the holder's
name and class and whether a photo exists (the photo itself is fetched separately, an
audited read), and the PPMS mode. The incidents stream (``view_incidents``, the
regional operator included) gets incidents, the PPMS mode and live notifications;
names of people and staff are removed for roles that may not see people.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from seuil.adapters.live import LiveEvent
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.gate_view import decision_view
from seuil.web.i18n import language
from seuil.web.live import redact, stream
from seuil.web.site_access import gate_of, site_of

P = Permission
router = APIRouter(include_in_schema=False)


def _keepalive(request: Request) -> float:
    value: float = request.app.state.options.sse_keepalive_s
    return value


@router.get("/events/gate/{gate_id}")
async def gate_events(
    request: Request, gate_id: str, identity: Identity = requires(P.VIEW_GATE_SCREEN)
) -> Response:
    gate_of(request, gate_id)
    site = site_of(request)
    lang = language(request)

    async def shape(event: LiveEvent) -> Mapping[str, object] | None:
        if event.topic == "ppms":
            return redact(event.payload, identity)
        if event.payload.get("gate_id") != gate_id:
            return None
        ref = event.payload.get("person_ref")
        holder = None
        if isinstance(ref, str) and ref:
            holder = await run_in_threadpool(site.gate_desk.who, ref)
        return decision_view(event.payload, lang, holder)

    return stream(request, site.bus, ["gate.decision", "ppms"], shape,
                  keepalive_s=_keepalive(request))  # fmt: skip


@router.get("/events/incidents")
async def incident_events(
    request: Request, identity: Identity = requires(P.VIEW_INCIDENTS)
) -> Response:
    site = site_of(request)

    async def shape(event: LiveEvent) -> Mapping[str, object] | None:
        if event.topic == "notification" and not identity.can(P.HANDLE_INCIDENTS):
            return None
        if event.topic == "hub.message":  # the page reloads its list: no names needed
            return {"id": event.payload.get("id"), "kind": event.payload.get("kind")}
        return redact(event.payload, identity)

    return stream(request, site.bus, ["incident", "ppms", "notification", "hub.message"], shape,
                  keepalive_s=_keepalive(request))  # fmt: skip
