"""Safe image decoding: any size, grey, RGB, RGBA, 16-bit, EXIF-rotated; clear errors.

Every image that enters the engine goes through :func:`decode_image` (bytes) or
:func:`load_image` (a file). Both return a C-contiguous ``uint8`` RGB array or raise an
:class:`~seuil.domain.errors.InvalidImageError`. Limits protect against decompression
bombs: the pixel count is checked from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from seuil.domain.errors import ImageTooLargeError, InvalidImageError
from seuil.ports.face import RGBImage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Upper bounds on what we agree to decode."""

    max_bytes: int = 30 * 1024 * 1024
    max_pixels: int = 40_000_000  # 40 MP: more than any camera or phone photo


DEFAULT_LIMITS = ImageLimits()


def load_image(path: Path | str, limits: ImageLimits = DEFAULT_LIMITS) -> RGBImage:
    """Read and decode an image file."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InvalidImageError(f"cannot read image file {p.name!r}: {exc.strerror}") from exc
    if size > limits.max_bytes:
        raise ImageTooLargeError(
            f"image file {p.name!r} is {size} bytes, more than the limit of {limits.max_bytes}"
        )
    return decode_image(p.read_bytes(), limits, name=p.name)


def decode_image(
    data: bytes, limits: ImageLimits = DEFAULT_LIMITS, name: str = "image"
) -> RGBImage:
    """Decode encoded image bytes (JPEG, PNG, WebP, BMP, ...) to RGB uint8."""
    if not data:
        raise InvalidImageError(f"{name!r} is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(
            f"{name!r} is {len(data)} bytes, more than the limit of {limits.max_bytes}"
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns (then errors) on huge images; we check the size ourselves first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width <= 0 or height <= 0:
                raise InvalidImageError(f"{name!r} has no pixels ({width}x{height})")
            if width * height > limits.max_pixels:
                raise ImageTooLargeError(
                    f"{name!r} is {width}x{height} pixels, more than the limit of "
                    f"{limits.max_pixels} pixels"
                )
            img.load()
            return to_rgb_array(ImageOps.exif_transpose(img))
    except InvalidImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{name!r} is too large to decode safely (limit {limits.max_pixels} pixels)"
        ) from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError(f"{name!r} is not an image format we can read") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated or corrupt data: Pillow raises OSError ("image file is truncated",
        # "broken data stream"), ValueError or SyntaxError depending on the codec.
        raise InvalidImageError(f"{name!r} is corrupt or truncated: {exc}") from exc


def to_rgb_array(img: Image.Image) -> RGBImage:
    """Convert any Pillow mode to an 8-bit RGB array (alpha composited onto white)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grey: stretch the used range to 8 bits rather than clip it.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        grey = ((arr - lo) * scale).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        grey = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    rgb = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def from_bgr_frame(frame: np.ndarray) -> RGBImage:
    """Validate a decoded video frame (OpenCV's BGR/BGRA/grey) and return RGB uint8."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        raise InvalidImageError("empty video frame")
    if frame.dtype != np.uint8:
        raise InvalidImageError(f"video frame has dtype {frame.dtype}, expected uint8")
    if frame.ndim == 2:
        return np.ascontiguousarray(np.repeat(frame[:, :, None], 3, axis=2))
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise InvalidImageError(f"video frame has shape {frame.shape}, expected HxWx3")
    return np.ascontiguousarray(frame[:, :, 2::-1])


def downscale(image: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    """Shrink so that the longest side is at most ``max_side``; returns (image, factor).

    ``factor`` maps coordinates in the returned image back to the input (multiply).
    """
    h, w = image.shape[:2]
    longest = max(h, w)
    if max_side <= 0 or longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.ascontiguousarray(np.asarray(small)), longest / max_side
