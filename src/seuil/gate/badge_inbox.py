"""A gate's inbox of badge numbers from external readers (Wiegand boards, HTTP readers).

Readers run on their own threads (an HTTP handler, a serial listener); the gate's lane
takes one number at a time and checks it exactly as it checks a QR read in the frames.
The inbox is small and short-lived: a number waits at most ``max_age_s`` (a badge
shown 5 s ago is not a presentation any more), and a reader that sends more than its
``max_per_minute`` is a broken or abused reader: its numbers are refused and the lane
records one device fault per minute for it. Each reader has its own limit
(``per_reader``, from ``readers[].max_per_minute`` of the site file); a reader not
listed there gets ``max_per_minute``.

Numbers are digits only (1 to 20): anything else is refused before it is queued.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from enum import StrEnum

__all__ = ["BadgeInbox", "Posted", "valid_badge_number"]

MAX_DIGITS = 20


class Posted(StrEnum):
    ACCEPTED = "accepted"
    FULL = "full"  # the lane is not keeping up: the reader should ask for a new read
    RATE_LIMITED = "rate_limited"  # more than max_per_minute from this reader


def valid_badge_number(number: object) -> bool:
    return (
        isinstance(number, str)
        and 0 < len(number) <= MAX_DIGITS
        and number.isascii()
        and number.isdigit()
    )


class BadgeInbox:
    """Thread-safe queue of badge numbers for one gate (``put`` from any thread)."""

    def __init__(
        self,
        gate_id: str,
        *,
        capacity: int = 8,
        max_per_minute: int = 30,
        max_age_s: float = 5.0,
        per_reader: Mapping[str, int] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        limits = dict(per_reader or {})
        if capacity < 1 or max_age_s <= 0 or min([max_per_minute, *limits.values()]) < 1:
            raise ValueError("capacity, max_per_minute and max_age_s must be positive")
        self.gate_id = gate_id
        self.capacity = capacity
        self.max_per_minute = max_per_minute
        self.per_reader = limits
        self.max_age_s = max_age_s
        self._now = monotonic
        self._lock = threading.Lock()
        self._queue: deque[tuple[float, str]] = deque()
        self._recent: dict[str, deque[float]] = {}  # reader -> times of its last reads
        self._faulty: dict[str, float] = {}  # reader -> when its fault was last reported
        self._faults: deque[str] = deque()

    def put(self, number: str, reader_id: str = "") -> Posted:
        """Queue a badge number read by ``reader_id``; ValueError if it is not a number."""
        if not valid_badge_number(number):
            raise ValueError("a badge number is 1 to 20 digits")
        with self._lock:
            now = self._now()
            times = self._recent.setdefault(reader_id, deque())
            while times and now - times[0] >= 60.0:
                times.popleft()
            times.append(now)
            if len(times) > self.limit(reader_id):
                last = self._faulty.get(reader_id)
                if last is None or now - last >= 60.0:
                    self._faulty[reader_id] = now
                    self._faults.append(reader_id)
                return Posted.RATE_LIMITED
            self._drop_stale(now)
            if len(self._queue) >= self.capacity:
                return Posted.FULL
            self._queue.append((now, number))
            return Posted.ACCEPTED

    def limit(self, reader_id: str) -> int:
        """How many reads a minute ``reader_id`` may send."""
        return self.per_reader.get(reader_id, self.max_per_minute)

    def take(self) -> str | None:
        """The oldest number still fresh, or None."""
        with self._lock:
            self._drop_stale(self._now())
            return self._queue.popleft()[1] if self._queue else None

    def take_fault(self) -> str | None:
        """A reader that went over its rate (reported once a minute), or None."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def _drop_stale(self, now: float) -> None:
        while self._queue and now - self._queue[0][0] >= self.max_age_s:
            self._queue.popleft()
