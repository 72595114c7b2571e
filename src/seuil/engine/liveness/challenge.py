"""Active challenge: did the person blink, or turn their head, soon after being asked?

Both checks run on the frames that follow the prompt (frame 0 = the prompt is shown) and
use only the 5-point landmarks and the pixels around them:

- TURN_HEAD: the yaw ratio (:func:`seuil.engine.quality.yaw_ratio`) moves at least
  ``min_yaw_change`` away from its value when the prompt appeared, *and* the eye-width
  ratio (:func:`seuil.engine.liveness.motion.eye_width_ratio`) moves the opposite way by
  at least ``min_eye_change``, as a turning head does. A tilted flat photo can move its
  yaw ratio (a diagonal tilt shears it) but not its eye-width ratio (see
  :mod:`seuil.engine.liveness.motion`). Both are smoothed by a running median of 3 frames.
- BLINK: the eye openness (:func:`seuil.engine.liveness.motion.eye_openness`) dips below
  ``(1 - blink_drop)`` of its typical value for at most ``blink_max_frames`` frames, with
  open eyes before and after, while the head keeps still (a blur from moving the head
  also softens the eyes).

Counts are in frames at the rate the gate analyses (about 10 per second by default).
A replayed *video* can contain a blink or a turn by chance: the challenge's strength is
that its kind and moment are not known in advance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from seuil.engine.liveness.motion import eye_openness, eye_width_ratio, landmark_array
from seuil.engine.quality import yaw_ratio
from seuil.ports.liveness import ActiveChallenge, LivenessFrame


@dataclass(frozen=True, slots=True)
class ChallengeSettings:
    """Limits of the active challenge (frames at the gate's analysis rate)."""

    within_frames: int = 30  # the action must start within this many frames of the prompt
    min_yaw_change: float = 0.20  # in inter-ocular units (a clear head turn is 0.3-0.6)
    min_eye_change: float = 0.10  # change of log(eye width ratio), opposite to the yaw's
    blink_drop: float = 0.30
    blink_max_frames: int = 5
    blink_max_motion: float = 0.15  # head displacement during the dip, in eye distances


@dataclass(frozen=True, slots=True)
class ChallengeResult:
    """Whether the challenge was met, at which frame, and the measured amplitude."""

    challenge: ActiveChallenge
    met: bool
    frame: int | None = None
    amplitude: float = 0.0


def _smooth(values: Sequence[float]) -> npt.NDArray[np.float64]:
    """Running median over 3 frames (2 at the ends)."""
    x = np.asarray(values, dtype=np.float64)
    return np.array([np.median(x[max(0, i - 1) : i + 2]) for i in range(x.size)])


def detect_head_turn(
    yaws: Sequence[float],
    eye_ratios: Sequence[float],
    settings: ChallengeSettings = ChallengeSettings(),
) -> tuple[int | None, float]:
    """First index of a head turn, and the largest yaw change from the start."""
    if len(yaws) < 2 or len(yaws) != len(eye_ratios):
        return None, 0.0
    yaw, eye = _smooth(yaws), _smooth(eye_ratios)
    head = min(3, yaw.size)
    d_yaw = yaw - float(np.median(np.asarray(yaws, dtype=np.float64)[:head]))
    d_eye = eye - float(np.median(np.asarray(eye_ratios, dtype=np.float64)[:head]))
    turned = (np.abs(d_yaw) >= settings.min_yaw_change) & (
        d_eye * np.sign(d_yaw) <= -settings.min_eye_change
    )
    hits = np.flatnonzero(turned)
    return (int(hits[0]) if hits.size else None), float(np.abs(d_yaw).max())


def find_blinks(
    openness: Sequence[float],
    displacement: Sequence[float] | None = None,
    settings: ChallengeSettings = ChallengeSettings(),
) -> list[int]:
    """Start indices of every blink in an openness series.

    A blink: openness below ``1 - blink_drop`` of the series' median for 1 to
    ``blink_max_frames`` frames, at least ``1 - blink_drop / 2`` just before and after,
    and the head moving at most ``blink_max_motion`` meanwhile. ``displacement[i]`` is
    the mean landmark displacement between frames i - 1 and i, in eye distances.
    """
    values = np.asarray(openness, dtype=np.float64)
    n = values.size
    baseline = float(np.median(values)) if n else 0.0
    if n < 3 or baseline <= 0:
        return []
    relative = values / baseline
    moved = np.zeros(n) if displacement is None else np.asarray(displacement, dtype=np.float64)
    closed = relative < 1.0 - settings.blink_drop
    open_again = relative >= 1.0 - settings.blink_drop / 2.0
    found: list[int] = []
    i = 1
    while i < n - 1:
        if not closed[i] or not open_again[i - 1]:
            i += 1
            continue
        end = i
        while end < n and closed[end]:
            end += 1
        if (
            end < n
            and open_again[end]
            and end - i <= settings.blink_max_frames
            and float(moved[i : end + 1].sum()) <= settings.blink_max_motion
        ):
            found.append(i)
        i = end
    return found


def detect_blink(
    openness: Sequence[float],
    displacement: Sequence[float] | None = None,
    settings: ChallengeSettings = ChallengeSettings(),
) -> tuple[int | None, float]:
    """First index of a blink (see :func:`find_blinks`), and the deepest relative dip."""
    values = np.asarray(openness, dtype=np.float64)
    if values.size < 3 or float(np.median(values)) <= 0:
        return None, 0.0
    deepest = float(1.0 - values.min() / float(np.median(values)))
    found = find_blinks(openness, displacement, settings)
    return (found[0] if found else None), deepest


def check_challenge(
    challenge: ActiveChallenge,
    frames: Sequence[LivenessFrame],
    settings: ChallengeSettings = ChallengeSettings(),
) -> ChallengeResult:
    """Check a challenge on the frames shown after the prompt (frames without a face skip)."""
    positions = [i for i, f in enumerate(frames[: settings.within_frames]) if f.face is not None]
    window = [frames[i] for i in positions]
    faces = [f.face for f in window if f.face is not None]
    if challenge is ActiveChallenge.TURN_HEAD:
        hit, amplitude = detect_head_turn(
            [yaw_ratio(face.landmarks) for face in faces],
            [eye_width_ratio(face.landmarks) for face in faces],
            settings,
        )
        return _result(challenge, positions, hit, amplitude)
    openness = [eye_openness(f.image, f.face.landmarks) for f in window if f.face is not None]
    points = [landmark_array(face.landmarks) for face in faces]
    moved = [0.0] + [
        float(np.sqrt(((b - a) ** 2).sum(axis=1).mean())) / max(face.landmarks.inter_ocular, 1.0)
        for a, b, face in zip(points, points[1:], faces[1:], strict=False)
    ]
    hit, amplitude = detect_blink(openness, moved, settings)
    return _result(challenge, positions, hit, amplitude)


def _result(
    challenge: ActiveChallenge, positions: list[int], hit: int | None, amplitude: float
) -> ChallengeResult:
    """``frame`` is the index in the caller's frame list (frames without a face count)."""
    frame = None if hit is None else positions[hit]
    return ChallengeResult(challenge, hit is not None, frame, amplitude)
