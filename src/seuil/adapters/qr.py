"""QR codes for credentials: render with segno, read with zxing-cpp.

A credential's text (``"SE1:"`` + base45) uses only the QR alphanumeric alphabet, so it
is encoded in alphanumeric mode (5.5 bits a character instead of 8), error correction
level M at least (segno raises it when that costs no extra modules), with the standard
4-module quiet zone. By default the printed symbol, quiet zone included, is 25 mm wide:
a credential with an int8 template is a version 12 symbol (73 modules with the quiet
zone, about 0.34 mm a module); one without a template is version 8 (0.44 mm a module).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import segno
import zxingcpp

__all__ = ["CARD_SIZE_MM", "make_qr", "read_qr", "render_png", "render_svg"]

CARD_SIZE_MM = 25.0
QUIET_ZONE = 4
_MM_PER_INCH = 25.4
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def make_qr(text: str) -> segno.QRCode:
    """The QR symbol for ``text`` (alphanumeric mode, error correction M or better)."""
    return segno.make_qr(text, error="m", mode="alphanumeric", boost_error=True)


def _modules(qr: segno.QRCode) -> int:
    width, _ = qr.symbol_size(scale=1, border=QUIET_ZONE)
    return int(width)


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only file: a key-on-credential QR holds the key to its owner's template."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def render_png(
    text: str, path: Path | None = None, *, size_mm: float = CARD_SIZE_MM, dpi: int = 300
) -> bytes:
    """A PNG about ``size_mm`` wide when printed at ``dpi`` (whole pixels per module).

    Written to ``path`` (mode 0600) when given; the bytes are returned either way.
    """
    qr = make_qr(text)
    pixels = size_mm / _MM_PER_INCH * dpi
    scale = max(1, round(pixels / _modules(qr)))
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=QUIET_ZONE, dpi=dpi)
    data = out.getvalue()
    if path is not None:
        _write_private(path, data)
    return data


def render_svg(text: str, path: Path | None = None, *, size_mm: float = CARD_SIZE_MM) -> str:
    """An SVG exactly ``size_mm`` wide (width and height in millimetres).

    Written to ``path`` (mode 0600) when given; the text is returned either way.
    """
    qr = make_qr(text)
    out = io.BytesIO()
    qr.save(
        out, kind="svg", scale=size_mm / _modules(qr), unit="mm", border=QUIET_ZONE, xmldecl=False
    )
    data = out.getvalue()
    if path is not None:
        _write_private(path, data)
    return data.decode("utf-8")


def _grey(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    array = np.asarray(image)
    if array.ndim == 2:
        return np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        rgb = array[..., :3].astype(np.float32)
        luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.ascontiguousarray(np.clip(luma + 0.5, 0, 255).astype(np.uint8))
    raise ValueError(f"expected an RGB or grey image, got shape {array.shape}")


def read_qr(rgb_image: npt.NDArray[np.uint8]) -> list[str]:
    """The text of every QR code found in an RGB (or grey) image, in reading order."""
    found = zxingcpp.read_barcodes(_grey(rgb_image), formats=_QR_ONLY)
    return [barcode.text for barcode in found]
