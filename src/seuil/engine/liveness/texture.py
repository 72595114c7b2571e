"""Passive single-frame cue: the micro-texture of the face (local binary patterns).

A face replayed on a screen or printed is an image of an image: the screen's pixel grid,
moiré, the second lens and the display's tone curve change the fine texture of the skin.
We cut a grey patch of the face normalised by the eye distance (so the face's size in
pixels does not matter), describe it with uniform local binary patterns (LBP, radii 1 and
2; grey-level invariant, so overall brightness does not matter either) and score the
histogram with a linear model (:mod:`seuil.engine.liveness.linear`).

The shipped weights (``lbp_v1.json``) were fitted by ``seuil eval liveness --model-out``
on one half of ``shared/spoof`` (one subject, one phone screen): see docs/benchmarks.md
for what that does and does not show.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from seuil.domain.faces import Landmarks5
from seuil.engine.liveness.linear import LinearScorer
from seuil.ports.face import RGBImage
from seuil.ports.liveness import (
    ActiveChallenge,
    FaceObservation,
    LivenessAssessment,
    LivenessFrame,
    LivenessReason,
)

FloatArray = npt.NDArray[np.float64]
GreyImage = npt.NDArray[np.uint8]
DEFAULT_MODEL = "lbp_v1.json"


@dataclass(frozen=True, slots=True)
class TextureSpec:
    """How the face patch is cut and described.

    ``side`` is the patch's side in inter-ocular distances (2.4: eyebrows to mouth, cheek
    to cheek), ``size`` its side in pixels after resampling, ``radii`` the LBP radii.
    """

    size: int = 64
    side: float = 2.4
    radii: tuple[int, ...] = (1, 2)

    @property
    def dim(self) -> int:
        return len(self.radii) * _BINS

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "side": self.side, "radii": list(self.radii)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextureSpec:
        return cls(int(data["size"]), float(data["side"]), tuple(int(r) for r in data["radii"]))


def _uniform_lookup() -> npt.NDArray[np.intp]:
    """Map the 256 8-bit codes to 59 bins: 58 uniform patterns, then one for all others."""
    table = np.full(256, 58, dtype=np.intp)
    label = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            table[code] = label
            label += 1
    return table


_UNIFORM = _uniform_lookup()
_BINS = 59


def face_patch(
    image: RGBImage, landmarks: Landmarks5, spec: TextureSpec = TextureSpec()
) -> GreyImage:
    """A grey, upright square of the face, ``spec.side`` eye distances wide, ``spec.size`` px.

    Centred between the eyes' midpoint and the nose base. Large faces are first reduced
    with area averaging (a plain warp would alias); small faces are enlarged bilinearly.
    """
    el, er, nose = landmarks.eye_left, landmarks.eye_right, landmarks.nose
    iod = max(landmarks.inter_ocular, 1.0)
    cx = 0.25 * (el.x + er.x) + 0.5 * nose.x
    cy = 0.25 * (el.y + er.y) + 0.5 * nose.y
    side = spec.side * iod
    reach = side * 0.75  # half the diagonal plus a margin: any rotation fits
    h, w = image.shape[:2]
    x0, y0 = math.floor(cx - reach), math.floor(cy - reach)
    x1, y1 = math.ceil(cx + reach), math.ceil(cy + reach)
    crop = image[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    if crop.size == 0:
        return np.zeros((spec.size, spec.size), dtype=np.uint8)
    pad = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    if any(pad):
        grey = cv2.copyMakeBorder(grey, *pad, borderType=cv2.BORDER_REFLECT_101)
    factor = spec.size / side  # output pixels per input pixel
    if factor < 1.0:
        grey = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        local_scale = 1.0  # the reduced image is already at the output scale
        centre = ((cx - x0) * factor, (cy - y0) * factor)
    else:
        local_scale = factor
        centre = (cx - x0, cy - y0)
    angle = math.degrees(math.atan2(el.y - er.y, el.x - er.x))
    matrix = cv2.getRotationMatrix2D(centre, angle, local_scale)
    matrix[0, 2] += spec.size / 2.0 - centre[0]
    matrix[1, 2] += spec.size / 2.0 - centre[1]
    out = cv2.warpAffine(
        grey, matrix, (spec.size, spec.size), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )  # fmt: skip
    return np.ascontiguousarray(out, dtype=np.uint8)


def lbp_histogram(grey: GreyImage, radius: int = 1) -> FloatArray:
    """Normalised histogram of uniform 8-neighbour LBP codes (square neighbourhood)."""
    g = grey.astype(np.int16)
    h, w = g.shape
    if h <= 2 * radius or w <= 2 * radius:
        raise ValueError("patch too small for this LBP radius")
    r = radius
    centre = g[r : h - r, r : w - r]
    codes = np.zeros(centre.shape, dtype=np.uint8)
    offsets = ((-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r))
    for bit, (dy, dx) in enumerate(offsets):
        neighbour = g[r + dy : h - r + dy, r + dx : w - r + dx]
        codes |= (neighbour >= centre).astype(np.uint8) << bit
    hist: FloatArray = np.bincount(_UNIFORM[codes].ravel(), minlength=_BINS).astype(np.float64)
    return hist / float(hist.sum())


def texture_features(
    image: RGBImage, landmarks: Landmarks5, spec: TextureSpec = TextureSpec()
) -> FloatArray:
    """The feature vector of one face: LBP histograms at each radius, concatenated."""
    patch = face_patch(image, landmarks, spec)
    return np.concatenate([lbp_histogram(patch, r) for r in spec.radii])


@dataclass(frozen=True, slots=True)
class TextureModel:
    """Texture spec + linear scorer + operating threshold, as saved to JSON."""

    spec: TextureSpec
    scorer: LinearScorer
    threshold: float = 0.0
    name: str = "lbp"
    notes: dict[str, Any] = field(default_factory=dict)

    def score(self, features: npt.ArrayLike) -> FloatArray:
        return self.scorer.score(features)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.spec.to_dict(),
            "threshold": self.threshold,
            **self.scorer.to_dict(),
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextureModel:
        spec = TextureSpec.from_dict(data["spec"])
        scorer = LinearScorer.from_dict(data)
        if scorer.weights.shape != (spec.dim,):
            raise ValueError(f"model has {scorer.weights.size} weights, spec needs {spec.dim}")
        return cls(spec, scorer, float(data["threshold"]), str(data["name"]), data.get("notes", {}))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> TextureModel:
        """Load a model file, or the shipped default when ``path`` is None."""
        if path is None:
            text = (
                resources.files("seuil.engine.liveness").joinpath(DEFAULT_MODEL).read_text("utf-8")
            )
        else:
            text = Path(path).read_text(encoding="utf-8")
        data: dict[str, Any] = json.loads(text)
        return cls.from_dict(data)


class TextureLiveness:
    """A :class:`~seuil.ports.liveness.LivenessDetector` on skin texture alone.

    A sequence is judged on the median of its frame scores (robust to a few blurred or
    badly detected frames); it needs at least ``min_frames`` frames with a face.
    """

    def __init__(self, model: TextureModel | None = None, min_frames: int = 1) -> None:
        self.model = model or TextureModel.load()
        self.min_frames = min_frames
        self.name = f"texture:{self.model.name}"

    @property
    def threshold(self) -> float:
        return self.model.threshold

    def features(self, image: RGBImage, face: FaceObservation) -> FloatArray:
        return texture_features(image, face.landmarks, self.model.spec)

    def score_frame(self, image: RGBImage, face: FaceObservation) -> float:
        return float(self.model.score(self.features(image, face))[0])

    def frame_scores(self, frames: Sequence[LivenessFrame]) -> list[float]:
        return [self.score_frame(f.image, f.face) for f in frames if f.face is not None]

    def assess(
        self, frames: Sequence[LivenessFrame], challenge: ActiveChallenge | None = None
    ) -> LivenessAssessment:
        """Texture only; asking it for a challenge is an error (use ``FusedLiveness``)."""
        if challenge is not None:
            raise ValueError("the texture detector cannot check an active challenge")
        return self.verdict(self.frame_scores(frames))

    def verdict(self, scores: Sequence[float]) -> LivenessAssessment:
        if len(scores) < self.min_frames:
            return LivenessAssessment(False, -math.inf, (LivenessReason.NO_FACE,), self.name)
        score = float(np.median(scores))
        live = score >= self.model.threshold
        reasons = () if live else (LivenessReason.TEXTURE_ATTACK,)
        return LivenessAssessment(live, score, reasons, self.name)
