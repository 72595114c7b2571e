"""Replaying a video through a gate, with a credential QR held up in the first frames.

For tests and ``seuil bench gate``: the QR is rendered from the credential text and
pasted into the frame at the size a card held at arm's length would have, as a person
would show it to the camera before looking at it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import numpy as np
from PIL import Image

from seuil.ports.face import RGBImage


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


def with_credential(
    frames: Iterable[RGBImage], text: str, shown_for: int = 3, side_fraction: float = 0.3
) -> Iterator[RGBImage]:
    """The frames, the first ``shown_for`` of them with the credential held up."""
    patch: RGBImage | None = None
    for i, frame in enumerate(frames):
        if i < shown_for:
            if patch is None:
                patch = qr_patch(text, int(min(frame.shape[:2]) * side_fraction))
            yield hold_up(frame, patch)
        else:
            yield frame
