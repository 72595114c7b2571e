"""Liveness: unit tests on synthetic faces, and APCER / BPCER on ../shared/spoof."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from seuil.domain.faces import FaceBox, Landmarks5, Point
from seuil.engine.liveness.challenge import (
    ChallengeSettings,
    check_challenge,
    detect_blink,
    detect_head_turn,
)
from seuil.engine.liveness.evaluation import apcer, apcer_at_bpcer, bpcer, bpcer_at_apcer, rates
from seuil.engine.liveness.fusion import FusedLiveness, FusionSettings
from seuil.engine.liveness.linear import LinearScorer, fit_logistic
from seuil.engine.liveness.motion import (
    eye_openness,
    eye_width_ratio,
    shows_3d_motion,
    summarise_motion,
)
from seuil.engine.liveness.texture import (
    TextureLiveness,
    TextureModel,
    TextureSpec,
    face_patch,
    lbp_histogram,
    texture_features,
)
from seuil.engine.quality import yaw_ratio
from seuil.ports.liveness import (
    ActiveChallenge,
    FaceObservation,
    LivenessDetector,
    LivenessFrame,
    LivenessReason,
)

# -- synthetic faces ------------------------------------------------------------------------

# dlib order: subject's left eye (image right) outer, inner; right eye outer, inner; nose.
BASE = ((130.0, 90.0), (110.0, 90.0), (70.0, 90.0), (90.0, 90.0), (102.0, 125.0))


@dataclass(frozen=True)
class Face:
    box: FaceBox
    landmarks: Landmarks5
    chip: np.ndarray


def landmarks(points=BASE) -> Landmarks5:
    return Landmarks5(tuple(Point(float(x), float(y)) for x, y in points))


def turned(yaw: float) -> Landmarks5:
    """A head turned by ``yaw``: the nose slides along the eye line, the far eye narrows."""
    left_outer = 110.0 + 20.0 * math.exp(-yaw / 2)  # subject's left eye (image right)
    right_outer = 90.0 - 20.0 * math.exp(yaw / 2)
    pts = [(left_outer, 90.0), BASE[1], (right_outer, 90.0), BASE[3]]
    return landmarks([*pts, (BASE[4][0] + yaw * 40.0, BASE[4][1])])


def tilted_photo(angle_deg: float, roll_deg: float = 30.0) -> Landmarks5:
    """The same flat face turned in its plane by ``roll_deg`` then tilted by ``angle_deg``
    about the camera's vertical axis (a diagonal tilt: the face shears)."""
    a, r = math.radians(angle_deg), math.radians(roll_deg)
    k = np.array([[600.0, 0, 100], [0, 600.0, 100], [0, 0, 1]])
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    h = k @ ry @ rz @ np.linalg.inv(k)
    moved = cv2.perspectiveTransform(np.array(BASE)[None, :, :], h)[0] + np.array([angle_deg, 0])
    return landmarks(moved.tolist())


def face_image(
    eyes_open: bool, shift: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, Landmarks5]:
    """A 200x200 face-like picture: skin with fine texture, eyes open or shut."""
    rng = np.random.default_rng(7)  # the same skin texture in every frame
    skin = np.array([185, 140, 120], dtype=np.float64)
    image = skin + rng.normal(0, 6, (200, 200, 1))
    image = np.clip(image, 0, 255).astype(np.uint8)
    for cx in (80, 120):
        if eyes_open:
            cv2.ellipse(image, (cx, 90), (11, 5), 0, 0, 360, (235, 235, 230), -1)
            cv2.circle(image, (cx, 90), 4, (40, 30, 25), -1)
            cv2.ellipse(image, (cx, 90), (11, 5), 0, 0, 360, (60, 40, 35), 1)
        else:
            cv2.line(image, (cx - 10, 91), (cx + 10, 91), (160, 118, 100), 1)
    dx, dy = shift
    if dx or dy:
        image = cv2.warpAffine(
            image, np.float32([[1, 0, dx], [0, 1, dy]]), (200, 200), borderMode=cv2.BORDER_REFLECT
        )
    pts = [(x + dx, y + dy) for x, y in BASE]
    return np.ascontiguousarray(image), landmarks(pts)


def frame(image: np.ndarray, lm: Landmarks5) -> LivenessFrame:
    return LivenessFrame(image, Face(FaceBox(50, 50, 150, 170), lm, image[:150, :150]))


def blink_sequence(closed: range, moving: bool = False) -> list[LivenessFrame]:
    frames = []
    for i in range(20):
        shift = (6.0 * (i - 7), 0.0) if moving and i in range(7, 11) else (0.0, 0.0)
        frames.append(frame(*face_image(i not in closed, shift)))
    return frames


# -- active challenge -------------------------------------------------------------------


def test_eye_openness_drops_when_the_eyes_close():
    open_value = eye_openness(*face_image(True))
    shut_value = eye_openness(*face_image(False))
    assert shut_value < 0.6 * open_value


def test_blink_challenge_is_met_by_a_blink():
    result = check_challenge(ActiveChallenge.BLINK, blink_sequence(range(8, 10)))
    assert result.met
    assert result.frame == 8


def test_blink_challenge_is_not_met_without_a_blink():
    assert not check_challenge(ActiveChallenge.BLINK, blink_sequence(range(0))).met


def test_eyes_kept_shut_are_not_a_blink():
    assert not check_challenge(ActiveChallenge.BLINK, blink_sequence(range(5, 18))).met


def test_blink_too_late_is_not_counted():
    settings = ChallengeSettings(within_frames=6)
    assert not check_challenge(ActiveChallenge.BLINK, blink_sequence(range(8, 10)), settings).met


def test_a_dip_while_the_head_moves_is_not_a_blink():
    openness = [1.0] * 6 + [0.5, 0.5] + [1.0] * 6
    still = [0.0] * len(openness)
    moving = [0.0] * 6 + [0.2, 0.2, 0.2] + [0.0] * 5
    assert detect_blink(openness, still)[0] == 6
    assert detect_blink(openness, moving)[0] is None


def _frames(track: list[Landmarks5]) -> list[LivenessFrame]:
    return [frame(np.zeros((200, 200, 3), np.uint8), lm) for lm in track]


def test_head_turn_challenge():
    turn = _frames([turned(y) for y in np.linspace(0, 0.35, 10)])
    still = _frames([turned(0.02 * (i % 2)) for i in range(10)])
    result = check_challenge(ActiveChallenge.TURN_HEAD, turn)
    assert result.met and result.amplitude > 0.25  # from the median of the first frames
    assert not check_challenge(ActiveChallenge.TURN_HEAD, still).met
    assert shows_3d_motion(summarise_motion([turned(y) for y in np.linspace(0, 0.3, 8)]))


def test_a_tilted_flat_photo_does_not_pass_for_a_head_turn():
    # +-35 degrees, diagonal or not, at 10 face widths from the camera. Known limit: tilts
    # of 50 degrees and more (35 held very close) do pass, see docs/benchmarks.md.
    for roll in (0.0, 30.0, 45.0):
        track = [tilted_photo(a, roll) for a in np.linspace(-35, 35, 12)]
        yaws = [yaw_ratio(lm) for lm in track]
        eyes = [eye_width_ratio(lm) for lm in track]
        if roll == 0.0:
            assert max(yaws) - min(yaws) < 0.05  # aligned tilt: the yaw ratio holds ...
            assert max(eyes) - min(eyes) > 0.15  # ... perspective moves the eye widths
        else:
            assert max(yaws) - min(yaws) > 0.12  # diagonal tilt: the yaw ratio shears
        assert not check_challenge(ActiveChallenge.TURN_HEAD, _frames(track)).met
        assert not shows_3d_motion(summarise_motion(track))


def test_head_turn_needs_two_frames():
    assert detect_head_turn([0.4], [0.0]) == (None, 0.0)


# -- texture, linear model, fusion ----------------------------------------------------------


def test_lbp_histogram_is_normalised_and_brightness_invariant():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 200, (64, 64)).astype(np.uint8)
    hist = lbp_histogram(grey, 1)
    assert hist.shape == (59,) and hist.sum() == pytest.approx(1.0)
    assert np.allclose(lbp_histogram(grey + 40, 1), hist)  # a brighter copy, same texture
    assert lbp_histogram(grey, 2).shape == (59,)


def test_face_patch_normalises_face_size():
    image, lm = face_image(True)
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    lm2 = Landmarks5(tuple(Point(p.x * 2, p.y * 2) for p in lm.points))
    spec = TextureSpec()
    a = face_patch(image, lm, spec).astype(float)
    b = face_patch(big, lm2, spec).astype(float)
    assert a.shape == b.shape == (spec.size, spec.size)
    assert np.abs(a - b).mean() < 6.0
    near_edge = Landmarks5(tuple(Point(p.x - 95, p.y) for p in lm.points))
    assert face_patch(image, near_edge, spec).shape == (spec.size, spec.size)


def test_logistic_fit_separates_and_refuses_one_class():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(1, 0.5, (50, 3)), rng.normal(-1, 0.5, (80, 3))])
    y = np.r_[np.ones(50), np.zeros(80)]
    scorer = fit_logistic(x, y, l2=1.0)
    scores = scorer.score(x)
    assert np.mean((scores >= 0) == (y == 1)) > 0.97
    assert LinearScorer.from_dict(scorer.to_dict()).score(x) == pytest.approx(scores)
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic(x[:50], y[:50])


def test_shipped_model_loads_and_scores():
    model = TextureModel.load()
    assert model.scorer.weights.shape == (model.spec.dim,)
    image, lm = face_image(True)
    assert np.isfinite(model.score(texture_features(image, lm, model.spec))).all()


def _fixed(bias: float) -> TextureLiveness:
    spec = TextureSpec()
    return TextureLiveness(TextureModel(spec, LinearScorer(np.zeros(spec.dim), bias)))


def test_fusion_rules():
    live_texture = FusedLiveness(_fixed(1.0))
    still = blink_sequence(range(0))
    assert isinstance(live_texture, LivenessDetector)
    assert isinstance(still[0].face, FaceObservation)
    verdict = live_texture.assess(still)
    assert verdict.live and verdict.reasons == () and verdict.score == pytest.approx(1.0)

    attack = FusedLiveness(_fixed(-1.0)).assess(still)
    assert not attack.live and attack.reasons == (LivenessReason.TEXTURE_ATTACK,)

    failed = live_texture.assess(still, ActiveChallenge.BLINK)
    assert not failed.live and LivenessReason.CHALLENGE_FAILED in failed.reasons
    assert live_texture.assess(blink_sequence(range(8, 10)), ActiveChallenge.BLINK).live

    strict = FusedLiveness(_fixed(1.0), FusionSettings(require_3d_motion=True))
    assert strict.assess(still).reasons == (LivenessReason.NO_3D_MOTION,)

    empty = [LivenessFrame(still[0].image, None)] * 5
    no_face = live_texture.assess(empty)
    assert not no_face.live and no_face.reasons == (LivenessReason.NO_FACE,)


def test_texture_detector_refuses_a_challenge():
    with pytest.raises(ValueError, match="challenge"):
        _fixed(1.0).assess(blink_sequence(range(0)), ActiveChallenge.BLINK)


def test_error_rates():
    live = np.array([0.5, 1.0, 2.0, 3.0, -1.0])
    attack = np.array([-3.0, -2.0, 0.2, 1.5])
    assert apcer(attack, 0.0) == pytest.approx(0.5)
    assert bpcer(live, 0.0) == pytest.approx(0.2)
    value, threshold = apcer_at_bpcer(live, attack, 0.0)  # no live sample may be rejected
    assert threshold == -1.0 and value == pytest.approx(0.5)
    value, threshold = bpcer_at_apcer(live, attack, 0.25)  # one attack of four may pass
    assert 0.2 < threshold <= 1.5 and value == pytest.approx(0.2)
    r = rates(live, attack, 10.0)
    assert r["attacks_accepted"] == 0 and r["apcer_upper95"] == pytest.approx(0.75)


# -- measured on ../shared/spoof ------------------------------------------------------------


@pytest.fixture(scope="module")
def report(shared, enrol_engine, gate_engine):
    from seuil.engine.liveness.evaluation import EvalConfig, evaluate

    cfg = EvalConfig()
    result, _models = evaluate(
        shared / "spoof",
        enrol_engine.analyse,
        gate_engine.analyse,
        cfg,
        shipped=TextureModel.load(),
    )
    return result


@pytest.mark.shared
@pytest.mark.slow
def test_spoof_data_is_what_the_report_says(report):
    data = report["data"]
    assert data["live"]["sources"] == {"real2.webm": 214}
    assert data["attack"]["sources"] == {"fake2.webm": 229, "other": 80}
    assert data["live"]["no_face"] == data["attack"]["no_face"] == 0


@pytest.mark.shared
@pytest.mark.slow
def test_crops_meet_the_target_on_held_out_blocks(report):
    # Measured: fold 0 APCER 0/120, BPCER 0/76; fold 1 APCER 1/126, BPCER 0/96.
    for fold in report["folds"]:
        crops = fold["crops"]
        assert crops["attack"] >= 100 and crops["live"] >= 70
        assert crops["apcer"] <= 0.03, fold["fold"]
        assert crops["bpcer"] <= 0.03, fold["fold"]
        assert crops["apcer_at_bpcer5"] <= 0.03
        assert fold["scale_control"]["bpcer"] <= 0.05  # not a face-size detector
    shipped = report["shipped_model_fold0_test"]
    assert shipped["apcer"] <= 0.03 and shipped["bpcer"] <= 0.03


@pytest.mark.shared
@pytest.mark.slow
def test_clips_held_out_frames_and_verdicts(report):
    # Measured per frame (10 fps): APCER 3.4 % / 9.4 %, BPCER 0 % / 0 %.
    for fold in report["folds"]:
        clips = fold["clips"]
        assert clips["frames"]["apcer"] <= 0.15
        assert clips["frames"]["bpcer"] <= 0.05
        assert clips["windows"]["bpcer"] == 0.0
        assert clips["windows"]["apcer"] <= 0.2
        assert clips["clip_verdicts"]["real2.webm"]["live"]
        assert not clips["clip_verdicts"]["fake2.webm"]["live"]


@pytest.mark.shared
@pytest.mark.slow
def test_unseen_attack_source_ranking_and_motion(report):
    for r in report["unseen_attack_source"]:
        assert r["apcer_at_bpcer5"] <= 0.05  # the ranking carries over ...
    seen_clip = report["unseen_attack_source"][0]
    assert seen_clip["apcer"] <= 0.05  # ... and so does the threshold, in this direction
    motion = report["motion"]
    # Measured: synthetic tilted photos 0/10 windows with 3-D motion, 0/10 TURN_HEAD;
    # the live clip 7/9 windows with 3-D motion.
    assert motion["synthetic_flat_photo"]["share_with_3d_motion"] <= 0.1
    assert motion["synthetic_flat_photo"]["share_turn_head_met"] <= 0.1
    assert motion["real2.webm"]["share_with_3d_motion"] >= 0.6
