"""Every door of the site commanded at once, for the PPMS (an EntranceCommander).

Each door is tried, in order, whatever the others did; the failures are raised
together afterwards (:class:`EntranceCommandError`), so one dead relay never leaves
the rest of the site in the previous mode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from seuil.domain.errors import DeviceError, EntranceCommandError
from seuil.ports.doors import Door

__all__ = ["DoorsCommander"]

log = logging.getLogger(__name__)


class DoorsCommander:
    """Normal operation is "locked" (gates pulse their doors per decision)."""

    def __init__(self, doors: Iterable[Door]) -> None:
        self._doors = list(doors)

    @property
    def doors(self) -> list[str]:
        return [door.name for door in self._doors]

    def lock_entrances(self) -> None:
        self._each("lock", lambda door: door.lock())

    def release_egress(self) -> None:
        self._each("release", lambda door: door.release())

    def restore_normal(self) -> None:
        self._each("lock", lambda door: door.lock())

    def _each(self, what: str, command: Callable[[Door], None]) -> None:
        failures: list[DeviceError] = []
        for door in self._doors:
            try:
                command(door)
            except DeviceError as error:
                failures.append(error if error.device else DeviceError(error.message, door.name))
            except Exception as error:  # an adapter bug: reported like a device failure
                log.exception("door %s: %s failed", door.name, what)
                failures.append(DeviceError(f"{type(error).__name__}: {error}", door.name))
        if failures:
            names = ", ".join(f.device for f in failures)
            raise EntranceCommandError(
                f"{len(failures)} of {len(self._doors)} door(s) did not {what}: {names}",
                tuple(failures),
            )
