"""Operating points, calibration (FMR -> threshold, JSON) and the MATCH/REFER/NO_MATCH band."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seuil.domain.errors import ConfigurationError, DataFormatError
from seuil.engine.scoring import (
    Calibration,
    CalibrationPoint,
    DecisionBand,
    OperatingPoint,
    Verdict,
    calibrate,
    load_default_calibration,
)


@pytest.mark.parametrize(
    ("text", "fmr"),
    [
        ("FMR 1e-3", 1e-3),
        ("fmr=1e-4", 1e-4),
        ("1e-2", 1e-2),
        ("0.001", 1e-3),
        ("0.1%", 1e-3),
        ("1 in 10,000", 1e-4),
        ("1/1000", 1e-3),
    ],
)
def test_operating_point_parse(text: str, fmr: float) -> None:
    assert OperatingPoint.parse(text).fmr == pytest.approx(fmr)


@pytest.mark.parametrize("text", ["", "FMR", "abc", "0", "1", "1 in 0", "-1e-3", "150%", "nan"])
def test_operating_point_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigurationError):
        OperatingPoint.parse(text)


def test_operating_point_labels() -> None:
    point = OperatingPoint(1e-3)
    assert (point.key, point.label, str(point)) == ("1e-3", "FMR 1e-3", "FMR 1e-3")
    assert point.describe() == "FMR 1e-3: about 1 impostor in 1,000 accepted"


def synthetic_scores(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.9, 0.03, 2_000), rng.normal(0.5, 0.1, 40_000)


def test_calibrate_keeps_only_estimable_fmrs() -> None:
    genuine, impostor = synthetic_scores()
    cal = calibrate(genuine, impostor, engine="e1", source="synthetic")
    fmrs = [p.fmr for p in cal.points]
    # 40,000 impostors support FMR down to 1e-4 (needs 30,000) but not 5e-5 (60,000).
    assert min(fmrs) == pytest.approx(1e-4)
    assert max(fmrs) == pytest.approx(1e-1)
    assert cal.impostors == 40_000
    assert cal.genuine == 2_000
    for p in cal.points:
        assert np.mean(impostor >= p.threshold) <= p.fmr
        assert p.fnmr == pytest.approx(np.mean(genuine < p.threshold))
    with pytest.raises(ValueError, match="too few"):
        calibrate(genuine, impostor[:20], engine="e1")  # FMR 1e-1 needs 30


def test_threshold_lookup_and_interpolation() -> None:
    cal = Calibration(
        "e",
        (CalibrationPoint(1e-2, 0.5, 0.01), CalibrationPoint(1e-4, 0.7, 0.05)),
        genuine=10,
        impostors=30_000,
    )
    assert cal.threshold(OperatingPoint(1e-2)) == 0.5
    assert cal.threshold(1e-4) == 0.7
    assert cal.threshold(1e-3) == pytest.approx(0.6)  # halfway in log10(FMR)
    assert cal.fmr_at(0.6) == pytest.approx(1e-3)
    assert cal.fmr_at(0.9) == pytest.approx(1e-4)  # clamped to the calibrated range
    with pytest.raises(ConfigurationError, match="outside the calibrated range"):
        cal.threshold(1e-5)
    with pytest.raises(ConfigurationError, match="outside the calibrated range"):
        cal.threshold(0.05)


def test_calibration_refuses_rising_thresholds() -> None:
    with pytest.raises(ConfigurationError, match="fall"):
        Calibration("e", (CalibrationPoint(1e-2, 0.7, 0), CalibrationPoint(1e-4, 0.5, 0)), 1, 1)
    with pytest.raises(ConfigurationError):
        Calibration("e", (), 1, 1)


def test_calibration_json_round_trip(tmp_path: Path) -> None:
    cal = calibrate(*synthetic_scores(), engine="v1|emb=onnx", source="synthetic")
    path = tmp_path / "cal.json"
    cal.save(path)
    assert Calibration.load(path) == cal
    data = json.loads(path.read_text())
    assert data["format"] == "seuil.calibration"
    assert data["points"][0]["key"] == "1e-4"


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"format": "other", "version": 1}',
        '{"format": "seuil.calibration", "version": 1, "engine": "e"}',
        '{"format": "seuil.calibration", "version": 1, "engine": "e", "genuine": 1,'
        ' "impostors": 1, "points": [{"fmr": 0.01}]}',
        '{"format": "seuil.calibration", "version": 1, "engine": "e", "genuine": 1,'
        ' "impostors": 1, "points": [{"fmr": 0.01, "threshold": 0.4, "fnmr": 0},'
        ' {"fmr": 0.001, "threshold": 0.3, "fnmr": 0}]}',
    ],
)
def test_malformed_calibration_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cal.json"
    path.write_text(content)
    with pytest.raises(DataFormatError) as info:
        Calibration.load(path)
    assert str(path) in info.value.message


def test_default_calibration_is_shipped_and_sane() -> None:
    cal = load_default_calibration()
    assert cal.engine.startswith("v1|")
    assert cal.impostors >= 30_000  # supports FMR 1e-4
    low, high = cal.fmr_range
    assert low <= 1e-4 and high >= 1e-2
    t4, t3, t2 = (cal.threshold(f) for f in (1e-4, 1e-3, 1e-2))
    assert -1.0 <= t2 < t3 < t4 <= 1.0
    assert "DevTrain" in cal.source


def test_decision_band_verdicts() -> None:
    band = DecisionBand(match_threshold=0.8, refer_threshold=0.6)
    assert band.decide(0.8) is Verdict.MATCH
    assert band.decide(0.95) is Verdict.MATCH
    assert band.decide(0.7999) is Verdict.REFER
    assert band.decide(0.6) is Verdict.REFER
    assert band.decide(0.5999) is Verdict.NO_MATCH
    assert band.decide(float("-inf")) is Verdict.NO_MATCH
    assert band.decide(None) is Verdict.REFER  # no usable face: a human decides
    with pytest.raises(ValueError, match="NaN"):
        band.decide(float("nan"))


def test_band_around_a_threshold() -> None:
    band = DecisionBand.around(0.7, 0.05)
    assert (band.match_threshold, band.refer_threshold) == pytest.approx((0.75, 0.65))
    plain = DecisionBand.around(0.7)
    assert plain.decide(0.7) is Verdict.MATCH
    assert plain.decide(0.69) is Verdict.NO_MATCH
    with pytest.raises(ConfigurationError):
        DecisionBand.around(0.7, -0.1)
    with pytest.raises(ConfigurationError):
        DecisionBand(0.5, 0.6)
    with pytest.raises(ConfigurationError):
        DecisionBand(float("inf"), 0.6)


def test_band_from_operating_points() -> None:
    cal = calibrate(*synthetic_scores(), engine="e")
    band = DecisionBand.from_operating_points(cal, OperatingPoint(1e-4), OperatingPoint(1e-2))
    assert band.match_threshold == cal.threshold(1e-4)
    assert band.refer_threshold == cal.threshold(1e-2)
    assert band.as_fmr(cal) == pytest.approx((1e-4, 1e-2))
    no_band = DecisionBand.from_operating_points(cal, OperatingPoint(1e-3))
    assert no_band.match_threshold == no_band.refer_threshold == cal.threshold(1e-3)
    with pytest.raises(ConfigurationError, match="looser"):
        DecisionBand.from_operating_points(cal, OperatingPoint(1e-2), OperatingPoint(1e-4))


@settings(deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(0.0, 0.3), st.floats(-1.0, 1.0))
def test_band_verdicts_are_ordered_by_score(threshold: float, margin: float, score: float) -> None:
    band = DecisionBand.around(threshold, margin)
    order = {Verdict.NO_MATCH: 0, Verdict.REFER: 1, Verdict.MATCH: 2}
    assert order[band.decide(score)] <= order[band.decide(score + 0.01)]
