"""What every frame source shares: a decode thread, a one-frame mailbox, health, faults.

Subclasses implement :meth:`ThreadedSource._run` (the decode loop, on the source's own
thread) and call the ``_offer``/``_corrupt``/``_fault``/``_set_state`` helpers. Frames are
offered *before* their conversion to RGB (see :class:`PendingFrame`): when the gate takes
one frame in three, the other two are never converted, which saves a few milliseconds
of CPU per 1280x720 frame.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from seuil.adapters.cameras.urls import scrub
from seuil.ports.clock import Clock, SystemClock
from seuil.ports.face import RGBImage
from seuil.ports.frames import (
    DeviceFault,
    DeviceFaultKind,
    FaultCallback,
    Frame,
    SourceHealth,
    SourceState,
)

logger = logging.getLogger(__name__)

CORRUPT_FAULT_INTERVAL_S = 10.0  # at most one corrupt-frames fault per camera per interval
JOIN_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class PendingFrame:
    """A decoded frame waiting in the mailbox; ``convert`` makes its RGB image."""

    index: int
    monotonic: float
    wall_time: datetime
    convert: Callable[[], RGBImage]


class FrameSlot:
    """A mailbox for one frame: a newer frame replaces an undelivered one (counted)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: PendingFrame | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: PendingFrame, *, wait_empty: threading.Event | None = None) -> None:
        """Store ``item``; with ``wait_empty`` (a stop event), first wait until taken."""
        with self._cond:
            if wait_empty is not None:
                while self._item is not None and not self._closed and not wait_empty.is_set():
                    self._cond.wait(0.1)
            if self._closed:
                return
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def take(self, timeout: float | None) -> PendingFrame | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._item is None and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self, *, discard: bool) -> None:
        """No more frames; ``take`` still returns the last one unless ``discard``."""
        with self._cond:
            self._closed = True
            if discard:
                self._item = None
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False
            self._item = None


class ThreadedSource:
    """Base of the frame sources: implements the :class:`~seuil.ports.frames.FrameSource`
    protocol around a subclass's ``_run`` loop."""

    def __init__(
        self, camera_id: str, *, clock: Clock | None = None, on_fault: FaultCallback | None = None
    ) -> None:
        self._camera_id = camera_id
        self._clock = clock or SystemClock()
        self._on_fault = on_fault
        self._slot = FrameSlot()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state = SourceState.STOPPED
        self._frames = 0
        self._corrupt = 0
        self._reconnects = 0
        self._last_error: str | None = None
        self._resolution: tuple[int, int] | None = None
        self._corrupt_unreported = 0
        self._last_corrupt_fault = -float("inf")
        self._last_delivered: Frame | None = None

    # -- the FrameSource protocol --------------------------------------------------------

    @property
    def camera_id(self) -> str:
        return self._camera_id

    def start(self) -> None:
        previous = self._thread
        if previous is not None and previous.is_alive():
            if not self._stopping.is_set():
                return  # already running
            previous.join()  # stopped, but its last blocking read has not timed out yet
        with self._lock:
            self._stopping.clear()
            self._slot.reopen()
            self._state = SourceState.CONNECTING
            self._thread = threading.Thread(
                target=self._run_guarded, name=f"seuil-camera-{self._camera_id}", daemon=True
            )
            self._thread.start()

    def latest(self, timeout: float | None = None) -> Frame | None:
        pending = self._slot.take(timeout)
        if pending is None:
            return None
        try:
            image = pending.convert()
        except Exception as exc:  # a frame that decoded but does not convert: skip it
            self._corrupt_frame(f"frame {pending.index} did not convert to RGB: {exc}")
            return None
        frame = Frame(
            self._camera_id,
            pending.index,
            pending.monotonic,
            pending.wall_time,
            np.ascontiguousarray(image, dtype=np.uint8),
        )
        self._last_delivered = frame
        return frame

    def last_delivered(self) -> Frame | None:
        """The newest frame :meth:`latest` handed out (to whoever), without taking one: a
        second reader (an enrolment capture) sees what the gate sees without starving
        it. Memory only; None before the first frame."""
        return self._last_delivered

    def stop(self) -> None:
        self._stopping.set()
        self._slot.close(discard=True)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():
                # A blocking network read ends at its read timeout; the thread then exits.
                logger.warning(
                    "camera %s: decode thread still busy after %.0f s; it will exit at its "
                    "read timeout",
                    self._camera_id,
                    JOIN_TIMEOUT_S,
                )
        with self._lock:
            self._state = SourceState.STOPPED

    def health(self) -> SourceHealth:
        with self._lock:
            return SourceHealth(
                state=self._state,
                frames=self._frames,
                dropped=self._slot.dropped,
                corrupt=self._corrupt,
                reconnects=self._reconnects,
                last_error=self._last_error,
                resolution=self._resolution,
            )

    def __enter__(self) -> ThreadedSource:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- for subclasses ------------------------------------------------------------------

    def _run(self) -> None:
        raise NotImplementedError

    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a bug must not kill the gate silently: report and stop
            trace = "".join(traceback.format_exception(exc))
            logger.error("camera %s: frame source failed:\n%s", self._camera_id, self._scrub(trace))
            self._set_state(SourceState.FAILED, f"internal error: {type(exc).__name__}")
            self._slot.close(discard=False)

    def _scrub(self, text: str) -> str:
        """``text`` without secrets; sources that know their URL remove it too."""
        return scrub(text)

    @property
    def _stopped(self) -> bool:
        return self._stopping.is_set()

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopped first; True when it is time to stop."""
        return self._stopping.wait(max(0.0, seconds))

    def _set_state(self, state: SourceState, error: str | None = None) -> None:
        with self._lock:
            if self._state is SourceState.STOPPED and self._stopping.is_set():
                return  # stop() has the last word
            self._state = state
            if error is not None:
                self._last_error = error

    def _count_reconnect(self) -> None:
        with self._lock:
            self._reconnects += 1

    def _offer(
        self, convert: Callable[[], RGBImage], width: int, height: int, *, lockstep: bool = False
    ) -> None:
        """Hand a decoded frame to the mailbox (replacing an undelivered one)."""
        self._check_resolution(width, height)
        with self._lock:
            index = self._frames
            self._frames += 1
        pending = PendingFrame(index, time.monotonic(), self._clock.now(), convert)
        self._slot.put(pending, wait_empty=self._stopping if lockstep else None)

    def _check_resolution(self, width: int, height: int) -> None:
        with self._lock:
            previous, self._resolution = self._resolution, (width, height)
        if previous is not None and previous != (width, height):
            self._fault(
                DeviceFaultKind.RESOLUTION_CHANGED,
                f"resolution changed from {previous[0]}x{previous[1]} to {width}x{height}",
            )

    def _corrupt_frame(self, detail: str, *, report: bool = True) -> None:
        """Count a frame that did not decode; report a fault at most once per interval."""
        now = time.monotonic()
        with self._lock:
            self._corrupt += 1
            self._corrupt_unreported += 1
            due = report and now - self._last_corrupt_fault >= CORRUPT_FAULT_INTERVAL_S
            if due:
                count, self._corrupt_unreported = self._corrupt_unreported, 0
                self._last_corrupt_fault = now
        logger.debug("camera %s: corrupt frame skipped: %s", self._camera_id, detail)
        if due:
            self._fault(
                DeviceFaultKind.CORRUPT_FRAMES, f"{count} corrupt frame(s) skipped; last: {detail}"
            )

    def _fault(self, kind: DeviceFaultKind, detail: str) -> None:
        fault = DeviceFault(self._camera_id, kind, self._clock.now(), detail)
        logger.warning("camera %s: %s: %s", self._camera_id, kind.value, detail)
        if self._on_fault is None:
            return
        try:
            self._on_fault(fault)
        except Exception:
            logger.exception("camera %s: the fault callback raised", self._camera_id)
