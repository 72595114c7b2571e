"""The regional hub's messages to this site, as the incidents board shows them:
acknowledgements of the regional centre, mediator assignments and region-wide alerts
(stored in the site's inbox by the hub link; see ``adapters/hub_link/forwarder.py``).

A region-wide alert received within ``ALERT_BANNER`` is also shown as a banner. Staff
names (who acknowledged, which mediator) only for roles that see people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seuil.domain.hub import HubMessage, MessageKind
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity

ALERT_BANNER = timedelta(hours=24)
SHOWN = 20


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    kind: str
    at: datetime
    incident_id: str
    state: str  # a code for ``label("hub_state", ...)``
    who: str  # the regional agent or the mediator, "" when hidden
    title: str
    text: str


def _text(message: HubMessage, name: str) -> str:
    value = message.body.get(name)
    return "" if value is None else str(value)


def message_views(messages: list[HubMessage], identity: Identity) -> list[MessageView]:
    names = identity.can(Permission.VIEW_PEOPLE)
    views = []
    for m in messages[:SHOWN]:
        who = _text(m, "mediator") or _text(m, "by")
        views.append(MessageView(
            m.id, m.kind.value, m.at, _text(m, "incident_id"), _text(m, "state"),
            who if names else "", _text(m, "title"), _text(m, "text"),
        ))  # fmt: skip
    return views


def current_alert(messages: list[HubMessage], now: datetime) -> HubMessage | None:
    """The newest region-wide alert still recent enough for a banner."""
    for m in messages:  # newest first
        if m.kind is MessageKind.ALERT and now - m.at <= ALERT_BANNER:
            return m
    return None
