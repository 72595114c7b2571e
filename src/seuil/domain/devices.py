"""Devices of the site and their supervision. Standard library only.

A :class:`Device` is anything that sends signals or takes commands: alarm panels, panic
buttons, call posts, sensors, cameras, doors, gates. A supervised device promises a
message at least every ``supervision_interval_s`` seconds (a periodic test, a
heartbeat, or any signal); :func:`silent_devices` lists those that broke the promise,
from stored timestamps only, and each silence is reported once: ``silent_since`` is
set when it is, and cleared when the device is heard again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from seuil.domain.incidents import IncidentType

__all__ = ["Device", "DeviceKind", "guess_kind", "silent_devices"]


class DeviceKind(StrEnum):
    ALARM_PANEL = "alarm_panel"
    PANIC_BUTTON = "panic_button"
    CALL_POST = "call_post"
    SENSOR = "sensor"
    CAMERA = "camera"
    DOOR = "door"
    GATE = "gate"


def _aware(at: datetime | None, what: str) -> None:
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError(f"{what} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: DeviceKind
    zone: str = ""
    label: str = ""
    supervision_interval_s: float | None = None  # None: not supervised
    last_seen: datetime | None = None
    health: str = ""  # the last fault reported, in words ("" when healthy)
    registered_at: datetime | None = None  # counts as "last seen" until first heard
    silent_since: datetime | None = None  # when its current silence was reported

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValueError("a device needs an id")
        if self.supervision_interval_s is not None and self.supervision_interval_s <= 0:
            raise ValueError("a supervision interval is a positive number of seconds")
        _aware(self.last_seen, "a device's last_seen")
        _aware(self.registered_at, "a device's registration time")
        _aware(self.silent_since, "a device's silence time")

    @property
    def reference_time(self) -> datetime | None:
        """Since when silence is counted: the last message, else the registration."""
        return self.last_seen or self.registered_at

    def deadline(self) -> datetime | None:
        """When the device becomes silent if nothing arrives (None: unsupervised)."""
        ref = self.reference_time
        if self.supervision_interval_s is None or ref is None:
            return None
        return ref + timedelta(seconds=self.supervision_interval_s)

    def seen(self, at: datetime) -> Device:
        """A message arrived at ``at``: last seen moves forward (never back), and a
        reported silence ends once the new deadline passes the time it was reported (a
        replayed old message does not end it)."""
        _aware(at, "a message time")
        last = at if self.last_seen is None else max(self.last_seen, at)
        silent = self.silent_since
        interval = self.supervision_interval_s
        covered = interval is None or last + timedelta(seconds=interval) >= (silent or last)
        if silent is not None and covered:
            silent = None
        return replace(self, last_seen=last, silent_since=silent)

    def reported_silent(self, at: datetime) -> Device:
        return replace(self, silent_since=at)


def silent_devices(devices: Iterable[Device], now: datetime) -> list[Device]:
    """Supervised devices past their deadline whose silence is not yet reported (by id).

    Strictly past: a message exactly on the deadline is on time.
    """
    _aware(now, "now")
    found = [
        d
        for d in devices
        if d.silent_since is None and (deadline := d.deadline()) is not None and now > deadline
    ]
    return sorted(found, key=lambda d: d.id)


_KIND_BY_TYPE = {
    IncidentType.DENY_REVOKED: DeviceKind.GATE,
    IncidentType.DENY_MISMATCH: DeviceKind.GATE,
    IncidentType.LIVENESS_FAILURE: DeviceKind.GATE,
    IncidentType.TAILGATING: DeviceKind.GATE,
    IncidentType.DOOR_FORCED: DeviceKind.DOOR,
    IncidentType.DOOR_HELD_OPEN: DeviceKind.DOOR,
    IncidentType.CAMERA_OFFLINE: DeviceKind.CAMERA,
}


def guess_kind(signal_type: IncidentType) -> DeviceKind:
    """The kind of an unregistered device, from the first signal it sent."""
    return _KIND_BY_TYPE.get(signal_type, DeviceKind.ALARM_PANEL)
