"""The gate's liveness detector: texture score, optional head-motion rule, active challenge.

One verdict per sequence of frames of one person:

1. texture: the median of the frame scores must reach the model's operating threshold
   (the only passive cue measured to separate live faces from screen replays here);
2. head motion (off by default): with ``require_3d_motion`` the head must also turn a
   little during the sequence, which a flat photo cannot do; a live person who keeps
   still then fails, so this is for heightened-security periods only;
3. active challenge (when the gate asks for one): the blink or head turn must happen.

Every failed rule adds its reason; the verdict is live only when no rule failed. The
verdict's score is the texture score (the number the threshold applies to).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from seuil.engine.liveness.challenge import ChallengeResult, ChallengeSettings, check_challenge
from seuil.engine.liveness.motion import MotionSummary, shows_3d_motion, summarise_motion
from seuil.engine.liveness.texture import TextureLiveness
from seuil.ports.face import RGBImage
from seuil.ports.liveness import (
    ActiveChallenge,
    FaceObservation,
    LivenessAssessment,
    LivenessFrame,
    LivenessReason,
)


@dataclass(frozen=True, slots=True)
class FusionSettings:
    """How the cues are combined."""

    min_face_frames: int = 3
    require_3d_motion: bool = False
    min_yaw_range: float = 0.15
    challenge: ChallengeSettings = field(default_factory=ChallengeSettings)


@dataclass(frozen=True, slots=True)
class LivenessDetail:
    """The verdict and the measurements behind it (for evaluation and event records)."""

    verdict: LivenessAssessment
    frame_scores: tuple[float, ...]
    motion: MotionSummary | None
    challenge: ChallengeResult | None


class FusedLiveness:
    """:class:`~seuil.ports.liveness.LivenessDetector` combining texture, motion, challenge."""

    def __init__(
        self, texture: TextureLiveness | None = None, settings: FusionSettings | None = None
    ) -> None:
        self.texture = texture or TextureLiveness()
        self.settings = settings or FusionSettings()
        self.name = f"fused({self.texture.name})"

    @property
    def threshold(self) -> float:
        return self.texture.model.threshold

    def score_frame(self, image: RGBImage, face: FaceObservation) -> float:
        return self.texture.score_frame(image, face)

    def assess(
        self, frames: Sequence[LivenessFrame], challenge: ActiveChallenge | None = None
    ) -> LivenessAssessment:
        return self.assess_detail(frames, challenge).verdict

    def assess_detail(
        self, frames: Sequence[LivenessFrame], challenge: ActiveChallenge | None = None
    ) -> LivenessDetail:
        cfg = self.settings
        faces = [f.face for f in frames if f.face is not None]
        if len(faces) < cfg.min_face_frames:
            verdict = LivenessAssessment(False, -math.inf, (LivenessReason.NO_FACE,), self.name)
            return LivenessDetail(verdict, (), None, None)
        scores = tuple(self.texture.frame_scores(frames))
        texture = self.texture.verdict(scores)  # median against the threshold; NaN not live
        score = texture.score
        reasons: list[str] = list(texture.reasons)
        motion = summarise_motion([face.landmarks for face in faces])
        if cfg.require_3d_motion and not shows_3d_motion(motion, cfg.min_yaw_range):
            reasons.append(LivenessReason.NO_3D_MOTION)
        result = None
        if challenge is not None:
            result = check_challenge(challenge, frames, cfg.challenge)
            if not result.met:
                reasons.append(LivenessReason.CHALLENGE_FAILED)
        verdict = LivenessAssessment(not reasons, score, tuple(reasons), self.name)
        return LivenessDetail(verdict, scores, motion, result)
