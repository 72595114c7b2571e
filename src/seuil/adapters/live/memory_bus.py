"""An in-process live bus: gate threads and services publish, SSE streams subscribe.

Publishing is thread-safe, never blocks and never raises (a gate lane must not wait on
a slow browser). Each subscriber has a bounded queue on its own event loop; when a
screen falls behind, its oldest events are dropped and counted, and the screen is told
(``dropped`` on the next event) so it reloads the state from the database. A short
history lets a reconnecting screen resume from its ``Last-Event-ID``.

Ids are numbered per bus, that is per process, and restart at 1 with it; each bus has a
random ``origin`` that the streams put in front of the ids they send. A subscription
that asks to resume after an id this bus cannot vouch for (issued by another process,
before a restart, or older than the history) gets no backlog and is marked not
``complete``: the stream then tells the page to re-read its state (``resync``) rather
than replay a wrong or partial history.

One process only: the site runs its web app, gates and incident engine in one process
(the embedded default). The regional hub, which may run several processes, puts
PostgreSQL LISTEN/NOTIFY in front of it (``seuil.adapters.live.pg_notify``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveEvent:
    id: int  # increasing, per bus
    topic: str  # e.g. "gate.decision", "incident.opened", "ppms.mode"
    payload: Mapping[str, object]
    published_at: float  # time.monotonic(), for delivery-latency measurements
    dropped: int = 0  # events this subscriber lost just before this one


class Subscription:
    """One screen's stream. Use ``async with bus.subscribe(...) as sub: async for e in sub``."""

    def __init__(self, bus: MemoryLiveBus, topics: frozenset[str] | None, queue_size: int) -> None:
        self._bus = bus
        self._topics = topics
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[LiveEvent] = asyncio.Queue(maxsize=queue_size)
        self._dropped = 0
        self.closed = False
        self.position = 0  # the bus's last id when subscribing: later ones reach this queue
        self.complete = True  # False: asked to resume from an id the history cannot cover

    def wants(self, topic: str) -> bool:
        if self._topics is None:
            return True
        return topic in self._topics or topic.split(".", 1)[0] in self._topics

    def _offer(self, event: LiveEvent) -> None:
        """On the subscriber's loop: queue the event, dropping the oldest when full."""
        if self.closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self._dropped += 1
        self._queue.put_nowait(event)

    def deliver(self, event: LiveEvent) -> None:
        """From any thread."""
        try:
            self._loop.call_soon_threadsafe(self._offer, event)
        except RuntimeError:  # the subscriber's loop is closed: it is gone
            self.closed = True

    async def get(self, timeout: float | None = None) -> LiveEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds (for keep-alives)."""
        try:
            return self._told(await asyncio.wait_for(self._queue.get(), timeout))
        except TimeoutError:
            return None

    def _told(self, event: LiveEvent) -> LiveEvent:
        """The event, carrying the count of older events dropped since the last read."""
        if not self._dropped:
            return event
        dropped, self._dropped = self._dropped, 0
        return replace(event, dropped=dropped)

    def __aiter__(self) -> AsyncIterator[LiveEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[LiveEvent]:
        while not self.closed:
            yield self._told(await self._queue.get())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        self._bus._remove(self)


class MemoryLiveBus:
    """Implements :class:`seuil.ports.notify.LiveBus` for one process."""

    def __init__(self, queue_size: int = 256, history: int = 512) -> None:
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self.origin = secrets.token_hex(4)  # this bus's (process's) ids, told from others'
        self._ids = itertools.count(1)
        self._last = 0
        self._history: deque[LiveEvent] = deque(maxlen=history)
        self._queue_size = queue_size
        self._listeners: list[Callable[[str, Mapping[str, object]], None]] = []

    def listen(self, listener: Callable[[str, Mapping[str, object]], None]) -> Callable[[], None]:
        """A synchronous listener, called on the publisher's thread (keep it short: a
        log line); its errors are logged. Returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def publish(self, topic: str, payload: Mapping[str, object]) -> None:
        try:
            with self._lock:
                event = LiveEvent(next(self._ids), topic, dict(payload), time.monotonic())
                self._last = event.id
                self._history.append(event)
                subs = [s for s in self._subs if s.wants(topic)]
                listeners = list(self._listeners)
            for sub in subs:
                sub.deliver(event)
            for listener in listeners:
                try:
                    listener(topic, event.payload)
                except Exception:
                    log.exception("live bus listener failed on %s", topic)
        except Exception:  # never let a screen problem reach a gate or an incident
            log.exception("live event %s not published", topic)

    def subscribe(
        self, topics: Iterable[str] | None = None, *, after: int | None = None
    ) -> Subscription:
        """A new subscription on the running event loop; with ``after`` (this bus's id of
        the last event a screen saw), the events published since then are queued first,
        provided the history still holds every one of them; otherwise (an id this bus
        never issued, or one the history has forgotten) nothing is queued and the
        subscription is not ``complete``."""
        sub = Subscription(self, None if topics is None else frozenset(topics), self._queue_size)
        with self._lock:
            self._subs.append(sub)
            sub.position = self._last
            sub.complete = after is None or self._covers(after)
            backlog = [e for e in self._history if sub.complete and after is not None
                       and e.id > after]  # fmt: skip
        for event in backlog:
            if sub.wants(event.topic):
                sub._offer(event)
        return sub

    def _covers(self, after: int) -> bool:
        """Whether every event after ``after`` is still in the history (under the lock)."""
        if after < 0 or after > self._last:
            return False  # never issued here: another process's, or before a restart
        oldest = self._history[0].id if self._history else self._last + 1
        return after >= oldest - 1

    def recent(self, topic_prefix: str = "", limit: int = 50) -> list[LiveEvent]:
        with self._lock:
            events = [e for e in self._history if e.topic.startswith(topic_prefix)]
        return events[-limit:]

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
