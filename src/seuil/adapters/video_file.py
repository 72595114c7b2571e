"""Frames from a local video file (replay and tests), decoded with OpenCV's FFmpeg backend.

Corrupt frames are skipped and counted, never passed on; a file that cannot be opened
raises :class:`~seuil.domain.errors.InvalidImageError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from seuil.domain.errors import InvalidImageError
from seuil.engine.images import from_bgr_frame
from seuil.ports.face import RGBImage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoFrame:
    index: int
    timestamp_s: float
    image: RGBImage


def iter_video_frames(path: Path, fps: float = 5.0, max_frames: int = 0) -> Iterator[VideoFrame]:
    """Yield about ``fps`` frames per second of video (every frame if fps <= 0)."""
    if not path.is_file():
        raise InvalidImageError(f"video file not found: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InvalidImageError(f"cannot open video {path.name!r}: not a video we can decode")
    try:
        native = cap.get(cv2.CAP_PROP_FPS) or 25.0
        step = max(1, round(native / fps)) if fps > 0 else 1
        index = emitted = bad = 0
        while True:
            ok = cap.grab()
            if not ok:
                break
            if index % step == 0:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    try:
                        image = from_bgr_frame(frame)
                    except InvalidImageError:
                        bad += 1
                    else:
                        yield VideoFrame(index, index / native, image)
                        emitted += 1
                        if max_frames and emitted >= max_frames:
                            break
                else:
                    bad += 1
            index += 1
        if bad:
            logger.warning("skipped %d undecodable frames", bad)
        if emitted == 0:
            raise InvalidImageError(f"video {path.name!r} has no decodable frame")
    finally:
        cap.release()
