"""Read credential QR codes in camera frames with zxing-cpp.

Each decoded code comes back with its text and its four corners in frame pixels, so the
gate can tell *where* a credential was shown (near the face of the person in the lane or
elsewhere) and refuse two codes at once. zxing-cpp returns only symbols whose
Reed-Solomon error correction succeeded: a damaged code, or one too small to resolve,
gives nothing rather than a wrong text (and the credential's signature is checked after
that anyway).

Speed (``benchmarks/qr_in_frames.py``): about 1 to 3 ms for a whole 1280x720 frame on
this project's 2-core machine, less with a region of interest. What is done:

- only the region of interest is searched when one is given (a face box works: anything
  with ``left/top/right/bottom``), grown by a margin so a card held beside it fits;
- frames larger than ``max_side`` (default 1920, i.e. beyond 1080p) are downscaled before
  the search; below that the frame is searched at full resolution, because a printed
  credential seen from a gate camera is small (a version 12 symbol needs about 2 pixels
  per module; zxing-cpp also searches its own downscaled copies for large codes);
- the search is for QR codes only, and skips the 90-degree rotations zxing tries for
  linear barcodes (a QR symbol is found at any angle by its finder patterns).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp

__all__ = ["BoxLike", "QrCode", "QrReader", "Region"]

_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

Point = tuple[int, int]


class BoxLike(Protocol):
    """A rectangle in frame pixels (right and bottom exclusive), e.g. a ``FaceBox``."""

    @property
    def left(self) -> int: ...
    @property
    def top(self) -> int: ...
    @property
    def right(self) -> int: ...
    @property
    def bottom(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Region:
    """A region of interest in frame pixels (right and bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @classmethod
    def of(cls, box: BoxLike) -> Region:
        return cls(int(box.left), int(box.top), int(box.right), int(box.bottom))

    def grown(self, fraction: float, width: int, height: int) -> Region:
        """Grown by ``fraction`` of its size on every side, clipped to the frame."""
        dx = round((self.right - self.left) * fraction)
        dy = round((self.bottom - self.top) * fraction)
        return Region(
            max(0, self.left - dx),
            max(0, self.top - dy),
            min(width, self.right + dx),
            min(height, self.bottom + dy),
        )

    @property
    def empty(self) -> bool:
        return self.right <= self.left or self.bottom <= self.top


@dataclass(frozen=True, slots=True)
class QrCode:
    """A decoded QR code: its text and its corners in frame pixels.

    ``corners`` are the symbol's top-left, top-right, bottom-right and bottom-left
    corners as printed (so they also tell how the card is turned).
    """

    text: str
    corners: tuple[Point, Point, Point, Point]

    @property
    def box(self) -> Region:
        xs = [x for x, _ in self.corners]
        ys = [y for _, y in self.corners]
        return Region(min(xs), min(ys), max(xs) + 1, max(ys) + 1)

    @property
    def centre(self) -> tuple[float, float]:
        return (
            sum(x for x, _ in self.corners) / 4.0,
            sum(y for _, y in self.corners) / 4.0,
        )

    @property
    def side_px(self) -> float:
        """Mean length of the symbol's four edges, in frame pixels."""
        points = [*self.corners, self.corners[0]]
        return (
            sum(float(np.hypot(b[0] - a[0], b[1] - a[1])) for a, b in itertools.pairwise(points))
            / 4.0
        )


class QrReader:
    """Finds every QR code in a frame (or in a region of it); thread-safe, stateless."""

    def __init__(
        self, *, max_side: int = 1920, roi_margin: float = 0.15, try_invert: bool = True
    ) -> None:
        if max_side < 64:
            raise ValueError("max_side must be at least 64 pixels")
        self.max_side = max_side
        self.roi_margin = roi_margin
        self.try_invert = try_invert

    def texts(self, image: npt.NDArray[np.uint8]) -> list[str]:
        """Only the decoded texts (the gate pipeline's credential reader)."""
        return [code.text for code in self.read(image)]

    def read(self, image: npt.NDArray[np.uint8], roi: BoxLike | None = None) -> list[QrCode]:
        """Every QR code in ``image`` (RGB, RGBA or grey ``uint8``), in reading order.

        With ``roi``, only that region (grown by ``roi_margin``) is searched.
        """
        height, width = image.shape[:2]
        left = top = 0
        if roi is not None:
            region = Region.of(roi).grown(self.roi_margin, width, height)
            if region.empty:
                return []
            image = image[region.top : region.bottom, region.left : region.right]
            left, top = region.left, region.top
        grey = _grey(image)
        scale = 1.0
        longest = max(grey.shape[:2])
        if longest > self.max_side:
            scale = self.max_side / longest
            size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
            grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
        found = zxingcpp.read_barcodes(
            grey, formats=_QR_ONLY, try_rotate=False, try_invert=self.try_invert
        )
        codes = [
            QrCode(barcode.text, _corners(barcode.position, scale, left, top))
            for barcode in found
            if barcode.valid and barcode.text
        ]
        return sorted(codes, key=lambda code: (code.box.top, code.box.left))


def _grey(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY), dtype=np.uint8)
    raise ValueError(f"expected an RGB, RGBA or grey image, got shape {image.shape}")


def _corners(
    position: zxingcpp.Position, scale: float, left: int, top: int
) -> tuple[Point, Point, Point, Point]:
    def point(p: zxingcpp.Point) -> Point:
        return (round(p.x / scale) + left, round(p.y / scale) + top)

    return (
        point(position.top_left),
        point(position.top_right),
        point(position.bottom_right),
        point(position.bottom_left),
    )
