"""Face image quality with named reasons a school secretary understands.

Measures are taken on the aligned chip (so they do not depend on the photo's size) and
on the landmarks in the photo. Each failed check yields a :class:`QualityIssue` with a
stable code and a French and an English message. The overall ``score`` (0..1) is used
to weight images when several are fused into one template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np

from seuil.domain.faces import FaceBox, Landmarks5
from seuil.ports.face import RGBImage


class QualityCode(StrEnum):
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_SMALL = "face_too_small"
    BLURRED = "blurred"
    TOO_DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    HEAD_TURNED = "head_turned"


MESSAGES: dict[QualityCode, tuple[str, str]] = {
    QualityCode.NO_FACE: (
        "Aucun visage n'a été trouvé sur la photo.",
        "No face was found in the photo.",
    ),
    QualityCode.SEVERAL_FACES: (
        "Plusieurs visages sur la photo : une seule personne doit apparaître.",
        "Several faces in the photo: only one person may appear.",
    ),
    QualityCode.TOO_SMALL: (
        "Le visage est trop petit : rapprochez l'appareil ou utilisez une photo plus grande.",
        "The face is too small: move closer or use a larger photo.",
    ),
    QualityCode.BLURRED: (
        "La photo est floue : tenez l'appareil immobile et faites la mise au point.",
        "The photo is blurred: hold the camera still and focus.",
    ),
    QualityCode.TOO_DARK: (
        "Le visage est trop sombre : ajoutez de la lumière face à la personne.",
        "The face is too dark: add light in front of the person.",
    ),
    QualityCode.OVEREXPOSED: (
        "Le visage est surexposé : évitez le contre-jour et le flash direct.",
        "The face is overexposed: avoid backlight and direct flash.",
    ),
    QualityCode.HEAD_TURNED: (
        "La tête est trop tournée : la personne doit regarder l'objectif.",
        "The head is turned too far: the person must face the camera.",
    ),
}


@dataclass(frozen=True, slots=True)
class QualityIssue:
    code: QualityCode
    value: float

    @property
    def message_fr(self) -> str:
        return MESSAGES[self.code][0]

    @property
    def message_en(self) -> str:
        return MESSAGES[self.code][1]


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """Limits for refusing a photo. Enrolment is stricter than a gate frame."""

    min_inter_ocular_px: float = 28.0
    min_sharpness: float = 12.0  # variance of the Laplacian on the grey chip
    min_brightness: float = 50.0  # mean grey level of the face centre, 0..255
    max_brightness: float = 215.0
    max_clipped_fraction: float = 0.25
    max_yaw_ratio: float = 0.35  # nose offset from the eye midline / inter-ocular distance
    several_faces_area_ratio: float = 0.35  # a second face this large counts as a person


ENROLMENT = QualityThresholds()
GATE = QualityThresholds(min_inter_ocular_px=20.0, min_sharpness=8.0, max_yaw_ratio=0.45)


@dataclass(frozen=True, slots=True)
class QualityReport:
    score: float
    issues: tuple[QualityIssue, ...] = field(default_factory=tuple)
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def acceptable(self) -> bool:
        return not self.issues


def yaw_ratio(landmarks: Landmarks5) -> float:
    """Signed horizontal offset of the nose from the eye midline, in inter-ocular units."""
    el, er = landmarks.eye_left, landmarks.eye_right
    iod = landmarks.inter_ocular
    if iod <= 0:
        return 0.0
    ux, uy = (el.x - er.x) / iod, (el.y - er.y) / iod  # unit vector along the eye line
    mx, my = (el.x + er.x) / 2.0, (el.y + er.y) / 2.0
    nose = landmarks.nose
    return ((nose.x - mx) * ux + (nose.y - my) * uy) / iod


def chip_measures(chip: RGBImage) -> dict[str, float]:
    """Sharpness, brightness and clipping on the central part of an aligned chip."""
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    s = grey.shape[0]
    centre = grey[s // 4 : 3 * s // 4, s // 4 : 3 * s // 4]
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())
    clipped = float(np.mean((centre <= 5) | (centre >= 250)))
    return {"sharpness": sharpness, "brightness": brightness, "clipped": clipped}


def _soft(value: float, limit: float, good: float) -> float:
    """0 at or beyond ``limit``, 1 at or beyond ``good``, linear in between."""
    if good == limit:
        return 1.0 if value >= good else 0.0
    return float(min(1.0, max(0.0, (value - limit) / (good - limit))))


def assess(
    chip: RGBImage,
    landmarks: Landmarks5,
    box: FaceBox,
    other_boxes: list[FaceBox],
    limits: QualityThresholds = ENROLMENT,
) -> QualityReport:
    """Grade one detected face; ``other_boxes`` are the other faces of the same image."""
    measures = chip_measures(chip)
    iod = landmarks.inter_ocular
    yaw = yaw_ratio(landmarks)
    measures.update({"inter_ocular_px": iod, "yaw_ratio": yaw})
    issues: list[QualityIssue] = []
    if iod < limits.min_inter_ocular_px:
        issues.append(QualityIssue(QualityCode.TOO_SMALL, iod))
    if measures["sharpness"] < limits.min_sharpness:
        issues.append(QualityIssue(QualityCode.BLURRED, measures["sharpness"]))
    if measures["brightness"] < limits.min_brightness:
        issues.append(QualityIssue(QualityCode.TOO_DARK, measures["brightness"]))
    elif (
        measures["brightness"] > limits.max_brightness
        or measures["clipped"] > limits.max_clipped_fraction
    ):
        issues.append(QualityIssue(QualityCode.OVEREXPOSED, measures["brightness"]))
    if abs(yaw) > limits.max_yaw_ratio:
        issues.append(QualityIssue(QualityCode.HEAD_TURNED, yaw))
    big_others = [b for b in other_boxes if b.area >= limits.several_faces_area_ratio * box.area]
    if big_others:
        issues.append(QualityIssue(QualityCode.SEVERAL_FACES, float(len(big_others) + 1)))

    score = (
        _soft(iod, limits.min_inter_ocular_px * 0.6, limits.min_inter_ocular_px * 1.6)
        * _soft(
            math.log1p(measures["sharpness"]),
            math.log1p(limits.min_sharpness * 0.3),
            math.log1p(limits.min_sharpness * 4),
        )
        * _soft(-abs(yaw), -limits.max_yaw_ratio * 1.5, -limits.max_yaw_ratio * 0.4)
        * _soft(-abs(measures["brightness"] - 128.0), -100.0, -50.0)
    )
    return QualityReport(score=0.05 + 0.95 * score, issues=tuple(issues), measures=measures)
