"""How long reading credential QR codes takes on 1280x720 camera frames.

Usage::

    python benchmarks/qr_in_frames.py [--frames 60] [--repeats 5]

Frames of ``shared/video/biden.mp4`` (1280x720) are decoded through the replay frame
source; a real signed credential with an int8 template (about 380 characters, QR version
12) is pasted on a card beside the speaker's face in every other frame, at about 3 pixels
a module, tilted, blurred, noisy and JPEG-compressed. Prints the median and 95th
percentile milliseconds per frame, for frames with and without a code, of:

- the whole frame (``QrReader.read(frame)``);
- the lane's region of interest (the face box grown by two face widths: half the frame);
- ``seuil.adapters.qr.read_qr`` on the whole frame (the card-printing module's reader);

and the read rate on frames with a code. Also prints the cost of decoding a frame and
converting it to RGB in the frame source. Needs the ``shared`` folder.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from seuil.adapters.cameras.file_source import FileSource, Pace
from seuil.adapters.cameras.qr_reader import QrReader, Region
from seuil.adapters.crypto.credential_codec import CarriedTemplate, CredentialContent, encode
from seuil.adapters.crypto.keys import Keyring
from seuil.adapters.qr import make_qr, read_qr, render_png
from seuil.domain.credentials import TemplateStorage, new_credential_id
from seuil.engine.quantise import QuantKind, quantise
from seuil.shared_data import shared_dir

FACE = Region(600, 80, 770, 300)  # the speaker's face in biden.mp4's first seconds
LANE = Region(430, 0, 1110, 720)  # face box grown by two face widths each side


def credential_text() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        ring = Keyring.create(Path(tmp) / "keys", datetime(2025, 8, 1, tzinfo=UTC))
        vec = np.random.default_rng(0).normal(size=128)
        claims = CredentialContent(
            new_credential_id(),
            "P-K3J9X2M4QH7T",
            "0830042X",
            TemplateStorage.ON_CREDENTIAL,
            datetime(2025, 9, 1, tzinfo=UTC),
            datetime(2026, 9, 1, tzinfo=UTC),
            template=CarriedTemplate(QuantKind.INT8, quantise(vec, QuantKind.INT8)),
        )
        return encode(claims, ring)


def with_card(frame: np.ndarray, text: str, seed: int) -> np.ndarray:
    """``frame`` (RGB) with the credential on a card held beside the face, camera-degraded."""
    rng = np.random.default_rng(seed)
    qr = np.asarray(Image.open(io.BytesIO(render_png(text, dpi=600))).convert("L"))
    side = make_qr(text).symbol_size(border=4)[0] * rng.uniform(2.8, 3.4)
    angle = np.deg2rad(rng.uniform(-15, 15))
    half = side / 2
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    square[:2, 0] *= 1 - rng.uniform(0, 0.08)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = (square @ turn.T + np.array([900.0, 420.0])).astype(np.float32)
    n = qr.shape[0]
    warp = cv2.getPerspectiveTransform(np.float32([[0, 0], [n, 0], [n, n], [0, n]]), quad)
    size = (frame.shape[1], frame.shape[0])
    paper = cv2.warpPerspective(qr, warp, size, flags=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.warpPerspective(np.full_like(qr, 255), warp, size).astype(np.float32) / 255
    out = frame * (1 - alpha[..., None]) + paper[..., None] * alpha[..., None]
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 0.9))
    out = np.clip(out + rng.normal(0, 5, out.shape), 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    return np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1])


def per_frame_ms(
    frames: list[np.ndarray], read: Callable[[np.ndarray], list[str]], repeats: int
) -> tuple[list[float], list[list[str]]]:
    samples: list[float] = []
    results: list[list[str]] = []
    for frame in frames:
        read(frame)  # warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            texts = read(frame)
            times.append((time.perf_counter() - start) * 1000)
        samples.append(min(times))
        results.append(texts)
    return samples, results


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    return f"{statistics.median(ordered):>8.2f} {p95:>8.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = shared_dir()
    if root is None:
        print("shared/ not found (set SEUIL_SHARED_DIR)", file=sys.stderr)
        return 2
    video = root / "video" / "biden.mp4"

    decode_start = time.perf_counter()
    frames = []
    with FileSource(video, "bench", pace=Pace.LOCKSTEP) as source:
        while len(frames) < args.frames and (frame := source.latest(timeout=10)) is not None:
            frames.append(frame.image)
    decode_ms = (time.perf_counter() - decode_start) * 1000 / max(1, len(frames))
    print(
        f"frame source: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, "
        f"decode + RGB {decode_ms:.1f} ms a frame (lockstep, one consumer)"
    )

    text = credential_text()
    coded = [with_card(f, text, i) for i, f in enumerate(frames[::2])]
    plain = frames[1::2]
    reader = QrReader()
    readers: dict[str, Callable[[np.ndarray], list[str]]] = {
        "QrReader, whole frame": lambda f: [c.text for c in reader.read(f)],
        "QrReader, lane ROI": lambda f: [c.text for c in reader.read(f, LANE)],
        "qr.read_qr, whole frame": read_qr,
    }
    print(f"credential: {len(text)} characters, QR version {make_qr(text).version}")
    header = f"{'reader':<26} {'frames':<9} {'median ms':>9} {'p95 ms':>8} {'read':>7}"
    print(header)
    for name, read in readers.items():
        for label, batch in (("with QR", coded), ("no QR", plain)):
            samples, results = per_frame_ms(batch, read, args.repeats)
            wrong = sum(1 for r in results for t in r if t != text)
            rate = f"{sum(r == [text] for r in results)}/{len(batch)}" if label == "with QR" else ""
            assert wrong == 0, f"{name} read a wrong text"
            print(f"{name:<26} {label:<9} {summary(samples)} {rate:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
