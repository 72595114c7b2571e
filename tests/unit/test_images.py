"""Bad and unusual image input: a clear error or a clean RGB array, never a crash or hang."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from seuil.domain.errors import ImageTooLargeError, InvalidImageError
from seuil.engine.images import ImageLimits, decode_image, downscale, from_bgr_frame, load_image


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w: int = 64, h: int = 48) -> Image.Image:
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    return Image.fromarray(arr)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(InvalidImageError, match="empty"):
        load_image(p)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidImageError, match="cannot read"):
        load_image(tmp_path / "nope.jpg")


def test_text_renamed_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a photo\n" * 20)
    with pytest.raises(InvalidImageError, match="not an image"):
        load_image(p)


def test_truncated_jpeg():
    data = _encode(_gradient(256, 256), "JPEG", quality=90)
    with pytest.raises(InvalidImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_corrupt_png_body():
    data = bytearray(_encode(_gradient(), "PNG"))
    # Scramble the compressed pixel data but keep the header.
    idat = data.index(b"IDAT")
    for i in range(idat + 8, min(len(data) - 20, idat + 60)):
        data[i] ^= 0x5A
    with pytest.raises(InvalidImageError):
        decode_image(bytes(data))


def _png_with_size(width: int, height: int) -> bytes:
    """A valid tiny PNG whose header claims width x height (a decompression bomb shape)."""
    data = bytearray(_encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError, match="too large"):
        decode_image(_png_with_size(20000, 20000))


def test_oversized_bytes_refused():
    with pytest.raises(ImageTooLargeError):
        decode_image(b"\xff" * 2048, ImageLimits(max_bytes=1024))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "CMYK", "1"])
def test_modes_become_rgb(mode):
    img = _gradient().convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    arr = decode_image(_encode(img, fmt))
    assert arr.dtype == np.uint8 and arr.shape == (48, 64, 3) and arr.flags.c_contiguous


def test_transparent_pixels_become_white():
    img = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    arr = decode_image(_encode(img, "PNG"))
    assert (arr == 255).all()


def test_16_bit_grey_png_keeps_contrast():
    ramp = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    img = Image.fromarray(ramp)
    assert img.mode.startswith("I;16")
    arr = decode_image(_encode(img, "PNG"))
    assert arr.dtype == np.uint8
    assert arr.min() == 0 and arr.max() == 255


def test_exif_rotation_is_applied():
    img = _gradient(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    arr = decode_image(_encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert arr.shape == (64, 48, 3)


def test_downscale_keeps_aspect_and_factor():
    arr = np.zeros((720, 1280, 3), np.uint8)
    small, factor = downscale(arr, 640)
    assert small.shape == (360, 640, 3)
    assert factor == pytest.approx(2.0)
    same, f1 = downscale(arr, 2000)
    assert same is arr and f1 == 1.0


def test_bgr_frame_validation():
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 0] = 255  # blue in BGR
    assert (from_bgr_frame(bgr)[..., 2] == 255).all()
    with pytest.raises(InvalidImageError):
        from_bgr_frame(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(InvalidImageError):
        from_bgr_frame(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InvalidImageError):
        from_bgr_frame(np.zeros((4, 4, 7), np.uint8))
