"""Notification ports: how an incident reaches people.

- a :class:`Notifier` delivers one message on one channel (e-mail, SMS, push). It
  raises :class:`~seuil.domain.errors.NotificationError` when it cannot; the caller
  (the notification dispatcher) keeps the message, retries transient failures and
  shows permanent ones as failed, so nothing is lost silently;
- a :class:`LiveBus` pushes events to connected screens (server-sent events). It never
  blocks and never raises: a screen that is not connected simply misses the push and
  reads the state from the database when it reconnects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Notifier(Protocol):
    @property
    def channel(self) -> str:  # "email", "sms", "push"
        ...

    def send(self, recipient: str, subject: str, body: str) -> None: ...


class LiveBus(Protocol):
    def publish(self, topic: str, payload: Mapping[str, object]) -> None: ...
