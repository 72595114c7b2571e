"""Median milliseconds per face: dlib's embedder vs the ONNX conversion, side by side.

Usage::

    python benchmarks/embed_backends.py [--faces 32] [--repeats 15] [--threads 2] [--spinning]

Chips are real faces: the first image of LFW identities (sorted by name) from the shared
data folder (``../shared`` next to the project, or ``$SEUIL_SHARED_DIR``), detected with
dlib's HOG detector and aligned with dlib.get_face_chip (150 px, padding 0.25).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import dlib
import face_recognition_models
import numpy as np
from PIL import Image

from seuil.engine.embedding.dlib_backend import DlibEmbedder
from seuil.engine.embedding.onnx_backend import OnnxEmbedder
from seuil.ports.face import FaceEmbedder

BATCH = 16


def shared_dir() -> Path:
    override = os.environ.get("SEUIL_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[1].parent / "shared"


def lfw_chips(count: int) -> list[np.ndarray]:
    images = shared_dir() / "faces" / "lfw" / "images"
    if not images.is_dir():
        sys.exit(f"real faces not found: {images} (set SEUIL_SHARED_DIR)")
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(
        face_recognition_models.pose_predictor_five_point_model_location()
    )
    chips: list[np.ndarray] = []
    for person in sorted(p for p in images.iterdir() if p.is_dir()):
        files = sorted(person.glob("*.jpg"))
        if not files:
            continue
        image = np.asarray(Image.open(files[0]).convert("RGB"))
        boxes = detector(image, 1)
        if boxes:
            box = max(boxes, key=lambda r: r.area())
            chips.append(dlib.get_face_chip(image, predictor(image, box), size=150, padding=0.25))
        if len(chips) == count:
            break
    return chips


def median_ms_per_face(
    run: Callable[[Sequence[np.ndarray]], object], batches: list[list[np.ndarray]]
) -> float:
    run(batches[0])  # warm-up
    times = []
    for batch in batches:
        start = time.perf_counter()
        run(batch)
        times.append((time.perf_counter() - start) * 1000 / len(batch))
    return statistics.median(times)


def measure(embedder: FaceEmbedder, chips: list[np.ndarray], repeats: int) -> tuple[float, float]:
    singles = [[chips[i % len(chips)]] for i in range(repeats)]
    batches = [[chips[(i * BATCH + j) % len(chips)] for j in range(BATCH)] for i in range(repeats)]
    return median_ms_per_face(embedder.embed, singles), median_ms_per_face(embedder.embed, batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=32, help="distinct LFW chips to cycle")
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per setting")
    parser.add_argument("--threads", type=int, default=None, help="ONNX intra-op threads")
    parser.add_argument("--spinning", action="store_true", help="let ONNX threads spin")
    args = parser.parse_args()

    chips = lfw_chips(args.faces)
    onnx_embedder = OnnxEmbedder(
        intra_op_num_threads=args.threads, allow_spinning=args.spinning, batch_size=BATCH
    )
    results = {
        "dlib": measure(DlibEmbedder(), chips, args.repeats),
        "onnx": measure(onnx_embedder, chips, args.repeats),
    }
    print(f"{len(chips)} LFW chips, {args.repeats} timed calls each, {os.cpu_count()} CPUs")
    print(f"{'backend':<8}{'single ms/face':>16}{f'batch{BATCH} ms/face':>20}")
    for name, (single, batch) in results.items():
        print(f"{name:<8}{single:>16.2f}{batch:>20.2f}")
    (dlib_single, dlib_batch), (onnx_single, onnx_batch) = results["dlib"], results["onnx"]
    print(f"{'dlib/onnx':<8}{dlib_single / onnx_single:>15.1f}x{dlib_batch / onnx_batch:>19.1f}x")


if __name__ == "__main__":
    main()
