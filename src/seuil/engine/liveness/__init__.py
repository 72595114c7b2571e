"""Presentation-attack detection (liveness) behind :mod:`seuil.ports.liveness`.

- :mod:`.texture`: passive single-frame cue (LBP micro-texture + a linear model);
- :mod:`.motion`: landmark-track cues (3-D head motion, planarity, eye openness);
- :mod:`.challenge`: active challenge checks (blink, head turn);
- :mod:`.fusion`: :class:`FusedLiveness`, the detector the gate uses;
- :mod:`.evaluation`: APCER / BPCER on ``shared/spoof`` (``seuil eval liveness``).

Nothing here loads a model at import time; :class:`TextureLiveness` reads its small JSON
weight file when it is built.
"""

from seuil.engine.liveness.challenge import ChallengeResult, ChallengeSettings, check_challenge
from seuil.engine.liveness.fusion import FusedLiveness, FusionSettings, LivenessDetail
from seuil.engine.liveness.texture import TextureLiveness, TextureModel, TextureSpec

__all__ = [
    "ChallengeResult",
    "ChallengeSettings",
    "FusedLiveness",
    "FusionSettings",
    "LivenessDetail",
    "TextureLiveness",
    "TextureModel",
    "TextureSpec",
    "check_challenge",
]
