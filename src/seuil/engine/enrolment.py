"""Build a face template from several enrolment photos, refusing bad ones with reasons."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from seuil.domain.errors import InvalidImageError
from seuil.engine.images import decode_image, load_image
from seuil.engine.pipeline import FaceAnalysis, FaceEngine, Vector
from seuil.engine.quality import GATE, QualityCode, QualityIssue, QualityThresholds
from seuil.engine.templates import fuse_embeddings
from seuil.ports.face import BuiltTemplate, PhotoCheck, RGBImage

PhotoSource = Path | tuple[str, bytes]
DISPLAY_SIDE = 320  # the gate agent's visual-check photo: enough to recognise, no more


@dataclass(frozen=True, slots=True)
class PhotoVerdict:
    """What happened to one enrolment photo."""

    source: str
    accepted: bool
    quality: float = 0.0
    issues: tuple[QualityIssue, ...] = ()
    error: str = ""

    def as_check(self) -> PhotoCheck:
        return PhotoCheck(
            self.source,
            self.accepted,
            self.quality,
            tuple(i.code.value for i in self.issues) or (("invalid_image",) if self.error else ()),
            tuple(i.message_fr for i in self.issues) or ((self.error,) if self.error else ()),
            tuple(i.message_en for i in self.issues) or ((self.error,) if self.error else ()),
        )


@dataclass(slots=True)
class EnrolmentResult:
    template: Vector | None
    verdicts: list[PhotoVerdict] = field(default_factory=list)
    best: tuple[RGBImage, FaceAnalysis] | None = None  # the best accepted photo and face

    @property
    def accepted(self) -> int:
        return sum(v.accepted for v in self.verdicts)


def _load(source: PhotoSource, engine: FaceEngine) -> tuple[str, RGBImage]:
    if isinstance(source, Path):
        return source.name, load_image(source, engine.image_limits)
    name, data = source
    return name, decode_image(data, engine.image_limits, name=name)


def enrol_photos(
    engine: FaceEngine,
    photos: Sequence[PhotoSource],
    *,
    strict: bool = True,
    max_images: int = 10,
    limits: QualityThresholds | None = None,
) -> EnrolmentResult:
    """Encode each photo; keep those that pass quality (all with a face if not strict).

    The template fuses the best ``max_images`` accepted photos, weighted by quality.
    """
    embeddings: list[Vector] = []
    weights: list[float] = []
    result = EnrolmentResult(template=None)
    best_score = -1.0
    for source in photos:
        try:
            name, image = _load(source, engine)
        except InvalidImageError as exc:
            label = source.name if isinstance(source, Path) else source[0]
            result.verdicts.append(PhotoVerdict(label, False, error=exc.message))
            continue
        faces = engine.analyse(image, limits=limits)
        if not faces:
            issue = QualityIssue(QualityCode.NO_FACE, 0.0)
            result.verdicts.append(PhotoVerdict(name, False, issues=(issue,)))
            continue
        main = faces[0]
        ok = main.quality.acceptable or not strict
        result.verdicts.append(PhotoVerdict(name, ok, main.quality.score, main.quality.issues))
        if ok:
            embeddings.append(engine.embed_faces([main])[0])
            weights.append(main.quality.score)
            if main.quality.score > best_score:
                best_score, result.best = main.quality.score, (image, main)
    if embeddings:
        order = np.argsort(weights)[::-1][:max_images]
        result.template = fuse_embeddings(
            np.stack([embeddings[i] for i in order]), np.array([weights[i] for i in order])
        )
    return result


def display_photo(image: RGBImage, face: FaceAnalysis, side: int = DISPLAY_SIDE) -> bytes:
    """A head-and-shoulders crop around the face, at most ``side`` px, as JPEG."""
    h, w = image.shape[:2]
    box = face.box
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    half = max(box.width, box.height) * 1.1
    x0, x1 = max(0, int(cx - half)), min(w, int(cx + half))
    y0, y1 = max(0, int(cy - half * 1.1)), min(h, int(cy + half * 1.3))
    crop = Image.fromarray(image[y0:y1, x0:x1])
    crop.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=85)
    return buf.getvalue()


class EngineTemplateBuilder:
    """The TemplateBuilder port, served by the face engine."""

    def __init__(self, engine: FaceEngine) -> None:
        self._engine = engine

    def build(
        self, photos: Sequence[tuple[str, bytes]], from_camera: bool = False
    ) -> BuiltTemplate:
        # Frames captured by a gate camera are graded as gate frames (smaller faces).
        result = enrol_photos(self._engine, list(photos), limits=GATE if from_camera else None)
        checks = tuple(v.as_check() for v in result.verdicts)
        if result.template is None or result.best is None:
            return BuiltTemplate(None, checks)
        image, face = result.best
        template = np.asarray(result.template, dtype="<f4").tobytes()
        return BuiltTemplate(template, checks, display_photo(image, face))

    def pack_for_credential(self, template: bytes) -> bytes:
        from seuil.engine.quantise import quantise

        return quantise(np.frombuffer(template, dtype="<f4"), "int8")
