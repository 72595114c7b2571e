"""Server-sent events for the hub's live pages (the site's stream, ``seuil.web.live``).

``/events/board`` (``hub_view``): the board and the incident list hear that an incident
moved (at a site or at the centre), that a school changed its PPMS mode or its devices'
health; the page then re-reads itself. ``/events/mediator`` (``hub_mediate``): a
mediator hears only of their own assignments. Payloads carry ids, never a name.

The streams read the hub process's own bus (``Hub.bus``); on PostgreSQL what the other
hub processes publish reaches it through LISTEN/NOTIFY (``Hub.live``, see
docs/scaling.md); a SQLite trial is one process.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seuil.adapters.live import LiveEvent
from seuil.domain.permissions import Permission
from seuil.hub.routes.board import hub_of
from seuil.hub.service import TOPIC_BOARD, TOPIC_INCIDENT, TOPIC_PPMS
from seuil.services.accounts import Identity
from seuil.web.auth import requires
from seuil.web.live import redact, stream

router = APIRouter(include_in_schema=False)


def _keepalive(request: Request) -> float:
    value: float = request.app.state.options.sse_keepalive_s
    return value


@router.get("/events/board")
async def board_events(
    request: Request, identity: Identity = requires(Permission.HUB_VIEW)
) -> Response:
    async def shape(event: LiveEvent) -> Mapping[str, object] | None:
        return redact(event.payload, identity)

    return stream(request, hub_of(request).bus, [TOPIC_INCIDENT, TOPIC_PPMS, TOPIC_BOARD],
                  shape, keepalive_s=_keepalive(request))  # fmt: skip


@router.get("/events/mediator")
async def mediator_events(
    request: Request, identity: Identity = requires(Permission.HUB_MEDIATE)
) -> Response:
    mine = identity.account.id

    async def shape(event: LiveEvent) -> Mapping[str, object] | None:
        if event.payload.get("mediator_id") != mine:
            return None
        return redact(event.payload, identity)

    return stream(request, hub_of(request).bus, [TOPIC_INCIDENT], shape,
                  keepalive_s=_keepalive(request))  # fmt: skip
