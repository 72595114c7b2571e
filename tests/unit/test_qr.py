"""QR rendering (PNG, SVG) and reading back with zxing-cpp, also at camera-like sizes."""

from __future__ import annotations

import io
import os
import stat
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from seuil.adapters.crypto.credential_codec import CarriedTemplate, CredentialContent, encode
from seuil.adapters.crypto.keys import Keyring
from seuil.adapters.qr import make_qr, read_qr, render_png, render_svg
from seuil.domain.credentials import TemplateStorage, new_credential_id
from seuil.engine.quantise import QuantKind, quantise


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ring = Keyring.create(tmp_path_factory.mktemp("qr") / "keys", datetime(2025, 8, 1, tzinfo=UTC))
    out = {}
    for storage in (TemplateStorage.NONE, TemplateStorage.ON_CREDENTIAL):
        template = None
        if storage is TemplateStorage.ON_CREDENTIAL:
            vec = np.random.default_rng(1).normal(size=128)
            template = CarriedTemplate(QuantKind.INT8, quantise(vec, QuantKind.INT8))
        claims = CredentialContent(
            new_credential_id(),
            "P-K3J9X2M4QH7T",
            "0830042X",
            storage,
            datetime(2025, 9, 1, tzinfo=UTC),
            datetime(2026, 9, 1, tzinfo=UTC),
            template=template,
        )
        out[storage.value] = encode(claims, ring)
    return out


def png_to_rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.mark.parametrize("storage", ["none", "on_credential"])
def test_symbol_uses_alphanumeric_mode_and_level_m_or_better(
    texts: dict[str, str], storage: str
) -> None:
    qr = make_qr(texts[storage])
    assert qr.mode == "alphanumeric"
    assert qr.error in {"M", "Q", "H"}
    assert isinstance(qr.version, int) and qr.version <= 13


@pytest.mark.parametrize("storage", ["none", "on_credential"])
def test_png_reads_back(texts: dict[str, str], storage: str) -> None:
    png = render_png(texts[storage])
    image = Image.open(io.BytesIO(png))
    width_mm = image.width / image.info["dpi"][0] * 25.4
    assert 22.0 <= width_mm <= 28.0
    assert read_qr(png_to_rgb(png)) == [texts[storage]]


def test_png_at_phone_camera_size(texts: dict[str, str]) -> None:
    """The card seen by a phone or gate camera: small, blurred, on a busy grey frame."""
    text = texts["on_credential"]
    card = Image.open(io.BytesIO(render_png(text, dpi=600))).convert("RGB")
    modules = make_qr(text).symbol_size(border=4)[0]
    for pixels_per_module in (3.0, 2.2):
        side = round(modules * pixels_per_module)
        small = card.resize((side, side), Image.Resampling.BILINEAR).filter(
            ImageFilter.GaussianBlur(0.6)
        )
        frame = Image.new("RGB", (640, 480), (120, 124, 118))
        frame.paste(small, (180, 90))
        noisy = np.asarray(frame).astype(np.int16)
        noisy += np.random.default_rng(0).integers(-12, 13, noisy.shape, dtype=np.int16)
        rgb = np.clip(noisy, 0, 255).astype(np.uint8)
        assert read_qr(rgb) == [text], pixels_per_module


def svg_size_mm(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg)
    width, height = root.get("width", ""), root.get("height", "")
    assert width.endswith("mm") and height.endswith("mm")
    return float(width[:-2]), float(height[:-2])


def test_svg_is_printed_at_the_asked_size(texts: dict[str, str]) -> None:
    assert svg_size_mm(render_svg(texts["on_credential"])) == pytest.approx((25.0, 25.0), abs=0.01)
    assert svg_size_mm(render_svg(texts["none"], size_mm=40.0)) == pytest.approx((40.0, 40.0))


def test_grey_images_and_empty_frames() -> None:
    assert read_qr(np.full((200, 200), 255, dtype=np.uint8)) == []
    assert read_qr(np.zeros((50, 50, 3), dtype=np.uint8)) == []
    with pytest.raises(ValueError):
        read_qr(np.zeros((4, 4, 2), dtype=np.uint8))


def test_rgba_input(texts: dict[str, str]) -> None:
    rgba = np.asarray(Image.open(io.BytesIO(render_png(texts["none"]))).convert("RGBA"))
    assert read_qr(rgba) == [texts["none"]]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_files_are_written_owner_only(texts: dict[str, str], tmp_path: Path) -> None:
    png, svg = tmp_path / "card.png", tmp_path / "card.svg"
    data = render_png(texts["none"], png)
    text = render_svg(texts["none"], svg)
    assert png.read_bytes() == data and svg.read_text() == text
    assert stat.S_IMODE(png.stat().st_mode) == 0o600 == stat.S_IMODE(svg.stat().st_mode)
    assert read_qr(png_to_rgb(png.read_bytes())) == [texts["none"]]
