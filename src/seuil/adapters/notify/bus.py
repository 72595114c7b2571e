"""An in-process live bus: subscribers are called at once, in order, and never block
the publisher for long. The web layer subscribes its server-sent-event streams here;
``seuil incidents run`` logs what it publishes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

__all__ = ["InProcessBus", "Subscriber"]

log = logging.getLogger(__name__)

Subscriber = Callable[[str, Mapping[str, object]], None]


class InProcessBus:
    """A :class:`~seuil.ports.notify.LiveBus`: a subscriber's error is logged, never
    raised to the publisher (a screen that fails must not stop the incident engine)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Adds ``subscriber``; returns the function that removes it."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, topic: str, payload: Mapping[str, object]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(topic, payload)
            except Exception:
                log.exception("live bus subscriber failed on %s", topic)
