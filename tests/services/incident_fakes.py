"""Test doubles for the incident engine: a clock to move by hand, a bus, doors, notifiers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from seuil.domain.errors import DeviceError, EntranceCommandError, NotificationError

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = T0) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> datetime:
        self.at += timedelta(seconds=seconds)
        return self.at


class RecordingBus:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, object]]] = []

    def publish(self, topic: str, payload: Mapping[str, object]) -> None:
        self.messages.append((topic, dict(payload)))

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.messages]

    def of(self, topic: str) -> list[dict[str, object]]:
        return [payload for t, payload in self.messages if t == topic]


class FakeDoors:
    """Every door takes every command, except those listed in ``broken``; all are tried."""

    def __init__(self, doors: tuple[str, ...] = ("portail", "hall", "cantine"),
                 broken: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.doors = doors
        self.broken = set(broken)
        self.commands: list[tuple[str, str]] = []  # (command, door) taken
        self.calls: list[str] = []

    def _all(self, command: str) -> None:
        self.calls.append(command)
        failures = []
        for door in self.doors:
            if door in self.broken:
                failures.append(DeviceError(f"{door}: no answer", door))
            else:
                self.commands.append((command, door))
        if failures:
            raise EntranceCommandError(f"{len(failures)} door(s) failed", tuple(failures))

    def lock_entrances(self) -> None:
        self._all("lock")

    def release_egress(self) -> None:
        self._all("release")

    def restore_normal(self) -> None:
        self._all("normal")

    def state_of(self, door: str) -> str | None:
        taken = [command for command, d in self.commands if d == door]
        return taken[-1] if taken else None


class ScriptedNotifier:
    """Fails as told (a list of errors, consumed one per attempt), then delivers."""

    def __init__(self, channel: str = "email",
                 errors: list[NotificationError] | None = None) -> None:  # fmt: skip
        self._channel = channel
        self.errors = list(errors or [])
        self.sent: list[tuple[str, str, str]] = []

    @property
    def channel(self) -> str:
        return self._channel

    def send(self, recipient: str, subject: str, body: str) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((recipient, subject, body))


def failing_uow(make: Callable[[], object], down: Callable[[], bool]) -> Callable[[], object]:
    """A unit-of-work factory whose units raise StorageUnavailableError while ``down()``."""
    from seuil.domain.errors import StorageUnavailableError

    class _Down:
        def __enter__(self) -> object:
            raise StorageUnavailableError("cannot reach the database (test outage)")

        def __exit__(self, *exc: object) -> None:
            return None

    def factory() -> object:
        return _Down() if down() else make()

    return factory
