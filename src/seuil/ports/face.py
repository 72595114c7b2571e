"""Ports of the face engine: what detection, landmarks and embedding backends provide.

Images and embeddings cross these ports as numpy arrays:
- an image is ``uint8`` RGB, shape ``(H, W, 3)``, C-contiguous;
- a face chip is an aligned RGB crop, shape ``(S, S, 3)``, where ``S`` and the crop's
  padding are given by the embedder's :class:`ChipSpec`;
- embeddings are ``float32``, shape ``(N, D)``, *not* normalised (backends return what
  their network returns; the scorer normalises).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from seuil.domain.faces import FaceBox, Landmarks5

RGBImage = npt.NDArray[np.uint8]
Embeddings = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ChipSpec:
    """How the aligned crop fed to an embedder is cut.

    ``layout`` names the alignment template: ``"dlib"`` (dlib's get_face_chip: 5-point
    similarity to dlib's mean face with ``padding`` around it) or ``"arcface"`` (the
    112x112 five-point template used by ArcFace-class networks).
    """

    size: int = 150
    padding: float = 0.25
    layout: str = "dlib"


@runtime_checkable
class FaceDetector(Protocol):
    """Finds face rectangles in an RGB image."""

    name: str

    def detect(self, image: RGBImage) -> list[FaceBox]: ...


@runtime_checkable
class LandmarkPredictor(Protocol):
    """Locates the five alignment points inside a face rectangle."""

    def predict(self, image: RGBImage, box: FaceBox) -> Landmarks5: ...


@runtime_checkable
class FaceEmbedder(Protocol):
    """Turns aligned face chips into embeddings (one row per chip)."""

    name: str
    dim: int
    chip: ChipSpec

    def embed(self, chips: Sequence[RGBImage]) -> Embeddings: ...


@dataclass(frozen=True, slots=True)
class PhotoCheck:
    """The verdict on one enrolment photo, with reasons people can read."""

    source: str
    accepted: bool
    quality: float = 0.0
    reasons: tuple[str, ...] = ()  # stable codes, e.g. "face_too_small"
    messages_fr: tuple[str, ...] = ()
    messages_en: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuiltTemplate:
    """A template made from enrolment photos, serialised (float32, little-endian)."""

    template: bytes | None
    checks: tuple[PhotoCheck, ...]
    display_photo: bytes | None = None  # downscaled JPEG of the best accepted face


class TemplateBuilder(Protocol):
    """Enrolment for the use cases: photos in, template bytes out (engine behind it)."""

    def build(
        self, photos: Sequence[tuple[str, bytes]], from_camera: bool = False
    ) -> BuiltTemplate: ...
    def pack_for_credential(self, template: bytes) -> bytes: ...
