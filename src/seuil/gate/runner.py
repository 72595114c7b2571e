"""Running configured gates: each lane reads its camera on its own thread.

A lane takes the latest frame from its source (older ones are dropped by the source),
passes it to its pipeline, and stops when asked or after ``max_seconds``. Camera faults
arrive from the source's thread and are recorded as device faults; a lane never grants
because its camera failed (no frame, no credential, no decision).

A camera-less lane (badge reader and door only) has no source: it ticks its pipeline
and its doors every ``tick_s`` (badges are decided on the tick). A lane's ``sensors``
(people counters feeding the tailgating watch) are started and stopped with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from seuil.gate.pipeline import GatePipeline
from seuil.ports.face import RGBImage
from seuil.ports.frames import DeviceFault, Frame, FrameSource

logger = logging.getLogger(__name__)


class LaneDoors(Protocol):
    """A lane's doors as the runner drives them (``seuil.gate.lane_control``)."""

    def on_frame(self, image: RGBImage) -> None: ...
    def tick(self) -> None: ...


class LaneSensor(Protocol):
    """Something the lane listens to while it runs (a people counter's subscription)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class GateLane:
    gate_id: str
    source: FrameSource | None  # None: a camera-less gate (badge reader and door only)
    pipeline: GatePipeline
    faults: list[DeviceFault] = field(default_factory=list)
    frames: int = 0
    doors: LaneDoors | None = None  # door or airlock control; None: the pipeline's callable
    sensors: list[LaneSensor] = field(default_factory=list)
    tick_s: float = 0.1  # a camera-less lane's loop period

    def run(self, stop: threading.Event, max_seconds: float | None = None) -> None:
        end = time.monotonic() + max_seconds if max_seconds else None
        started: list[LaneSensor] = []
        try:
            for sensor in self.sensors:
                try:
                    sensor.start()
                    started.append(sensor)
                except Exception:  # the gate runs without it (the camera still counts)
                    logger.exception("gate %s: a sensor did not start", self.gate_id)
            if self.source is not None:
                self.source.start()
            while not stop.is_set() and (end is None or time.monotonic() < end):
                if self.source is None:
                    self.step(None)
                    stop.wait(self.tick_s)
                else:
                    self.step(self.source.latest(timeout=0.2))
        finally:
            if self.source is not None:
                self.source.stop()
            for sensor in reversed(started):
                try:
                    sensor.stop()
                except Exception:  # stopping one sensor must not keep the others running
                    logger.exception("gate %s: a sensor did not stop cleanly", self.gate_id)

    def step(self, frame: Frame | None) -> None:
        """One turn of the loop: a frame (or none) through the pipeline, then the doors."""
        if frame is None:
            self.pipeline.tick()  # a silent camera still ends a presentation in time
        else:
            self.frames += 1
            self.pipeline.on_frame(frame.image)
            if self.doors is not None:
                self.doors.on_frame(frame.image)
        if self.doors is not None:
            self.doors.tick()


def fault_recorder(gate_id: str, faults: list[DeviceFault]) -> Callable[[DeviceFault], None]:
    """A camera fault callback (it runs on the source's thread: kept short)."""

    def record(fault: DeviceFault) -> None:
        faults.append(fault)
        logger.warning("gate %s: camera fault %s", gate_id, fault.kind)

    return record


def run_lanes(
    lanes: list[GateLane],
    stop: threading.Event,
    max_seconds: float | None = None,
    on_error: Callable[[str, BaseException], None] | None = None,
) -> None:
    """Run every lane on its own thread until ``stop`` is set or time runs out."""

    def guarded(lane: GateLane) -> None:
        try:
            lane.run(stop, max_seconds)
        except Exception as exc:  # a lane that crashes is reported, the others go on
            logger.exception("gate %s stopped on an error", lane.gate_id)
            if on_error is not None:
                on_error(lane.gate_id, exc)

    threads = [
        threading.Thread(target=guarded, args=(lane,), name=f"gate-{lane.gate_id}", daemon=True)
        for lane in lanes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
