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
