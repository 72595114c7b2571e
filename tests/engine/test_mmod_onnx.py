"""The converted MMOD face detector finds the same boxes as dlib's own CNN detector."""

from __future__ import annotations

import dlib
import numpy as np
import pytest

from seuil.engine.images import load_image
from seuil.engine.mmod_onnx import MmodOnnxDetector
from seuil.engine.models import dlib_model_files


@pytest.fixture(scope="module")
def detectors():
    path = dlib_model_files().cnn_detector
    return MmodOnnxDetector(path), dlib.cnn_face_detection_model_v1(str(path))


def test_same_boxes_and_scores_as_dlib(shared, detectors):
    onnx_det, dlib_det = detectors
    people = sorted(p for p in (shared / "faces/lfw/images").iterdir() if p.is_dir())[:8]
    images = [load_image(sorted(p.glob("*.jpg"))[0]) for p in people]
    images.append(load_image(shared / "faces/portraits/two_people.jpg"))
    compared = 0
    for image in images:
        ref = [
            ((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), d.confidence)
            for d in dlib_det(image, 0)
        ]
        got = onnx_det.detect_scored(image)
        assert len(got) == len(ref)
        for box, score in ref:
            best = min(got, key=lambda g: max(abs(a - b) for a, b in zip(g[0], box, strict=True)))
            assert max(abs(a - b) for a, b in zip(best[0], box, strict=True)) <= 1
            assert best[1] == pytest.approx(score, abs=1e-3)
            compared += 1
    assert compared >= 9


def test_no_face_in_noise(detectors):
    onnx_det, _ = detectors
    noise = np.random.default_rng(5).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert onnx_det.detect(noise) == []
