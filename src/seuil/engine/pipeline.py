"""The face engine: image -> faces -> quality -> aligned chip -> embedding.

One :class:`FaceEngine` is built by ``seuil.bootstrap`` with a detector, a landmark
predictor and an embedder; it does no work at import time and holds no global state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from seuil.domain.faces import FaceBox, Landmarks5
from seuil.engine.detection import describe, most_central
from seuil.engine.images import DEFAULT_LIMITS, ImageLimits, load_image
from seuil.engine.landmarks import align
from seuil.engine.quality import ENROLMENT, QualityReport, QualityThresholds, assess
from seuil.engine.templates import normalise
from seuil.ports.face import FaceDetector, FaceEmbedder, LandmarkPredictor, RGBImage

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """One detected face: where, its landmarks, its aligned chip and its quality."""

    box: FaceBox
    landmarks: Landmarks5
    chip: RGBImage
    quality: QualityReport
    variants: tuple[RGBImage, ...] = ()  # the same face cut with other paddings (for TTA)


@dataclass(frozen=True, slots=True)
class EncodedFace:
    """An L2-normalised embedding of the main face of an image, with its quality."""

    embedding: Vector
    quality: float
    analysis: FaceAnalysis | None = None


class FaceEngine:
    """Detection, alignment, quality and embedding, wired together."""

    def __init__(
        self,
        detector: FaceDetector,
        landmarks: LandmarkPredictor,
        embedder: FaceEmbedder,
        *,
        flip_tta: bool = True,
        tta_paddings: tuple[float, ...] = (),
        quality_limits: QualityThresholds = ENROLMENT,
        image_limits: ImageLimits = DEFAULT_LIMITS,
    ) -> None:
        self.detector = detector
        self.landmarks = landmarks
        self.embedder = embedder
        self.flip_tta = flip_tta
        # Extra crops only make sense for dlib's layout, whose padding is a parameter.
        self.tta_paddings = tta_paddings if embedder.chip.layout == "dlib" else ()
        self.quality_limits = quality_limits
        self.image_limits = image_limits

    def config_key(self) -> str:
        """Stable text naming everything that changes an embedding (for caches)."""
        chip = self.embedder.chip
        return (
            f"v1|det={describe(self.detector)}|emb={self.embedder.name}"
            f"|chip={chip.layout}:{chip.size}:{chip.padding}|tta={int(self.flip_tta)}"
            + "".join(f",{p}" for p in self.tta_paddings)
        )

    # -- analysis -------------------------------------------------------------------
    def analyse(
        self,
        image: RGBImage,
        boxes: Sequence[FaceBox] | None = None,
        limits: QualityThresholds | None = None,
        *,
        main_only: bool = False,
    ) -> list[FaceAnalysis]:
        """Every face of the image, the main one (large, central) first.

        ``main_only``: only the main face is aligned and graded (the others count only
        for the "several faces" check): at a gate, bystanders are not processed.
        """
        found = list(self.detector.detect(image)) if boxes is None else list(boxes)
        if not found:
            return []
        h, w = image.shape[:2]
        main = most_central(found, w, h)
        ordered = [main] + [b for b in found if b is not main] if main else found
        if main_only:
            ordered = ordered[:1]
        out: list[FaceAnalysis] = []
        for box in ordered:
            lm = self.landmarks.predict(image, box)
            spec = self.embedder.chip
            chip = align(image, box, lm, spec)
            variants = tuple(
                align(image, box, lm, replace(spec, padding=p)) for p in self.tta_paddings
            )
            others = [b for b in found if b is not box]
            quality = assess(chip, lm, box, others, limits or self.quality_limits)
            out.append(FaceAnalysis(box, lm, chip, quality, variants))
        return out

    # -- embeddings -----------------------------------------------------------------
    def embed_chips(self, chips: Sequence[RGBImage]) -> Vector:
        """L2-normalised embeddings, averaged with the mirrored chip when flip_tta is on."""
        if not chips:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        if not self.flip_tta:
            return normalise(self.embedder.embed(chips))
        flipped = [np.ascontiguousarray(c[:, ::-1]) for c in chips]
        raw = self.embedder.embed(list(chips) + flipped)
        n = len(chips)
        return normalise(raw[:n] + raw[n:])

    def embed_faces(self, faces: Sequence[FaceAnalysis]) -> Vector:
        """One embedding per face, averaged over its TTA crops (and their mirrors)."""
        if not faces:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        per_face = 1 + len(faces[0].variants)
        chips = [c for f in faces for c in (f.chip, *f.variants)]
        every = self.embed_chips(chips)  # one batch for all crops of all faces
        return normalise(every.reshape(len(faces), per_face, -1).sum(axis=1))

    def encode_image(self, image: RGBImage) -> EncodedFace | None:
        """The main face's embedding, or None when no face is found."""
        faces = self.analyse(image)
        if not faces:
            return None
        main = faces[0]
        emb = self.embed_faces([main])[0]
        return EncodedFace(emb, main.quality.score, main)

    def encode_path(self, path: Path | str) -> EncodedFace | None:
        """Like :meth:`encode_image` for a file; raises InvalidImageError on a bad file."""
        return self.encode_image(load_image(path, self.image_limits))
