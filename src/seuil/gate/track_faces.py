"""Face signatures for the tailgating watch: is a face that came back someone counted?

A :class:`~seuil.domain.tracks.TrackCounter` counts one person per confirmed face track;
a face lost for a moment (a pupil looking back over her shoulder) comes back as a new
track. :class:`TrackFaces` lets the counter tell whether it is the same person: it
embeds the track's face in the frame where the track is confirmed (once per track, only
during an opening) and compares embeddings at a lenient same-person threshold.

The threshold is the engine's single-image calibration (``calibration_dlib.json``, one
face against one face, which is what two frames of a track are) at FMR 1e-3, not the
more lenient 1e-2. Merging two different people is a tailgater missed (the usual one
walks in right behind, once the first face is out of view), so that error weighs more.
Measured on gate-sized frames (``benchmarks/tailgating_tracks.py``, docs/benchmarks.md),
cross-person scores run above LFW's: Obama against the ``real2`` subject reaches 0.930,
above the 1e-2 threshold (0.915) for 2.5 % of frame pairs and above none at 1e-3
(0.933), while that subject's face back after a head turn scored 0.936-0.986. The
cost: on the calibration set 5 % of same-person pairs fall below 1e-3 (0.7 % at 1e-2),
so about one look back in twenty still gives a REFER (every one did before); a face
that cannot be compared is counted too. Two faces in one frame are always two people.

Nothing is stored: the embeddings live in the counter, for one opening.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from seuil.domain.faces import FaceBox
from seuil.domain.tracks import TrackCounter
from seuil.engine.pipeline import FaceEngine, Vector
from seuil.engine.quality import GATE, QualityCode
from seuil.engine.scoring import OperatingPoint, load_default_calibration
from seuil.ports.face import RGBImage

__all__ = ["SAME_PERSON_FMR", "TrackFaces"]

logger = logging.getLogger(__name__)

SAME_PERSON_FMR = 1e-3  # see the module's docstring
# A face this small or blurred gives an embedding nobody should compare: not signed.
_UNSIGNABLE = frozenset({QualityCode.TOO_SMALL, QualityCode.BLURRED})


class TrackFaces:
    """Signs tracks with the gate's face engine and says whether two are one person."""

    def __init__(self, engine: FaceEngine, fmr: float = SAME_PERSON_FMR) -> None:
        self.engine = engine
        self.threshold = load_default_calibration().threshold(OperatingPoint(fmr))
        self.embeddings = 0  # faces embedded (each costs a few ms)
        self.seconds = 0.0  # time spent signing, landmarks and alignment included

    def counter(self) -> TrackCounter[Vector]:
        """A track counter for one opening, with the same-person test."""
        return TrackCounter(same=self.same)

    def same(self, a: Vector, b: Vector) -> bool:
        return float(np.dot(a, b)) >= self.threshold

    def signature(self, image: RGBImage, box: FaceBox) -> Vector | None:
        """The embedding of the face in ``box``; None when it is too small or blurred
        to compare (the counter then counts the track as someone new)."""
        start = time.perf_counter()
        try:
            faces = self.engine.analyse(image, [box], GATE)
            if not faces or any(i.code in _UNSIGNABLE for i in faces[0].quality.issues):
                return None
            self.embeddings += 1
            embedding: Vector = self.engine.embed_faces(faces[:1])[0]
            return embedding
        except Exception:  # an engine failure must not stop the lane: counted as new
            logger.exception("tailgating watch: a face could not be compared")
            return None
        finally:
            self.seconds += time.perf_counter() - start
