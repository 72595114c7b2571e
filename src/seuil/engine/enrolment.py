"""Build a face template from several enrolment photos, refusing bad ones with reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seuil.domain.errors import InvalidImageError
from seuil.engine.images import load_image
from seuil.engine.pipeline import FaceEngine, Vector
from seuil.engine.quality import QualityCode, QualityIssue
from seuil.engine.templates import fuse_embeddings


@dataclass(frozen=True, slots=True)
class PhotoVerdict:
    """What happened to one enrolment photo."""

    source: str
    accepted: bool
    quality: float = 0.0
    issues: tuple[QualityIssue, ...] = ()
    error: str = ""


@dataclass(slots=True)
class EnrolmentResult:
    template: Vector | None
    verdicts: list[PhotoVerdict] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(v.accepted for v in self.verdicts)


def enrol_photos(
    engine: FaceEngine, photos: Sequence[Path], *, strict: bool = True, max_images: int = 10
) -> EnrolmentResult:
    """Encode each photo; keep those that pass quality (all with a face if not strict).

    The template fuses the best ``max_images`` accepted photos, weighted by quality.
    """
    embeddings: list[Vector] = []
    weights: list[float] = []
    result = EnrolmentResult(template=None)
    for path in photos:
        try:
            image = load_image(path, engine.image_limits)
        except InvalidImageError as exc:
            result.verdicts.append(PhotoVerdict(path.name, False, error=exc.message))
            continue
        faces = engine.analyse(image)
        if not faces:
            issue = QualityIssue(QualityCode.NO_FACE, 0.0)
            result.verdicts.append(PhotoVerdict(path.name, False, issues=(issue,)))
            continue
        main = faces[0]
        ok = main.quality.acceptable or not strict
        result.verdicts.append(PhotoVerdict(path.name, ok, main.quality.score, main.quality.issues))
        if ok:
            embeddings.append(engine.embed_faces([main])[0])
            weights.append(main.quality.score)
    if embeddings:
        order = np.argsort(weights)[::-1][:max_images]
        result.template = fuse_embeddings(
            np.stack([embeddings[i] for i in order]), np.array([weights[i] for i in order])
        )
    return result
