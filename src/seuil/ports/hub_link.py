"""The site's side of the hub link, as the use cases see it: an outbox and an inbox.

A use case that changes something the region must know (an incident, the PPMS mode, a
gate denial) calls ``uow.outbox.add(kind, at, body)`` in the SAME unit of work as the
change: both commit together or not at all, so the hub never hears of a change the
site rolled back and never misses one it kept. Bodies are built with the builders of
:mod:`seuil.domain.hub` (the allow-list); people only as ``uow.outbox.pseudonym(ref)``.
When the site has no hub link configured the outbox is disabled and ``add`` returns
``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from seuil.domain.hub import Envelope, EventKind, HubMessage


class Outbox(Protocol):
    @property
    def enabled(self) -> bool: ...
    def add(
        self, kind: EventKind, occurred_at: datetime, body: Mapping[str, Any]
    ) -> Envelope | None: ...
    def pseudonym(self, value: str) -> str: ...


class HubInbox(Protocol):
    """Messages received from the hub (acknowledgements, assignments, region alerts)."""

    def add(self, messages: Sequence[HubMessage], received_at: datetime) -> int: ...
    def last_id(self) -> int: ...
    def recent(self, limit: int = 50) -> list[HubMessage]: ...
