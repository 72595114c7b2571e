"""Sequence cues from the five landmarks: 3-D head motion, planarity, eye openness.

Planarity. A photo or a screen is flat: the camera sees its points move by a homography,
for a face-sized object at gate distance almost exactly by an affine map. dlib's five
points are four nearly collinear eye corners and the nose base. Under an affine map:

- ratios of lengths along a line are kept, so the *eye-width ratio* (log of the width of
  one eye over the other, :func:`eye_width_ratio`) of a flat face never changes; a live
  head that turns narrows the far eye and widens the near one;
- the *yaw ratio* (nose offset along the eye line over the eye distance,
  :func:`seuil.engine.quality.yaw_ratio`) is kept only when the photo tilts about the
  face's own vertical axis. Tilted along a diagonal, a photo shears and its yaw ratio moves
  as if the head turned (seen on synthetic tilted photos: up to 0.35).

So 3-D motion needs both: the yaw ratio changes *and* the eye widths change the way a
turning head changes them (opposite sign). The eye-width ratio is noisy (an eye is some
20 px wide on a gate camera), which is why neither cue is used alone.

Limit: a camera sees in perspective, not affine. A photo tilted towards the camera makes
its near eye look wider too; in pure geometry, five points of a photo tilted diagonally
by 50 degrees or more (35 degrees when held within about five face widths of the lens)
pass both tests. Against such a photo only the texture cue is left.

What this can and cannot tell (docs/benchmarks.md): a person who keeps still looks flat,
so *absence* of 3-D motion is not evidence of an attack; a replayed *video* of a person
who turns their head shows 3-D motion. The cue serves the TURN_HEAD challenge and an
optional "require head motion" mode, not a passive veto.

Eye openness. Open eyes show the iris and eyelid edges: strong grey-level gradients in a
strip along the eye corners. A closed lid is smooth skin. The eye strip's gradient energy
is divided by that of a strip across the nose, so that motion blur and focus, which
soften both, cancel out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from seuil.domain.faces import Landmarks5, Point
from seuil.engine.quality import yaw_ratio
from seuil.ports.face import RGBImage

FloatArray = npt.NDArray[np.float64]


def landmark_array(landmarks: Landmarks5) -> FloatArray:
    """The five points as a (5, 2) array."""
    return np.array([[p.x, p.y] for p in landmarks.points], dtype=np.float64)


def affine_residual(a: FloatArray, b: FloatArray) -> float:
    """RMS distance left after the least-squares affine map from points ``a`` to ``b``."""
    design = np.hstack([a, np.ones((a.shape[0], 1))])
    solution, *_ = np.linalg.lstsq(design, b, rcond=None)
    left = design @ solution - b
    return float(np.sqrt((left**2).sum(axis=1).mean()))


def eye_width_ratio(landmarks: Landmarks5) -> float:
    """log(width of the subject's left eye / width of the right eye); 0 for a frontal face.

    Invariant under any affine motion of a flat picture; a head turning towards image
    right (yaw ratio rising) narrows the subject's left eye, so it falls as the yaw rises.
    """
    p = landmark_array(landmarks)
    left = float(np.linalg.norm(p[0] - p[1]))
    right = float(np.linalg.norm(p[2] - p[3]))
    return math.log(max(left, 1e-3) / max(right, 1e-3))


@dataclass(frozen=True, slots=True)
class MotionSummary:
    """How the landmarks moved over a window of frames (distances in eye distances)."""

    frames: int
    yaw_range: float  # max - min yaw ratio
    eye_ratio_range: float  # max - min eye-width ratio (0 for anything flat)
    turn_agreement: float  # correlation of yaw and eye-width ratio: about -1 for a real turn
    displacement: float  # largest mean point displacement from the first frame
    affine_residual: float  # median over near frame pairs (landmark jitter ~0.005-0.01)


def summarise_motion(landmarks: Sequence[Landmarks5]) -> MotionSummary:
    """Summarise a landmark track (one face, consecutive frames)."""
    n = len(landmarks)
    if n < 2:
        return MotionSummary(n, 0.0, 0.0, 0.0, 0.0, 0.0)
    yaws = np.array([yaw_ratio(lm) for lm in landmarks])
    eyes = np.array([eye_width_ratio(lm) for lm in landmarks])
    points = [landmark_array(lm) for lm in landmarks]
    iods = np.array([max(lm.inter_ocular, 1.0) for lm in landmarks])
    first = points[0]
    displacement = max(
        float(np.sqrt(((p - first) ** 2).sum(axis=1).mean())) / iods[0] for p in points
    )
    residuals = [  # pairs up to 3 frames apart: linear in the window's length
        affine_residual(points[i], points[j]) / iods[i]
        for i in range(n)
        for j in range(i + 1, min(n, i + 4))
    ]
    agreement = 0.0
    if yaws.std() > 1e-9 and eyes.std() > 1e-9:
        agreement = float(np.corrcoef(yaws, eyes)[0, 1])
    return MotionSummary(
        frames=n,
        yaw_range=float(yaws.max() - yaws.min()),
        eye_ratio_range=float(eyes.max() - eyes.min()),
        turn_agreement=agreement,
        displacement=displacement,
        affine_residual=float(np.median(residuals)),
    )


def shows_3d_motion(
    summary: MotionSummary,
    min_yaw_range: float = 0.15,
    min_eye_ratio_range: float = 0.15,
    max_agreement: float = -0.5,
) -> bool:
    """True when the head turned in a way a tilted flat picture cannot reproduce."""
    return (
        summary.yaw_range >= min_yaw_range
        and summary.eye_ratio_range >= min_eye_ratio_range
        and summary.turn_agreement <= max_agreement
    )


# -- eye openness -----------------------------------------------------------------------


def _strip(
    grey: npt.NDArray[np.uint8], a: Point, b: Point, height: float, px: int = 32
) -> FloatArray:
    """A strip along segment a-b, ``height`` times its length tall, ``px`` pixels wide."""
    length = max(math.hypot(b.x - a.x, b.y - a.y), 1.0)
    rows = max(4, round(px * height))
    cx, cy = (a.x + b.x) / 2.0, (a.y + b.y) / 2.0
    angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, px / length)
    matrix[0, 2] += px / 2.0 - cx
    matrix[1, 2] += rows / 2.0 - cy
    out = cv2.warpAffine(
        grey, matrix, (px, rows), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out.astype(np.float64)


def _gradient_energy(strip: FloatArray) -> float:
    gy = np.abs(np.diff(strip, axis=0)).mean()
    gx = np.abs(np.diff(strip, axis=1)).mean()
    return float((gx + gy) / (strip.mean() + 1.0))


def eye_openness(image: RGBImage, landmarks: Landmarks5) -> float:
    """Gradient energy of both eye strips over that of a strip across the nose.

    Unitless, about 1 to 3 for open eyes on a webcam; it drops by a third or more while
    the lids are closed. Only its change over a sequence means anything.
    """
    grey: npt.NDArray[np.uint8] = np.asarray(
        cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY), dtype=np.uint8
    )
    p = landmarks.points
    eyes = [_gradient_energy(_strip(grey, p[i], p[i + 1], 0.6)) for i in (0, 2)]
    er, el, nose = landmarks.eye_right, landmarks.eye_left, landmarks.nose
    iod = max(landmarks.inter_ocular, 1.0)
    ux, uy = (el.x - er.x) / iod, (el.y - er.y) / iod  # along the eyes, image-right
    dx, dy = -uy, ux  # down the face
    depth = 0.6 * ((nose.x - (el.x + er.x) / 2.0) * dx + (nose.y - (el.y + er.y) / 2.0) * dy)
    a = Point(er.x + depth * dx, er.y + depth * dy)
    b = Point(el.x + depth * dx, el.y + depth * dy)
    reference = _gradient_energy(_strip(grey, a, b, 0.5))
    return float(np.mean(eyes)) / max(reference, 1e-3)
