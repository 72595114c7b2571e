"""Frame sources: what a camera (or a replayed video file) gives the gate pipeline.

A source decodes on its own background thread and keeps only the newest frame: when the
gate falls behind, older undelivered frames are dropped (and counted), never queued
without bound, so the gate always works on what the camera sees *now*.

Faults (a camera that disconnects, stalls, sends corrupt frames or changes resolution)
are reported twice: as :class:`DeviceFault` events passed to a callback the moment they
happen, and as counters in :meth:`FrameSource.health`, which the gate screen and the
regional hub poll. A source never raises because the camera misbehaves; it reconnects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from seuil.ports.face import RGBImage


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded frame.

    ``index`` counts the frames the source decoded since it started (0-based, dropped
    frames included, so a gap between two delivered frames is the number dropped).
    ``monotonic`` is ``time.monotonic()`` when the frame was decoded: use it for
    latencies and frame rates; ``wall_time`` (timezone-aware, from the injected clock)
    is for events. ``image`` is ``uint8`` RGB, shape ``(H, W, 3)``, C-contiguous; treat
    it as read-only (it may be shared with other consumers).
    """

    camera_id: str
    index: int
    monotonic: float
    wall_time: datetime
    image: RGBImage

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


class SourceState(StrEnum):
    """Where a source stands; ``health().state``."""

    STOPPED = "stopped"  # not started yet, or stopped by its owner
    CONNECTING = "connecting"  # opening the stream (first time or after a fault)
    STREAMING = "streaming"  # frames are arriving
    STALLED = "stalled"  # connected, but no frame for longer than the stall timeout
    DISCONNECTED = "disconnected"  # lost or refused; waiting before the next attempt
    FAILED = "failed"  # gave up: the configuration cannot work (bad URL, missing file)
    ENDED = "ended"  # a replayed file reached its end (and does not loop)


class DeviceFaultKind(StrEnum):
    DISCONNECTED = "disconnected"
    STALLED = "stalled"
    CORRUPT_FRAMES = "corrupt_frames"
    RESOLUTION_CHANGED = "resolution_changed"


@dataclass(frozen=True, slots=True)
class DeviceFault:
    """Something went wrong with a camera; the source carries on (reconnects, skips).

    ``detail`` is for people and logs: it never holds a URL with credentials.
    """

    camera_id: str
    kind: DeviceFaultKind
    at: datetime
    detail: str


FaultCallback = Callable[[DeviceFault], None]
"""Called on the source's own thread: keep it short and thread-safe (for asyncio, hand
the fault over with ``loop.call_soon_threadsafe``). Its exceptions are logged, not raised."""


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """Counters since the source started; ``resolution`` is (width, height) or None."""

    state: SourceState
    frames: int  # frames decoded and offered (delivered or dropped)
    dropped: int  # decoded frames replaced by a newer one before anyone took them
    corrupt: int  # packets or frames that did not decode, skipped
    reconnects: int  # successful re-openings after a fault
    last_error: str | None
    resolution: tuple[int, int] | None


@runtime_checkable
class FrameSource(Protocol):
    """A camera or a replayed video: frames decoded off the caller's thread."""

    @property
    def camera_id(self) -> str: ...

    def start(self) -> None:
        """Start decoding in the background; returns at once. Idempotent."""

    def latest(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet delivered, waiting up to ``timeout`` seconds for one.

        Returns None on timeout, or at once when the source is stopped, ended or failed.
        Blocking: call it from a worker thread, never on an asyncio event loop.
        """

    def stop(self) -> None:
        """Stop decoding and release the device or connection. Idempotent."""

    def health(self) -> SourceHealth:
        """A snapshot of the state and counters; cheap, callable from any thread."""
