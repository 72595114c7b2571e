"""Face detectors: a fast path for gate frames and an accurate path for enrolment photos.

- :class:`HogDetector`: dlib's HOG + linear SVM. A few ms on a downscaled frame. Finds
  frontal faces of at least ~80 px (at upsample 0) in the image it is given.
- :class:`CnnDetector`: dlib's MMOD CNN. Robust to pose and lighting, slow on a CPU
  without BLAS (about 0.4 s for a 250x250 photo): used for enrolment photos and as the
  fallback when HOG finds nothing.
- :class:`CascadeDetector`: HOG first, CNN when HOG finds nothing.
- :class:`TrackingDetector`: for video: searches the neighbourhood of the last face
  first (region of interest reuse) and scans the whole frame only every few frames or
  when the face is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from seuil.domain.faces import FaceBox
from seuil.engine.images import downscale
from seuil.ports.face import FaceDetector, RGBImage

logger = logging.getLogger(__name__)


def _upsample_for(image: RGBImage, upsample: int, max_side: int) -> int:
    """At most ``upsample`` pyramid doublings, fewer if the result would pass max_side."""
    if max_side <= 0:
        return upsample
    longest = max(image.shape[:2])
    n = 0
    while n < upsample and longest * 2 ** (n + 1) <= max_side:
        n += 1
    return n


def _clip(box: FaceBox, width: int, height: int) -> FaceBox:
    return FaceBox(
        max(0, box.left),
        max(0, box.top),
        min(width, box.right),
        min(height, box.bottom),
        box.score,
    )


class HogDetector:
    """dlib's HOG detector, on a copy downscaled to ``max_side`` pixels.

    ``upsample`` is the most pyramid doublings used for small images; with ``max_side``
    set, an image is never upsampled past that size (a 4000 px photo is downscaled, a
    250 px crop is doubled).
    """

    name = "hog"

    def __init__(self, upsample: int = 0, max_side: int = 0, min_score: float = -0.2) -> None:
        self._detector = dlib.get_frontal_face_detector()
        self.upsample = upsample
        self.max_side = max_side
        self.min_score = min_score

    def detect(self, image: RGBImage) -> list[FaceBox]:
        # dlib reads the buffer as packed rows: a strided view (a crop) must be copied.
        small, factor = downscale(np.ascontiguousarray(image), self.max_side)
        up = _upsample_for(small, self.upsample, self.max_side)
        rects, scores, _ = self._detector.run(small, up, self.min_score)
        h, w = image.shape[:2]
        boxes = [
            _clip(
                FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s)).scaled(factor),
                w,
                h,
            )
            for r, s in zip(rects, scores, strict=True)
        ]
        return [b for b in boxes if b.area > 0]


class CnnDetector:
    """dlib's MMOD CNN detector."""

    name = "cnn"

    def __init__(
        self, model_path: Path, upsample: int = 0, max_side: int = 0, min_score: float = 0.0
    ) -> None:
        self._detector = dlib.cnn_face_detection_model_v1(str(model_path))
        self.upsample = upsample
        self.max_side = max_side
        self.min_score = min_score

    def detect(self, image: RGBImage) -> list[FaceBox]:
        small, factor = downscale(np.ascontiguousarray(image), self.max_side)
        found = self._detector(small, _upsample_for(small, self.upsample, self.max_side))
        h, w = image.shape[:2]
        boxes = []
        for d in found:
            if d.confidence < self.min_score:
                continue
            r = d.rect
            box = FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(d.confidence))
            boxes.append(_clip(box.scaled(factor), w, h))
        return [b for b in boxes if b.area > 0]


class UpsamplingDetector:
    """Runs a detector on a copy enlarged 2x per level (for detectors without upsampling).

    Doubles at most ``upsample`` times, and never past ``max_side``; boxes are mapped
    back to the input's coordinates.
    """

    def __init__(self, inner: FaceDetector, upsample: int = 1, max_side: int = 1024) -> None:
        self.inner = inner
        self.upsample = upsample
        self.max_side = max_side
        self.name = inner.name

    def detect(self, image: RGBImage) -> list[FaceBox]:
        small, factor = downscale(image, self.max_side)
        levels = _upsample_for(small, self.upsample, self.max_side)
        if levels:
            import cv2

            scale = 2**levels
            big = cv2.resize(small, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
            small = np.ascontiguousarray(big, dtype=np.uint8)
            factor /= scale
        h, w = image.shape[:2]
        boxes = (_clip(b.scaled(factor), w, h) for b in self.inner.detect(small))
        return [b for b in boxes if b.area > 0]


class CascadeDetector:
    """Try each detector in turn; return the first non-empty result."""

    def __init__(self, detectors: list[FaceDetector]) -> None:
        if not detectors:
            raise ValueError("a cascade needs at least one detector")
        self.detectors = detectors
        self.name = "+".join(d.name for d in detectors)

    def detect(self, image: RGBImage) -> list[FaceBox]:
        for detector in self.detectors:
            boxes = detector.detect(image)
            if boxes:
                return boxes
        return []


@dataclass
class TrackingDetector:
    """Region-of-interest reuse between consecutive frames of one camera.

    After a detection, the next frames are searched only in a window around the last
    face (``margin`` times its size, shrunk so the face is about ``face_px`` wide),
    which is much smaller than the frame; the full
    frame is scanned every ``full_scan_every`` frames (to notice new people) or as soon
    as the window search finds nothing.
    """

    inner: FaceDetector
    margin: float = 1.0
    full_scan_every: int = 5
    face_px: int = 110
    name: str = "tracking"
    _last: list[FaceBox] = field(default_factory=list)
    _since_full: int = 0
    stats: dict[str, int] = field(default_factory=lambda: {"roi": 0, "full": 0})

    def reset(self) -> None:
        self._last = []
        self._since_full = 0

    def detect(self, image: RGBImage) -> list[FaceBox]:
        if self._last and self._since_full < self.full_scan_every:
            found = self._detect_in_windows(image)
            if found:
                self._since_full += 1
                self.stats["roi"] += 1
                self._last = found
                return found
        self.stats["full"] += 1
        self._since_full = 0
        self._last = self.inner.detect(image)
        return self._last

    def _detect_in_windows(self, image: RGBImage) -> list[FaceBox]:
        h, w = image.shape[:2]
        found: list[FaceBox] = []
        for box in self._last:
            mx, my = int(box.width * self.margin), int(box.height * self.margin)
            x0, y0 = max(0, box.left - mx), max(0, box.top - my)
            x1, y1 = min(w, box.right + mx), min(h, box.bottom + my)
            if x1 - x0 < 20 or y1 - y0 < 20:
                continue
            crop = image[y0:y1, x0:x1]
            # A near face is much larger than the detector needs: shrink the window so
            # the face is about ``face_px`` wide (the HOG window is 80 px).
            longest = max(crop.shape[:2])
            target = round(longest * self.face_px / box.width) if box.width else longest
            small, factor = downscale(np.ascontiguousarray(crop), min(longest, target))
            for found_box in self.inner.detect(small):
                b = found_box.scaled(factor)
                moved = FaceBox(b.left + x0, b.top + y0, b.right + x0, b.bottom + y0, b.score)
                if all(moved.iou(f) < 0.5 for f in found):
                    found.append(moved)
        return found


def most_central(boxes: list[FaceBox], width: int, height: int) -> FaceBox | None:
    """The face a photo or a lane is about: large and near the centre."""
    if not boxes:
        return None
    cx, cy = width / 2.0, height / 2.0
    diag = (width**2 + height**2) ** 0.5

    def weight(b: FaceBox) -> float:
        c = b.centre
        dist = ((c.x - cx) ** 2 + (c.y - cy) ** 2) ** 0.5 / diag
        return float(float(b.area) ** 0.5 * (1.0 - dist))

    return max(boxes, key=weight)


def describe(detector: Any) -> str:
    """A stable description of a detector's configuration (for cache keys)."""
    parts = [getattr(detector, "name", type(detector).__name__)]
    for attr in ("upsample", "max_side", "min_score"):
        if hasattr(detector, attr):
            parts.append(f"{attr}={getattr(detector, attr)}")
    if hasattr(detector, "detectors"):
        parts.append("[" + ",".join(describe(d) for d in detector.detectors) + "]")
    return ":".join(parts)
