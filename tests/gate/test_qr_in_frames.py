"""Credential QR codes read from real video frames, as a gate camera would see them.

A real signed credential is rendered with ``seuil.adapters.qr.render_png`` on a white
card, warped in perspective (a card held up, tilted and turned), pasted beside the
speaker's face in frames of ``shared/video``, then blurred, given sensor noise and
JPEG-compressed like a camera stream. Frames come through the replay frame source.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from seuil.adapters.cameras.file_source import FileSource, Pace
from seuil.adapters.cameras.qr_reader import QrReader, Region
from seuil.adapters.crypto.credential_codec import CarriedTemplate, CredentialContent, encode
from seuil.adapters.crypto.keys import Keyring
from seuil.adapters.qr import make_qr, render_png
from seuil.domain.credentials import TemplateStorage, new_credential_id
from seuil.domain.faces import FaceBox
from seuil.engine.quantise import QuantKind, quantise

pytestmark = pytest.mark.shared

# Where the speaker's face is, and where a card held up beside it goes (fractions of the
# frame width and height), for the videos used here.
SCENES = {
    "obama.mp4": {"face": (0.40, 0.06, 0.60, 0.40), "card": (0.80, 0.36)},
    "biden.mp4": {"face": (0.47, 0.11, 0.60, 0.42), "card": (0.70, 0.60)},
}


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two real signed credential texts: with an int8 template (~380 chars) and without."""
    ring = Keyring.create(
        tmp_path_factory.mktemp("keys") / "keys", datetime(2025, 8, 1, tzinfo=UTC)
    )
    template = CarriedTemplate(
        QuantKind.INT8, quantise(np.random.default_rng(7).normal(size=128), QuantKind.INT8)
    )
    texts = {}
    for name, storage, carried in (
        ("with_template", TemplateStorage.ON_CREDENTIAL, template),
        ("plain", TemplateStorage.NONE, None),
    ):
        claims = CredentialContent(
            new_credential_id(),
            "P-K3J9X2M4QH7T" if carried else "P-7HQ2M4X9K3J",
            "0830042X",
            storage,
            datetime(2025, 9, 1, tzinfo=UTC),
            datetime(2026, 9, 1, tzinfo=UTC),
            template=carried,
        )
        texts[name] = encode(claims, ring)
    assert texts["with_template"].startswith("SE1:") and 300 <= len(texts["with_template"]) <= 400
    assert texts["plain"].startswith("SE1:") and 150 <= len(texts["plain"]) <= 250
    return texts


def video_frames(path: Path, count: int, step: int) -> list[np.ndarray]:
    """``count`` RGB frames, one every ``step``, through the replay source (no frame lost)."""
    frames = []
    with FileSource(path, "qr-test", pace=Pace.LOCKSTEP) as source:
        while len(frames) < count:
            frame = source.latest(timeout=10)
            assert frame is not None, "the video ended too early"
            if frame.index % step == 0:
                frames.append(frame.image)
    return frames


@pytest.fixture(scope="module")
def scenes(shared: Path) -> dict[str, list[np.ndarray]]:
    return {name: video_frames(shared / "video" / name, 6, 7) for name in SCENES}


def card_image(text: str) -> np.ndarray:
    """The credential printed on a white card: the QR (quiet zone included) plus a margin."""
    qr = np.asarray(Image.open(io.BytesIO(render_png(text, dpi=600))).convert("L"))
    side = qr.shape[0]
    card = np.full((round(side * 1.3), round(side * 1.3)), 246, dtype=np.uint8)
    off = round(side * 0.15)
    card[off : off + side, off : off + side] = qr
    cv2.putText(card, "LYCEE - CARTE", (off, off // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 60, 3)
    return card


def card_quad(
    centre: tuple[float, float], side: float, angle_deg: float, tilt: float
) -> np.ndarray:
    """Corners of a card of ``side`` pixels, turned by ``angle_deg`` and tilted in depth."""
    half = side / 2
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    square[:2, 0] *= 1 - tilt  # the top edge is further away: shorter
    angle = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (square @ rotation.T + np.asarray(centre)).astype(np.float32)


def composite(
    frame: np.ndarray,
    card: np.ndarray,
    quad: np.ndarray,
    *,
    blur: float = 0.8,
    noise: float = 5.0,
    seed: int = 0,
) -> np.ndarray:
    """Paste ``card`` onto an RGB ``frame`` at ``quad``; blur, noise and JPEG like a camera."""
    height, width = frame.shape[:2]
    side = card.shape[0]
    source = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    warp = cv2.getPerspectiveTransform(source, quad)
    paper = cv2.warpPerspective(card, warp, (width, height), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full_like(card, 255), warp, (width, height))
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    tint = np.float32([0.97, 0.95, 0.90])  # warm indoor light on white paper
    out = (
        frame.astype(np.float32) * (1 - alpha) + paper[..., None].astype(np.float32) * tint * alpha
    )
    out = cv2.GaussianBlur(out, (0, 0), blur)
    out += np.random.default_rng(seed).normal(0.0, noise, out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1])


def card_side_for(text: str, pixels_per_module: float) -> float:
    """The pasted card side that gives the QR ``pixels_per_module`` in the frame."""
    modules_with_quiet_zone = make_qr(text).symbol_size(border=4)[0]
    return modules_with_quiet_zone * pixels_per_module * 1.3


def face_box(name: str, frame: np.ndarray) -> FaceBox:
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = SCENES[name]["face"]
    return FaceBox(round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h))


def lane_region(face: FaceBox, frame: np.ndarray) -> Region:
    """Where a person presents a card: around and below their face."""
    w = face.right - face.left
    h = frame.shape[0]
    return Region(
        max(0, face.left - 2 * w),
        max(0, face.top - w // 2),
        min(frame.shape[1], face.right + 2 * w),
        min(h, face.bottom + 3 * w),
    )


def inside(point: tuple[float, float], quad: np.ndarray) -> bool:
    return cv2.pointPolygonTest(quad.reshape(-1, 1, 2), point, False) >= 0


@pytest.mark.parametrize("name", sorted(SCENES))
def test_a_credential_held_up_is_read_in_the_frames(
    name: str, scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    """Read in (nearly) every frame, at its place, whole frame or lane region alike.

    A live gate sees 10 or more frames a second, so one frame in six missed at the edge of
    readability (about 3 pixels a module, blurred, JPEG) costs nothing; a wrong text or a
    second code would.
    """
    text = credentials["with_template"]
    card = card_image(text)
    reader = QrReader()
    read = {"frame": 0, "roi": 0}
    for i, frame in enumerate(scenes[name]):
        h, w = frame.shape[:2]
        cx, cy = SCENES[name]["card"]
        side = card_side_for(text, 2.8 + 0.3 * (i % 3))
        quad = card_quad((cx * w, cy * h), side, angle_deg=-12 + 5 * i, tilt=0.04 * (i % 4))
        shot = composite(frame, card, quad, blur=0.7 + 0.1 * (i % 3), seed=i)
        region = lane_region(face_box(name, frame), frame)
        for mode, codes in (("frame", reader.read(shot)), ("roi", reader.read(shot, region))):
            assert [c.text for c in codes] in ([], [text]), f"frame {i} ({mode})"
            if codes:
                read[mode] += 1
                assert all(inside((float(x), float(y)), quad) for x, y in codes[0].corners)
                assert inside(codes[0].centre, quad)
    assert read["frame"] >= len(scenes[name]) - 1, read
    assert read["roi"] >= len(scenes[name]) - 1, read


def test_the_plain_credential_reads_at_a_smaller_size(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    """A credential without a template is a smaller symbol (version 8): it needs fewer pixels."""
    text = credentials["plain"]
    frame = scenes["obama.mp4"][0]
    h, w = frame.shape[:2]
    quad = card_quad((0.78 * w, 0.3 * h), card_side_for(text, 2.6), 8, 0.05)
    assert [c.text for c in QrReader().read(composite(frame, card_image(text), quad))] == [text]


def test_a_card_upside_down_or_on_its_side_is_read(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    text = credentials["plain"]
    frame = scenes["biden.mp4"][1]
    h, w = frame.shape[:2]
    for angle in (90, 180, 265):
        quad = card_quad((0.72 * w, 0.55 * h), card_side_for(text, 3.2), angle, 0.0)
        codes = QrReader().read(composite(frame, card_image(text), quad, seed=angle))
        assert [c.text for c in codes] == [text], angle


def test_two_codes_at_once_are_reported_as_two(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    first, second = credentials["with_template"], credentials["plain"]
    frame = scenes["biden.mp4"][2]
    h, w = frame.shape[:2]
    left = card_quad((0.30 * w, 0.55 * h), card_side_for(first, 3.0), -8, 0.03)
    right = card_quad((0.75 * w, 0.55 * h), card_side_for(second, 3.0), 10, 0.03)
    shot = composite(composite(frame, card_image(first), left, seed=1), card_image(second), right)
    codes = QrReader().read(shot)
    assert sorted(c.text for c in codes) == sorted([first, second])
    by_text = {c.text: c for c in codes}
    assert inside(by_text[first].centre, left) and inside(by_text[second].centre, right)
    # Two copies of the same card are two codes too: the gate must see the ambiguity.
    twin = composite(composite(frame, card_image(first), left, seed=2), card_image(first), right)
    assert [c.text for c in QrReader().read(twin)] == [first, first]


def test_a_damaged_code_gives_nothing(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    text = credentials["with_template"]
    frame = scenes["obama.mp4"][3]
    h, w = frame.shape[:2]
    reader = QrReader()
    card = card_image(text)
    side = card.shape[0]
    qr_off, qr_side = round(side * 0.15 / 1.3), round(side / 1.3)
    # A thumb over a third of the symbol: far beyond what error correction level M repairs.
    thumb = card.copy()
    cv2.ellipse(
        thumb,
        (qr_off + qr_side // 2, qr_off + qr_side // 2),
        (qr_side // 3, qr_side // 4),
        30,
        0,
        360,
        150,
        -1,
    )
    # A scratched, faded band across the data.
    scratched = card.copy()
    band = scratched[qr_off + qr_side // 3 : qr_off + qr_side // 2, qr_off : qr_off + qr_side]
    band[...] = np.where(np.random.default_rng(3).random(band.shape) < 0.5, 255 - band, band)
    quad = card_quad((0.80 * w, 0.36 * h), card_side_for(text, 3.2), 5, 0.02)
    assert [c.text for c in reader.read(composite(frame, card, quad))] == [text]  # intact
    for damaged in (thumb, scratched):
        assert reader.read(composite(frame, damaged, quad)) == []
    # Light damage that error correction repairs gives the right text, never another one.
    speck = card.copy()
    cv2.circle(speck, (qr_off + qr_side // 2, qr_off + qr_side // 2), qr_side // 30, 255, -1)
    assert [c.text for c in reader.read(composite(frame, speck, quad))] in ([], [text])


def test_a_code_too_small_gives_nothing(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    """The template credential seen from too far: about one pixel a module."""
    text = credentials["with_template"]
    frame = scenes["biden.mp4"][3]
    h, w = frame.shape[:2]
    quad = card_quad((0.7 * w, 0.6 * h), card_side_for(text, 3.0), 4, 0.0)
    assert [c.text for c in QrReader().read(composite(frame, card_image(text), quad))] == [text]
    for pixels_per_module in (0.8, 1.1):
        quad = card_quad((0.7 * w, 0.6 * h), card_side_for(text, pixels_per_module), 4, 0.0)
        shot = composite(frame, card_image(text), quad, blur=0.6)
        assert QrReader().read(shot) == []
        assert QrReader().read(shot, Region(0, 0, w, h)) == []


def test_the_region_of_interest_restricts_the_search(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    text = credentials["plain"]
    frame = scenes["biden.mp4"][4]
    h, w = frame.shape[:2]
    quad = card_quad((0.75 * w, 0.6 * h), card_side_for(text, 3.0), 0, 0.0)
    shot = composite(frame, card_image(text), quad)
    reader = QrReader(roi_margin=0.0)
    assert reader.read(shot, Region(0, 0, w // 3, h // 2)) == []
    assert reader.read(shot, Region(w, h, w + 10, h + 10)) == []  # outside the frame
    codes = reader.read(shot, Region(w // 2, h // 3, w, h))
    assert [c.text for c in codes] == [text]
    assert inside(codes[0].centre, quad)  # positions are in frame pixels, not ROI pixels


def test_frames_without_a_code_give_nothing(scenes: dict[str, list[np.ndarray]]) -> None:
    reader = QrReader()
    for frames in scenes.values():
        for frame in frames:
            assert reader.read(frame) == []


def test_a_big_frame_is_downscaled_and_positions_map_back(
    scenes: dict[str, list[np.ndarray]], credentials: dict[str, str]
) -> None:
    text = credentials["plain"]
    frame = cv2.resize(scenes["biden.mp4"][5], (2560, 1440), interpolation=cv2.INTER_CUBIC)
    quad = card_quad((1800.0, 850.0), card_side_for(text, 7.0), 6, 0.03)
    shot = composite(frame, card_image(text), quad, blur=1.4)
    codes = QrReader(max_side=1280).read(shot)
    assert [c.text for c in codes] == [text]
    assert all(inside((float(x), float(y)), quad) for x, y in codes[0].corners)
