"""Five-point landmarks (dlib's 5-point model) and face alignment into chips.

Only the 5-point model is used: it is small, fast, and free of the licence restriction
of the 68-point model.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import dlib
import numpy as np

from seuil.domain.faces import FaceBox, Landmarks5, Point
from seuil.ports.face import ChipSpec, RGBImage

# ArcFace-class networks' 112x112 template: eye centres and nose tip (x, y).
_ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366]], dtype=np.float32
)


def _rect(box: FaceBox) -> dlib.rectangle:
    return dlib.rectangle(int(box.left), int(box.top), int(box.right) - 1, int(box.bottom) - 1)


class Dlib5PointPredictor:
    """dlib's 5-point shape predictor."""

    def __init__(self, model_path: Path) -> None:
        self._predictor = dlib.shape_predictor(str(model_path))

    def predict(self, image: RGBImage, box: FaceBox) -> Landmarks5:
        shape = self._predictor(np.ascontiguousarray(image), _rect(box))
        pts = tuple(Point(float(shape.part(i).x), float(shape.part(i).y)) for i in range(5))
        return Landmarks5(pts)  # type: ignore[arg-type]


def align(image: RGBImage, box: FaceBox, landmarks: Landmarks5, spec: ChipSpec) -> RGBImage:
    """Cut the aligned chip an embedder expects."""
    if spec.layout == "dlib":
        parts = dlib.points()
        for p in landmarks.points:
            parts.append(dlib.point(round(p.x), round(p.y)))
        shape = dlib.full_object_detection(_rect(box), parts)
        chip = dlib.get_face_chip(
            np.ascontiguousarray(image), shape, size=spec.size, padding=spec.padding
        )
        return np.ascontiguousarray(chip, dtype=np.uint8)
    if spec.layout == "arcface":
        src = np.array(
            [
                [landmarks.eye_right.x, landmarks.eye_right.y],  # image-left eye
                [landmarks.eye_left.x, landmarks.eye_left.y],
                [landmarks.nose.x, landmarks.nose.y],
            ],
            dtype=np.float32,
        )
        dst = _ARCFACE_TEMPLATE * (spec.size / 112.0)
        matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
        if matrix is None:
            raise ValueError("cannot compute an alignment from these landmarks")
        chip = cv2.warpAffine(
            image,
            matrix,
            (spec.size, spec.size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return np.ascontiguousarray(chip, dtype=np.uint8)
    raise ValueError(f"unknown chip layout {spec.layout!r}")
