"""A credential held up to the camera: the QR pasted into frames, and a demo camera.

- :func:`qr_patch` / :func:`hold_up`: the credential's QR rendered at the size a card
  held at arm's length would have, pasted near a corner of a frame (away from the face);
- :class:`PresentationSource`: a simulated gate camera for the demonstration site and
  the browser tests. It shows an empty lane (a quiet frame twice a second, so the gate
  screen does not report the camera as silent) until someone is *presented*: then it
  plays that person's video in real time, the credential held up during the first
  second, exactly as a camera would see them walk up and show their card. Once let in
  (:meth:`PresentationSource.walk_through`, on a GRANT), the person goes through the
  door: the rest of their video is not played, and the next person presented waits
  until the door's opening is over, as in a real lane (a person who stayed in view for
  seconds after the door opened, turning away and back, or the next one stepping up
  while it is open, would be counted by the tailgating watch as a second person).
"""

from __future__ import annotations

import functools
import io
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
from PIL import Image

from seuil.adapters.cameras._decode import decoded_frames, video_stream
from seuil.adapters.cameras._threaded import ThreadedSource
from seuil.domain.errors import ConfigurationError
from seuil.ports.clock import Clock
from seuil.ports.face import RGBImage
from seuil.ports.frames import FaultCallback, SourceState

__all__ = ["PresentationSource", "hold_up", "qr_patch"]

logger = logging.getLogger(__name__)


def qr_patch(text: str, side_px: int) -> RGBImage:
    """The credential's QR as an RGB patch of ``side_px`` pixels (with its quiet zone)."""
    from seuil.adapters.qr import render_png

    img = Image.open(io.BytesIO(render_png(text))).convert("RGB")
    img = img.resize((side_px, side_px), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def hold_up(frame: RGBImage, patch: RGBImage, corner: str = "bottom-right") -> RGBImage:
    """A copy of ``frame`` with ``patch`` pasted near a corner (away from the face)."""
    out = frame.copy()
    h, w = frame.shape[:2]
    ph, pw = patch.shape[:2]
    margin = max(4, h // 40)
    y = h - ph - margin if "bottom" in corner else margin
    x = w - pw - margin if "right" in corner else margin
    out[y : y + ph, x : x + pw] = patch
    return out


def _same(image: RGBImage) -> RGBImage:
    return image


@dataclass(frozen=True, slots=True)
class _Presentation:
    video: Path
    credential: str | None


class PresentationSource(ThreadedSource):
    """A demo gate camera: an empty lane, then whoever is presented (see module doc)."""

    def __init__(
        self,
        camera_id: str = "demo",
        *,
        size: tuple[int, int] = (960, 540),
        credential_shown_s: float = 1.0,
        idle_fps: float = 2.0,
        clock: Clock | None = None,
        on_fault: FaultCallback | None = None,
    ) -> None:
        super().__init__(camera_id, clock=clock, on_fault=on_fault)
        self.size = size
        self.credential_shown_s = credential_shown_s
        self.idle_period = 1.0 / idle_fps
        self._queue: queue.Queue[_Presentation] = queue.Queue(maxsize=4)
        self._idle = np.full((size[1], size[0], 3), 96, dtype=np.uint8)
        self._through = threading.Event()  # the person playing now was let in
        self._hold_until = 0.0  # monotonic: the next person waits for the door to close
        self.presented = 0

    def present(self, video: Path | str, credential: str | None = None) -> bool:
        """Queue one person walking up (``credential``: the QR text they hold up, or
        None for a face only). False when four presentations are already waiting."""
        path = Path(video)
        if not path.is_file():
            raise ConfigurationError(f"video file not found: {path}")
        try:
            self._queue.put_nowait(_Presentation(path, credential))
        except queue.Full:
            return False
        return True

    def walk_through(self, door_open_s: float = 0.0) -> None:
        """The person being presented was let in: they leave the camera's view (the
        next frame is the empty lane), and whoever is presented next waits
        ``door_open_s`` for the door's opening to end."""
        self._hold_until = time.monotonic() + door_open_s
        self._through.set()

    def _run(self) -> None:
        self._set_state(SourceState.STREAMING)
        while not self._stopped:
            wait = self._hold_until - time.monotonic()
            if wait > 0:  # the door is open for the person let in: the next one waits
                if self._sleep(min(wait, self.idle_period)):
                    break
                self._offer(functools.partial(_same, self._idle), *self.size)
                continue
            try:
                item = self._queue.get(timeout=self.idle_period)
            except queue.Empty:
                self._offer(functools.partial(_same, self._idle), *self.size)
                continue
            self._through.clear()
            try:
                self._play(item)
                self.presented += 1
            except (av.error.FFmpegError, LookupError, OSError) as exc:
                logger.warning("camera %s: cannot play %s: %s", self.camera_id,
                               item.video.name, type(exc).__name__)  # fmt: skip
        self._slot.close(discard=False)

    def _play(self, item: _Presentation) -> None:
        patch = None
        if item.credential is not None:
            patch = qr_patch(item.credential, int(min(self.size) * 0.45))
        with av.open(str(item.video)) as container:
            stream = video_stream(container, low_latency=False)
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            start = time.monotonic()
            for count, frame in enumerate(decoded_frames(container, stream,
                                                         self._corrupt_frame)):  # fmt: skip
                at = count / rate
                if self._sleep(start + at - time.monotonic()) or self._stopped:
                    return
                if self._through.is_set():
                    return  # let in: gone through the door
                resized = cv2.resize(frame.to_ndarray(format="rgb24"), self.size,
                                     interpolation=cv2.INTER_AREA)  # fmt: skip
                image: RGBImage = np.ascontiguousarray(resized, dtype=np.uint8)
                if patch is not None and at < self.credential_shown_s:
                    image = hold_up(image, patch)
                self._offer(functools.partial(_same, image), *self.size)
