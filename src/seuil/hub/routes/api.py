"""The hub's API: events from the sites (site bearer token), messages back, the board
as JSON (staff token or session)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from seuil.domain.hub import MAX_BATCH_EVENTS, MAX_SEQ, EventKind
from seuil.domain.permissions import Permission
from seuil.hub.model import BatchFormatError, SiteCertificateError, SiteCredentialError
from seuil.hub.runtime import Hub
from seuil.hub.tls import certificate_site, issued_by, presented_certificate
from seuil.services.accounts import Identity
from seuil.web.auth import client_address, requires

logger = logging.getLogger(__name__)
router = APIRouter(tags=["sites"])


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _site_token(request: Request, site: str) -> str:
    """The site's bearer token, once the client certificate (if any) names ``site``."""
    _site_certificate(request, site)
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        logger.warning("hub api: no bearer token for site %r from %s", site[:32],
                       client_address(request))  # fmt: skip
        raise SiteCredentialError("jeton du site requis (site bearer token required)")
    return header[7:].strip()


def _site_certificate(request: Request, site: str) -> None:
    """Mutual TLS: the client certificate must name the site the request speaks for
    (its subject CN is the UAI), so site B's certificate cannot carry site A's token.
    Required when the hub asks for certificates; checked whenever one is presented."""
    options = request.app.state.options
    header = options.client_cert_header
    pem = presented_certificate(request.scope, request.headers, header)
    if pem is None:
        if options.site_certificates or header:
            logger.warning("hub api refused: no client certificate for site %r from %s",
                           site[:32], client_address(request))  # fmt: skip
            raise SiteCertificateError(
                "certificat client du site requis (site client certificate required)"
            )
        return
    cas = request.app.state.client_cas
    if cas and not issued_by(pem, cas, datetime.now(UTC)):
        logger.warning("hub api refused: client certificate for site %r not signed by the "
                       "sites' CA (or expired) from %s", site[:32],
                       client_address(request))  # fmt: skip
        raise SiteCertificateError(
            "certificat client non signé par l'autorité des sites, ou expiré (client "
            "certificate not signed by the sites' CA, or expired)"
        )
    named = certificate_site(pem)
    if named != site:
        logger.warning("hub api refused: client certificate of %r used for site %r from %s",
                       (named or "?")[:64], site[:32], client_address(request))  # fmt: skip
        raise SiteCertificateError(
            "le certificat client ne désigne pas ce site (the client certificate does not "
            "name this site)"
        )


# The batch's shape, for the OpenAPI document (the route reads the raw body itself, so
# that every refusal is logged and answered by the protocol's own checks).
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["site", "events"],
    "properties": {
        "site": {"type": "string", "maxLength": 32},
        "messages_after": {"type": "integer", "minimum": 0, "maximum": MAX_SEQ},
        "events": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH_EVENTS,
            "items": {
                "type": "object",
                "required": ["site", "seq", "key", "kind", "occurred_at", "body"],
                "properties": {
                    "site": {"type": "string"},
                    "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
                    "key": {"type": "string"},
                    "kind": {"type": "string", "enum": [k.value for k in EventKind]},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "body": {"type": "object"},
                },
            },
        },
    },
}


@router.post(
    "/sites/{site}/events",
    summary="Un lot d'événements d'un site (a site's batch)",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": _BATCH_SCHEMA}}}},
)  # fmt: skip
async def post_events(site: str, request: Request) -> JSONResponse:
    token = _site_token(request, site)
    client = client_address(request)
    hub = _hub(request)
    await run_in_threadpool(hub.ingest.authenticate, site, token, client)
    if not request.headers.get("content-type", "").startswith("application/json"):
        logger.warning("hub api: site %s sent %r, not JSON", site,
                       request.headers.get("content-type", "")[:60])  # fmt: skip
        raise BatchFormatError("le lot doit être en JSON (the batch must be JSON)")
    raw = await request.body()
    try:
        payload: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("hub api: site %s sent malformed JSON from %s (%s)", site, client,
                       type(exc).__name__)  # fmt: skip
        raise BatchFormatError("JSON illisible (malformed JSON)") from None
    result = await run_in_threadpool(hub.ingest.ingest, site, token, payload, client)
    return JSONResponse(result.to_wire())


@router.get("/sites/{site}/messages", summary="Messages du centre pour un site (hub messages)")
async def get_messages(
    site: str, request: Request, after: int = Query(0, ge=0, le=MAX_SEQ)
) -> JSONResponse:
    token = _site_token(request, site)
    found = await run_in_threadpool(
        _hub(request).ingest.messages, site, token, after, client_address(request)
    )
    return JSONResponse({"messages": [m.to_wire() for m in found]})


MAX_ANCHORS_PAGE = 5000


@router.get("/sites/{site}/anchors", summary="Ancres d'audit du site (its audit anchors)")
async def get_anchors(
    site: str,
    request: Request,
    after: int = Query(0, ge=0, le=MAX_SEQ),
    limit: int = Query(MAX_ANCHORS_PAGE, ge=1, le=MAX_ANCHORS_PAGE),
) -> JSONResponse:
    """The heads of the site's audit chain it sent (``audit.anchor`` events after event
    ``after``, oldest first): what the site checks its chain against."""
    token = _site_token(request, site)
    found = await run_in_threadpool(
        _hub(request).ingest.anchors, site, token, after, limit, client_address(request)
    )
    return JSONResponse({"anchors": [a.to_wire() for a in found]})


@router.get("/board", tags=["board"], summary="Le tableau régional (the regional board)")
def board(request: Request, identity: Identity = requires(Permission.HUB_VIEW)) -> JSONResponse:
    found = _hub(request).service.board(identity.account)
    return JSONResponse({
        "at": found.at.isoformat(),
        "sites": [
            {"site": r.site.id, "name": r.site.name, "status": r.status.value,
             "mode": r.site.mode, "link_ok": r.link_ok,
             "open_by_severity": {str(k): v for k, v in sorted(r.open_by_severity.items())},
             "oldest_open_at": r.oldest_open_at.isoformat() if r.oldest_open_at else None,
             "cameras_online": r.site.cameras_online, "cameras_total": r.site.cameras_total,
             "panels_silent": list(r.site.panels_silent), "high_water": r.site.high_water}
            for r in found.rows
        ],
        "incidents": [
            {"site": i.site, "incident_id": i.incident_id, "type": i.type,
             "severity": i.severity, "hub_status": i.hub_status.value,
             "site_status": i.site_status, "opened_at": i.opened_at.isoformat()}
            for i in _hub(request).service.incidents(identity.account)
        ],
    })  # fmt: skip
