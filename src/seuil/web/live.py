"""Server-sent events: the live bus, filtered for one signed-in screen, over HTTP.

One stream per screen (``/events/...``, see ``routes/events.py``): the route picks the
topics its permission allows and a ``shape`` function that turns each bus event into
what this account may see (or None to skip it). The stream:

- resumes after a reconnection from the ``Last-Event-ID`` the browser sends (the bus
  keeps a short history); events the screen missed beyond it are announced with
  ``dropped`` so the page reloads its state from the database;
- numbers its events ``<origin>-<n>``, the bus's per-process origin and id: a browser
  that reconnects to another worker of the hub (or to a restarted site) sends an id
  this process never issued; so does one whose id the history has forgotten. It gets
  one ``resync`` event instead of a replay, and the page re-reads its state. The site
  and the hub share this one implementation;
- sends a comment every ``keepalive_s`` seconds, so proxies keep it open and a dead
  client is noticed;
- ends when the client goes away (the subscription is closed with it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import StreamingResponse

from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity

if TYPE_CHECKING:
    from seuil.adapters.live import LiveEvent, MemoryLiveBus

Shape = Callable[["LiveEvent"], Awaitable[Mapping[str, object] | None]]

# Fields that name a person or a member of staff: only for roles that see people.
PERSONAL_FIELDS = frozenset(
    {"acknowledged_by", "confirmed_by", "by", "recipient", "person_ref", "credential_id",
     "decided_by", "holder", "subject", "body"}
)  # fmt: skip
RETRY_MS = 2000


def redact(payload: Mapping[str, object], identity: Identity) -> dict[str, object]:
    """The payload without personal fields for a role that may not see people."""
    if identity.can(Permission.VIEW_PEOPLE):
        return dict(payload)
    return {k: v for k, v in payload.items() if k not in PERSONAL_FIELDS}


def last_event_id(request: Request) -> str | None:
    """The id the browser saw last, as sent (None on a first connection)."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or not raw.strip():
        return None
    return raw.strip()


def event_id(origin: str, number: int) -> str:
    return f"{origin}-{number}"


def own_number(raw: str, origin: str) -> int | None:
    """The bus's number in an id this process issued, or None (another origin, an older
    plain number, or anything else)."""
    prefix, _, number = raw.partition("-")
    if prefix != origin or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def frame(event_id: str, topic: str, data: Mapping[str, object]) -> str:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {event_id}\nevent: {topic}\ndata: {body}\n\n"


def stream(
    request: Request,
    bus: MemoryLiveBus,
    topics: Iterable[str],
    shape: Shape,
    *,
    keepalive_s: float,
) -> StreamingResponse:
    seen = last_event_id(request)
    after = None if seen is None else own_number(seen, bus.origin)
    wanted = list(topics)

    async def events() -> AsyncIterator[str]:
        async with bus.subscribe(wanted, after=after) as sub:
            yield f"retry: {RETRY_MS}\n: seuil\n\n"  # subscribed: nothing is missed from here
            if seen is not None and (after is None or not sub.complete):
                # not ours, or forgotten: no replay; the page re-reads, then resumes here
                yield frame(event_id(bus.origin, sub.position), "resync", {"resync": True})
            while True:
                event = await sub.get(timeout=keepalive_s)
                if event is None:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                data = await shape(event)
                number = event_id(bus.origin, event.id)
                if event.dropped:
                    yield frame(number, "dropped", {"dropped": event.dropped})
                if data is not None:
                    yield frame(number, event.topic, data)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )
