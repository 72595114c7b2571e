"""The engine speed benchmark: seuil's backends and the face_recognition package, one run.

Numbers are medians of repeated runs on real frames and faces from ``../shared``; the
machine is shared and noisy, so what matters is the ratio measured in the same run.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from seuil.domain.errors import ConfigurationError
from seuil.ports.face import RGBImage
from seuil.shared_data import shared_dir


def _median_ms(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def _frame(video: Path, size: tuple[int, int], at_s: float = 2.0) -> RGBImage:
    import cv2

    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, at_s * 1000.0)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise ConfigurationError(f"cannot read a frame of {video}")
    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame[:, :, ::-1])


def _lfw_chips(shared: Path, n: int) -> list[RGBImage]:
    from seuil.bootstrap import build_face_engine
    from seuil.engine.images import load_image
    from seuil.settings import DlibEmbedderSettings, EngineSettings, Settings

    engine = build_face_engine(Settings(engine=EngineSettings(embedder=DlibEmbedderSettings())))
    chips: list[RGBImage] = []
    root = shared / "faces" / "lfw" / "images"
    for person in sorted(root.iterdir()):
        if len(chips) >= n:
            break
        first = sorted(person.glob("*.jpg"))[:1]
        faces = engine.analyse(load_image(first[0])) if first else []
        if faces:
            chips.append(faces[0].chip)
    return chips


def run_engine_bench(repeats: int = 30, shared: Path | None = None) -> dict[str, Any]:
    """Measure detection and embedding; returns the report (the JSON interface)."""
    from seuil.bootstrap import build_detector, build_embedder
    from seuil.engine.detection import TrackingDetector
    from seuil.engine.models import dlib_model_files
    from seuil.settings import (
        DlibEmbedderSettings,
        EngineSettings,
        OnnxEmbedderSettings,
    )

    root = shared or shared_dir()
    if root is None:
        raise ConfigurationError(
            "the benchmark needs real faces: put the shared data folder beside the checkout "
            "or set SEUIL_SHARED_DIR"
        )
    files = dlib_model_files()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "detect_ms": {},
        "detect_tracking_ms": {},
        "embed_ms": {},
        "embed_batch16_ms_per_face": {},
        "peer": {},
    }
    frames = {
        "640x360": _frame(root / "video" / "biden.mp4", (640, 360)),
        "1280x720": _frame(root / "video" / "biden.mp4", (1280, 720)),
    }
    gate_cfg = EngineSettings().gate_detector
    for key, frame in frames.items():
        detector = build_detector(gate_cfg, files)
        report["detect_ms"][key] = _median_ms(partial(detector.detect, frame), repeats)
        tracker = TrackingDetector(build_detector(gate_cfg, files), full_scan_every=5)
        report["detect_tracking_ms"][key] = _median_ms(partial(tracker.detect, frame), repeats)

    chips = _lfw_chips(root, 16)
    # A whole enrolment photo: detection, landmarks, alignment and embedding (with the
    # engine's test-time augmentation) against face_recognition's detect + encode.
    from seuil.bootstrap import build_face_engine
    from seuil.engine.images import load_image

    photo = load_image(root / "faces/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg")
    engine = build_face_engine(purpose="enrol")
    report["encode_photo_ms"] = {
        "seuil": _median_ms(partial(engine.encode_image, photo), max(5, repeats // 2))
    }
    backends = {
        "onnx": build_embedder(EngineSettings(embedder=OnnxEmbedderSettings()), files),
        "dlib": build_embedder(EngineSettings(embedder=DlibEmbedderSettings()), files),
    }
    for name, emb in backends.items():
        n = repeats if name != "dlib" else max(5, repeats // 3)
        report["embed_ms"][name] = _median_ms(partial(emb.embed, chips[:1]), n)
        report["embed_batch16_ms_per_face"][name] = _median_ms(
            partial(emb.embed, chips), max(3, n // 4), warmup=1
        ) / len(chips)

    if importlib.util.find_spec("face_recognition") is not None:
        import face_recognition

        loc_frame = frames["1280x720"]
        locs = face_recognition.face_locations(loc_frame, number_of_times_to_upsample=1)
        chip_img = chips[0]
        h, w = chip_img.shape[:2]
        chip_loc = [(int(h * 0.12), int(w * 0.88), int(h * 0.88), int(w * 0.12))]
        n = max(5, repeats // 3)
        report["embed_ms"]["face_recognition"] = _median_ms(
            partial(face_recognition.face_encodings, chip_img, chip_loc, model="small"), n
        )
        for key, frame in frames.items():
            report["peer"][f"detect_ms_{key}"] = _median_ms(
                partial(face_recognition.face_locations, frame, number_of_times_to_upsample=1),
                max(5, repeats // 3),
            )
        report["peer"]["faces_found_1280x720"] = len(locs)

        def peer_encode() -> object:
            found = face_recognition.face_locations(photo, number_of_times_to_upsample=1)
            return face_recognition.face_encodings(photo, found, model="small")

        report["encode_photo_ms"]["face_recognition"] = _median_ms(
            peer_encode, max(5, repeats // 2)
        )
    else:
        report["peer"]["missing"] = (
            "face_recognition is not installed: pip install --no-deps face_recognition==1.3.0"
        )
    onnx_ms = report["embed_ms"]["onnx"]
    if "face_recognition" in report["encode_photo_ms"]:
        report["ratios"] = {
            "encode_photo_peer_over_seuil": report["encode_photo_ms"]["face_recognition"]
            / report["encode_photo_ms"]["seuil"]
        }
    report.setdefault("ratios", {})
    report["ratios"] |= {
        f"embed_{peer}_over_onnx": report["embed_ms"][peer] / onnx_ms
        for peer in ("dlib", "face_recognition")
        if peer in report["embed_ms"]
    }
    for key in frames:
        peer_key = f"detect_ms_{key}"
        if peer_key in report["peer"]:
            report["ratios"][f"detect_peer_over_seuil_{key}"] = (
                report["peer"][peer_key] / report["detect_ms"][key]
            )
    return report


def print_report(report: dict[str, Any]) -> None:
    print("Detection (gate path, HOG on <= 640 px), ms per frame, median:")
    for key, ms in report["detect_ms"].items():
        peer = report["peer"].get(f"detect_ms_{key}")
        peer_txt = f"   face_recognition (HOG, upsample 1): {peer:8.1f}" if peer else ""
        print(
            f"  {key:>9}: full scan {ms:7.1f}   with ROI tracking "
            f"{report['detect_tracking_ms'][key]:7.1f}{peer_txt}"
        )
    print("Embedding, ms per face, median (single / batch of 16):")
    for name, ms in report["embed_ms"].items():
        batch = report["embed_batch16_ms_per_face"].get(name)
        batch_txt = f"{batch:8.1f}" if batch is not None else "       -"
        print(f"  {name:>16}: {ms:8.1f} / {batch_txt}")
    encode = report["encode_photo_ms"]
    peer_txt = (
        f"   face_recognition: {encode['face_recognition']:.1f}"
        if "face_recognition" in encode
        else ""
    )
    print(
        "Whole 250x250 photo (detect + align + embed), ms, median: "
        f"seuil (3 crops x mirror): {encode['seuil']:.1f}{peer_txt}"
    )
    for name, ratio in report.get("ratios", {}).items():
        print(f"  ratio {name}: {ratio:.1f}x")
    if "missing" in report["peer"]:
        print(f"  peer: {report['peer']['missing']}")
