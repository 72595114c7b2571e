"""Port of presentation-attack detection (liveness): is a live person in front of the camera?

Vocabulary of ISO/IEC 30107-3: a *bona fide* presentation is a live person; an *attack*
presentation is a photo, a screen replay, a mask. A detector gives each frame a score
(higher = more likely live) and each short sequence of frames a :class:`LivenessAssessment`.

The gate decides *when* to ask for an :class:`ActiveChallenge` (heightened-security
periods); detectors only check that the requested action happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from seuil.domain.faces import FaceBox, Landmarks5
from seuil.ports.face import RGBImage


class ActiveChallenge(StrEnum):
    """An action the person is asked to perform in front of the camera."""

    BLINK = "blink"
    TURN_HEAD = "turn_head"


class LivenessReason(StrEnum):
    """Stable codes carried in :attr:`LivenessAssessment.reasons`."""

    NO_FACE = "no_face"  # too few frames with a face to judge
    TEXTURE_ATTACK = "texture_attack"  # the skin texture looks like a screen or a print
    NO_3D_MOTION = "no_3d_motion"  # head motion was required and the face moved like a plane
    CHALLENGE_FAILED = "challenge_failed"  # the requested blink / head turn did not happen


@runtime_checkable
class FaceObservation(Protocol):
    """What a liveness detector needs of one detected face (``FaceAnalysis`` fits)."""

    @property
    def box(self) -> FaceBox: ...
    @property
    def landmarks(self) -> Landmarks5: ...
    @property
    def chip(self) -> RGBImage: ...


@dataclass(frozen=True, slots=True)
class LivenessFrame:
    """One camera frame and the face of the person being checked in it (None: no face)."""

    image: RGBImage
    face: FaceObservation | None
    timestamp_s: float = 0.0


@dataclass(frozen=True, slots=True)
class LivenessAssessment:
    """The decision on a sequence of frames.

    ``score`` is the detector's fused score (higher = more likely live; the detector's
    operating threshold separates live from attack), ``reasons`` are
    :class:`LivenessReason` codes, ``method`` names the detector and its model version.
    """

    live: bool
    score: float
    reasons: tuple[str, ...]
    method: str


@runtime_checkable
class LivenessDetector(Protocol):
    """Presentation-attack detection on single frames and on short sequences."""

    name: str

    @property
    def threshold(self) -> float:
        """The score at and above which a face is judged live."""
        ...

    def score_frame(self, image: RGBImage, face: FaceObservation) -> float:
        """Score one frame's face: higher means more likely a live person."""
        ...

    def assess(
        self, frames: Sequence[LivenessFrame], challenge: ActiveChallenge | None = None
    ) -> LivenessAssessment:
        """Judge a sequence of frames of one person, with an optional active challenge."""
        ...
