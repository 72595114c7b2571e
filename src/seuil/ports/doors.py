"""The door (or turnstile) port: what a gate asks of whatever opens its lane.

A door never stays open on seuil's say-so: the normal command is :meth:`Door.pulse`,
which unlocks for a configured time and lets the door relock by itself. Only fire
egress uses :meth:`Door.release`, which holds it unlocked until :meth:`Door.lock`.

Every method raises :class:`~seuil.domain.errors.DeviceError` when the door cannot be
reached, refuses the command or does not acknowledge it in time. A failure is itself
an event: the caller turns it into a DOOR_FAULT alert (``domain.lane``) and never
retries a pulse on its own (a pulse that timed out may have opened the door).

Methods block for at most the adapter's timeout; callers on an event loop run them
through the worker bridge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from seuil.domain.lane import DoorState

__all__ = ["Door", "DoorState", "StatePushingDoor"]


@runtime_checkable
class Door(Protocol):
    """One door, relay or turnstile."""

    @property
    def name(self) -> str:
        """The door's id in the site configuration (safe to log)."""
        ...

    def pulse(self, duration_s: float) -> None:
        """Unlock for ``duration_s`` seconds, then relock. Sent once, never retried."""
        ...

    def lock(self) -> None:
        """Lock now (ends a pulse or a release)."""
        ...

    def release(self) -> None:
        """Fire egress: unlock until :meth:`lock`. Recorded by the caller."""
        ...

    def state(self) -> DoorState:
        """The door's observed state; UNKNOWN if the device cannot say."""
        ...


@runtime_checkable
class StatePushingDoor(Door, Protocol):
    """A door that pushes its state changes (an MQTT door): a lane follows the pushes
    instead of asking the door at every poll.

    ``on_state`` is called with every change the door reports on its own, in order, from
    the adapter's network thread (keep it short, send no command from it).
    """

    on_state: Callable[[DoorState], None] | None

    def pushed_state(self) -> DoorState | None:
        """The door's state as last pushed or acknowledged on the live link; None while
        the link is down or nothing was heard since it came up (then ask: ``state()``)."""
        ...
