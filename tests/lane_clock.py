"""The lanes' two clocks for tests: the site's wall clock and a monotonic one.

Both advance together; only the wall clock jumps (NTP, someone at the settings). One
class for the lane tests (unit, real video, real broker), which had three copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 30, 7, 55, tzinfo=UTC)


class LaneClock:
    def __init__(self, start: datetime = T0) -> None:
        self.t = start
        self.m = 0.0

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        self.m += seconds

    def jump(self, seconds: float) -> None:
        """The wall clock is set: monotonic time is not."""
        self.t += timedelta(seconds=seconds)

    def mono(self) -> float:
        return self.m
