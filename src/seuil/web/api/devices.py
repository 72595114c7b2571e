"""Devices that call a URL: webhooks (panic buttons, sensors) and badge readers.

These two routes are not for staff: each device authenticates with its own token
(``Authorization: Bearer``), checked by the device gateway or the badge endpoint of the
running site (constant-time, hashed at rest), not by a staff session; so no CSRF either
(a browser never sends that header on its own). Without a running gateway, every
device is unknown (404).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from seuil.web.api.schemas import DeviceReply
from seuil.web.runtime import BadgeReply
from seuil.web.site_access import runtime_of

router = APIRouter(tags=["devices"])
MAX_BODY = 64 * 1024

_REPLIES: dict[int | str, dict[str, Any]] = {
    code: {"model": DeviceReply, "description": text}
    for code, text in (
        (400, "unreadable or invalid body"), (401, "token refused"),
        (404, "unknown device or gate"), (413, "body too large"),
        (429, "too many messages"),
    )
}  # fmt: skip


def _json_body(description: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"type": "object"}}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def _reply(reply: BadgeReply) -> JSONResponse:
    body = {"code": str(reply.body.get("code", "")), "message": str(reply.body.get("message", ""))}
    return JSONResponse(body, status_code=reply.status)


def _unknown(what: str) -> JSONResponse:
    return JSONResponse({"code": "unknown_device",
                         "message": f"{what} inconnu sur ce site (unknown on this site)"},
                        status_code=404)  # fmt: skip


def _too_large() -> JSONResponse:
    return JSONResponse({"code": "too_large", "message": "message trop long (body too large)"},
                        status_code=413)  # fmt: skip


@router.post(
    "/devices/{device_id}/signal", status_code=202, response_model=DeviceReply,
    responses=_REPLIES, openapi_extra=_json_body("the event JSON (docs/mqtt.md)"),
    summary="A device's event (webhook; the device's own bearer token)",
)  # fmt: skip
async def device_signal(request: Request, device_id: str) -> JSONResponse:
    webhook = runtime_of(request).webhook
    if webhook is None:
        return _unknown("équipement")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _too_large()
    kind = request.headers.get("content-type", "")
    reply = await run_in_threadpool(webhook, device_id, _token(request), body, kind)
    return _reply(reply)


@router.post(
    "/gates/{gate_id}/badge", status_code=202, response_model=DeviceReply,
    responses=_REPLIES, openapi_extra=_json_body('{"number": "1234567"} or {"wiegand": ...}'),
    summary="A badge read at a gate (the reader's own bearer token)",
)  # fmt: skip
async def badge_read(request: Request, gate_id: str) -> JSONResponse:
    badge = runtime_of(request).badge
    if badge is None:
        return _unknown("portique")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _too_large()
    reply = await run_in_threadpool(badge, gate_id, _token(request), body)
    return _reply(reply)
