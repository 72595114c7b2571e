"""Replay a local video file as if it were a camera (tests, demos, ``seuil bench gate``).

Three paces:

- ``realtime``: each frame is released at its own timestamp (times ``1 / speed``); a slow
  consumer loses frames exactly as it would with a camera (latest wins, drops counted);
- ``fast``: decode as fast as possible, latest wins (a stress test for the consumer);
- ``lockstep``: each frame waits until the previous one was taken: no frame is ever
  dropped, and the replay goes at the consumer's speed (deterministic tests, throughput).

With ``loop=True`` the file starts over at its end, frame indexes and timestamps going on;
otherwise the source ends (state ``ended``) after the last frame has been taken.
Decoding uses PyAV, like the network sources (see :mod:`.av_source`).
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from pathlib import Path

import av
import av.error

from seuil.adapters.cameras._decode import decoded_frames, rgb_converter, video_stream
from seuil.adapters.cameras._threaded import ThreadedSource
from seuil.domain.errors import ConfigurationError
from seuil.ports.clock import Clock
from seuil.ports.frames import FaultCallback, SourceState

__all__ = ["FileSource", "Pace"]

logger = logging.getLogger(__name__)


class Pace(StrEnum):
    REALTIME = "realtime"
    FAST = "fast"
    LOCKSTEP = "lockstep"


class FileSource(ThreadedSource):
    """Frames of a video file, decoded on a background thread."""

    def __init__(
        self,
        path: Path | str,
        camera_id: str = "replay",
        *,
        pace: Pace | str = Pace.REALTIME,
        speed: float = 1.0,
        loop: bool = False,
        clock: Clock | None = None,
        on_fault: FaultCallback | None = None,
    ) -> None:
        super().__init__(camera_id, clock=clock, on_fault=on_fault)
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigurationError(f"video file not found: {self.path}")
        if speed <= 0:
            raise ConfigurationError(f"replay speed must be positive, got {speed}")
        self.pace = Pace(pace)
        self.speed = speed
        self.loop = loop

    def _run(self) -> None:
        offset = 0.0  # seconds of video already played in earlier loops
        clock_start = time.monotonic()
        while not self._stopped:
            try:
                played = self._play_once(clock_start, offset)
            except (av.error.FFmpegError, LookupError, OSError) as exc:
                message = f"cannot decode {self.path.name!r}: {type(exc).__name__}"
                logger.warning("camera %s: %s", self.camera_id, message)
                self._set_state(SourceState.FAILED, message)
                break
            if played <= 0:
                self._set_state(SourceState.FAILED, f"{self.path.name!r} has no decodable frame")
                break
            if not self.loop or self._stopped:
                self._set_state(SourceState.ENDED)
                break
            offset += played
        self._slot.close(discard=False)

    def _play_once(self, clock_start: float, offset: float) -> float:
        """Play the file once; returns the duration played (0 when no frame decoded)."""
        with av.open(str(self.path)) as container:
            stream = video_stream(container, low_latency=False)
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            first: float | None = None
            last = 0.0
            count = 0
            for frame in decoded_frames(container, stream, self._corrupt_frame):
                at = frame.time if frame.time is not None else count / rate
                first = at if first is None else first
                last = at - first
                count += 1
                if self.pace is Pace.REALTIME:
                    due = clock_start + (offset + last) / self.speed
                    if self._sleep(due - time.monotonic()):
                        break
                if self._stopped:
                    break
                self._set_state(SourceState.STREAMING)
                self._offer(
                    rgb_converter(frame),
                    frame.width,
                    frame.height,
                    lockstep=self.pace is Pace.LOCKSTEP,
                )
        return last + 1.0 / rate if count else 0.0
