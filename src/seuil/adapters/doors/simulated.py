"""An in-memory door for tests and the demo, with an observable history.

It behaves like a real electric strike: a pulse unlocks it for a while, then it relocks
by itself; a person can open it while it is unlocked (or force it while it is locked),
and it reports FORCED and HELD_OPEN like a door controller with a contact would.
``unreachable = True`` makes every command fail as a door off the network would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from seuil.domain.errors import DeviceError
from seuil.domain.lane import DoorAction, DoorState
from seuil.ports.clock import Clock, SystemClock

__all__ = ["DoorCall", "SimulatedDoor"]

MAX_PULSE_S = 30.0


@dataclass(frozen=True, slots=True)
class DoorCall:
    """One command as the door received it (``ok=False``: it failed)."""

    at: datetime
    action: DoorAction
    duration_s: float | None = None
    ok: bool = True


class SimulatedDoor:
    def __init__(self, name: str, clock: Clock | None = None, held_open_s: float = 30.0) -> None:
        self._name = name
        self._clock = clock or SystemClock()
        self.held_open_s = held_open_s
        self.unreachable = False
        self.history: list[DoorCall] = []
        self._lock = threading.Lock()
        self._unlocked_until: datetime | None = None
        self._released = False
        self._opened_at: datetime | None = None
        self._forced = False

    @property
    def name(self) -> str:
        return self._name

    # -- the port -------------------------------------------------------------------------

    def pulse(self, duration_s: float) -> None:
        if not 0 < duration_s <= MAX_PULSE_S:
            raise DeviceError(
                f"door {self._name}: a pulse lasts more than 0 and at most {MAX_PULSE_S:g} s",
                self._name,
            )
        with self._lock:
            now = self._command(DoorAction.PULSE, duration_s)
            self._unlocked_until = now + timedelta(seconds=duration_s)

    def lock(self) -> None:
        with self._lock:
            self._command(DoorAction.LOCK)
            self._unlocked_until = None
            self._released = False

    def release(self) -> None:
        with self._lock:
            self._command(DoorAction.RELEASE)
            self._released = True

    def state(self) -> DoorState:
        with self._lock:
            if self.unreachable:
                raise DeviceError(f"door {self._name} is unreachable", self._name)
            if self._opened_at is None:
                return DoorState.CLOSED
            if self._forced:
                return DoorState.FORCED
            if self._clock.now() - self._opened_at >= timedelta(seconds=self.held_open_s):
                return DoorState.HELD_OPEN
            return DoorState.OPEN

    # -- the physical world (for tests and the demo) ---------------------------------------

    @property
    def unlocked(self) -> bool:
        with self._lock:
            return self._is_unlocked(self._clock.now())

    def push(self) -> DoorState:
        """Somebody opens the door: forced if it was locked."""
        with self._lock:
            now = self._clock.now()
            if self._opened_at is None:
                self._opened_at = now
                self._forced = not self._is_unlocked(now)
        return self.state()

    def close(self) -> None:
        with self._lock:
            self._opened_at = None
            self._forced = False

    def calls(self, action: DoorAction | None = None) -> list[DoorCall]:
        """The history, optionally of one action only."""
        with self._lock:
            return [c for c in self.history if action is None or c.action is action]

    # -- helpers ----------------------------------------------------------------------------

    def _is_unlocked(self, now: datetime) -> bool:
        return self._released or (self._unlocked_until is not None and now < self._unlocked_until)

    def _command(self, action: DoorAction, duration_s: float | None = None) -> datetime:
        now = self._clock.now()
        ok = not self.unreachable
        self.history.append(DoorCall(now, action, duration_s, ok))
        if not ok:
            raise DeviceError(f"door {self._name} is unreachable ({action} not sent)", self._name)
        return now
