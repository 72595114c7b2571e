"""Site-mode hooks (PPMS) and the active challenge on demand, with fakes around the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from tests.unit.test_gate_pipeline import FRAME, Access, Engine, _pipeline, _run

from seuil.domain.credentials import CheckResult
from seuil.domain.gate import Decision, DenyReason, LivenessVerdict, ReferReason
from seuil.domain.site_mode import SiteMode, read_site_mode
from seuil.gate.pipeline import pad_check
from seuil.ports.liveness import ActiveChallenge, LivenessAssessment


def _with_mode(mode, access=None, engine=None, **options):
    pipeline, decisions, doors, ticker = _pipeline(access or Access(), engine or Engine(),
                                                   **options)  # fmt: skip
    state = {"mode": mode}
    pipeline._site_mode = lambda: state["mode"]
    return pipeline, decisions, doors, ticker, state


def test_confinement_refers_every_would_be_grant_and_never_pulses():
    pipeline, decisions, doors, ticker, _ = _with_mode("confinement")
    d = _run(pipeline, ticker)
    assert d.decision is Decision.REFER and d.reason is ReferReason.CONFINEMENT
    assert doors == [] and decisions == [d] and d.person_ref == "P-TEST"


def test_confinement_keeps_a_deny_with_its_reason():
    pipeline, _, doors, ticker, _ = _with_mode("confinement", Access(CheckResult.REVOKED))
    d = _run(pipeline, ticker)
    assert d.decision is Decision.DENY and d.reason is DenyReason.REVOKED and doors == []


def test_evacuation_records_the_decision_and_pulses_nothing():
    pipeline, decisions, doors, ticker, _ = _with_mode("evacuation")
    d = _run(pipeline, ticker)
    assert d.decision is Decision.GRANT and decisions == [d] and doors == []


def test_mode_is_read_at_each_decision():
    pipeline, _decisions, doors, ticker, state = _with_mode("confinement", cooldown_s=0.5)
    first = _run(pipeline, ticker)
    state["mode"] = "normal"
    ticker.t += 1.0
    second = _run(pipeline, ticker)
    assert first.reason is ReferReason.CONFINEMENT and second.decision is Decision.GRANT
    assert doors == [1]


@pytest.mark.parametrize("bad", ["lockdown", "", None])
def test_unreadable_mode_fails_closed(bad):
    pipeline, _, doors, ticker, _ = _with_mode(bad)
    d = _run(pipeline, ticker)
    assert d.reason is ReferReason.CONFINEMENT and doors == []


def test_a_raising_mode_source_is_confinement():
    def broken() -> str:
        raise ConnectionError("PPMS service down")

    assert read_site_mode(broken) is SiteMode.CONFINEMENT
    assert read_site_mode(None) is SiteMode.NORMAL
    assert read_site_mode(lambda: " Evacuation ") is SiteMode.EVACUATION


# -- the active challenge on demand ---------------------------------------------------------


@dataclass
class Detector:
    threshold: float = 0.0
    asked: list = None  # type: ignore[assignment]

    def __post_init__(self):
        self.asked = []

    def score_frame(self, image, face):
        return 1.0

    def assess(self, frames, challenge=None):
        self.asked.append(challenge)
        return LivenessAssessment(True, 1.0, (), "fake")


def test_challenge_follows_the_heightened_flag_at_each_check():
    detector = Detector()
    heightened = {"on": False}
    check = pad_check(detector, lambda: ActiveChallenge.BLINK if heightened["on"] else None)
    assert check([(FRAME, None)])[0] is LivenessVerdict.LIVE
    heightened["on"] = True
    check([(FRAME, None)])
    heightened["on"] = False
    check([(FRAME, None)])
    assert detector.asked == [None, ActiveChallenge.BLINK, None]


def test_a_fixed_challenge_is_always_asked():
    detector = Detector()
    check = pad_check(detector, ActiveChallenge.TURN_HEAD)
    check([(FRAME, None)])
    check([(FRAME, None)])
    assert detector.asked == [ActiveChallenge.TURN_HEAD] * 2


def test_challenge_policy():
    from seuil.gate.challenge_policy import challenge_source

    assert challenge_source("off", "always") is None
    assert challenge_source("blink", "always") is ActiveChallenge.BLINK
    assert challenge_source("blink", "heightened") is None  # no flag wired: never asked
    flag = {"up": False}
    source = challenge_source("turn_head", "heightened", lambda: flag["up"])
    assert callable(source) and source() is None
    flag["up"] = True
    assert source() is ActiveChallenge.TURN_HEAD

    def broken() -> bool:
        raise RuntimeError("flag store down")

    assert challenge_source("blink", "heightened", broken)() is ActiveChallenge.BLINK
