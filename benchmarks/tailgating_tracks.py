"""People counted per door opening from real video, before and after face comparison.

Usage::

    python benchmarks/tailgating_tracks.py

For each scene (8 fps, 360 px high, the way ``tests/gate/test_lane_tailgating.py``
plays them through a :class:`DoorLane` with one credential), prints the people counted
with boxes only (before) and with :class:`TrackFaces` comparing a face that comes back
(after, at FMR 1e-3, and at the more lenient 1e-2), the faces embedded and the time
spent embedding in that opening (landmarks, alignment and the TTA crops included).
Needs the ``shared`` data folder (``../shared`` next to the project, or
``$SEUIL_SHARED_DIR``).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from seuil.adapters.doors.simulated import SimulatedDoor
from seuil.adapters.video_file import iter_video_frames
from seuil.bootstrap import build_face_engine
from seuil.domain.gate import Decision, GateDecision
from seuil.engine.pipeline import FaceEngine
from seuil.gate.lane_control import DoorLane
from seuil.gate.track_faces import TrackFaces
from seuil.ports.face import RGBImage
from seuil.shared_data import shared_dir

T0 = datetime(2026, 11, 30, 7, 55, tzinfo=UTC)
GRANT = GateDecision("entree", T0, Decision.GRANT, credential_id="c1", person_ref="P-1")


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def now(self) -> datetime:
        return self.t

    def mono(self) -> float:
        return (self.t - T0).total_seconds()


def frames(path: Path, n: int, height: int = 360, width: int = 320) -> list[RGBImage]:
    out = []
    for f in iter_video_frames(path, fps=8, max_frames=n):
        h, w = f.image.shape[:2]
        small = cv2.resize(f.image, (round(w * height / h), height))
        x = (small.shape[1] - width) // 2
        out.append(np.ascontiguousarray(small[:, x : x + width]))
    return out


def hide_faces(engine: FaceEngine, frame: RGBImage) -> RGBImage:
    out = frame.copy()
    for box in engine.detector.detect(frame):
        m = box.width // 3
        out[max(0, box.top - m) : box.bottom + m, max(0, box.left - m) : box.right + m] = 128
    return out


def opening(engine: FaceEngine, scene: list[RGBImage], faces: TrackFaces | None) -> int:
    clock = Clock()
    lane = DoorLane("entree", SimulatedDoor("portillon", clock), clock, lambda e: None,
                    pulse_s=3.0, after_s=2.0, detect=engine.detector.detect, faces=faces,
                    monotonic=clock.mono)  # fmt: skip
    lane.open_for(GRANT)
    for frame in scene:
        lane.on_frame(frame)
        lane.tick()
        clock.t += timedelta(seconds=0.125)
    clock.t += timedelta(seconds=5)
    lane.tick()
    return lane.openings[0][1]


def main() -> None:
    root = shared_dir()
    if root is None:
        sys.exit("the shared data folder is not found (set SEUIL_SHARED_DIR)")
    engine = build_face_engine(purpose="gate")
    obama = frames(root / "video" / "obama.mp4", 12)
    biden = frames(root / "video" / "biden.mp4", 12)
    real2 = frames(root / "spoof" / "real2.webm", 40)
    gap = [np.zeros_like(obama[0])] * 4
    scenes = {
        "obama.mp4 alone": obama,
        "real2.webm, 5 s": real2,
        "real2.webm, face lost 1 s (frames 10-17)": [
            hide_faces(engine, f) if 10 <= i < 18 else f for i, f in enumerate(real2)
        ],
        "real2.webm, face lost 1 s (frames 16-23)": [
            hide_faces(engine, f) if 16 <= i < 24 else f for i, f in enumerate(real2)
        ],
        "obama.mp4 + biden.mp4 side by side": [
            np.hstack(p) for p in zip(obama, biden, strict=True)
        ],
        "obama.mp4, 0.5 s empty, biden.mp4": obama[:6] + gap + biden[:6],
        "obama.mp4, 0.5 s empty, real2.webm": obama[:6] + gap + real2[:6],
    }
    logging.disable(logging.WARNING)  # the lanes' tailgating warnings, one per scene
    lenient = TrackFaces(engine, fmr=1e-2).threshold
    print(f"same-person threshold {TrackFaces(engine).threshold:.4f} at FMR 1e-3, "
          f"{lenient:.4f} at 1e-2")  # fmt: skip
    print(f"{'scene':42} {'before':>6} {'after':>5} {'1e-2':>4} {'faces':>5} "
          f"{'embedding ms':>12} {'ms/face':>7}")  # fmt: skip
    for name, scene in scenes.items():
        before = opening(engine, scene, None)
        faces = TrackFaces(engine)
        after = opening(engine, scene, faces)
        at_1e2 = opening(engine, scene, TrackFaces(engine, fmr=1e-2))
        ms = faces.seconds * 1000
        print(f"{name:42} {before:6d} {after:5d} {at_1e2:4d} {faces.embeddings:5d} "
              f"{ms:12.1f} {ms / max(1, faces.embeddings):7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
