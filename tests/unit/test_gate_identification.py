"""Identification (1:N) mode of the pipeline, with fakes: a face alone starts a presentation."""

from __future__ import annotations

import pytest
from tests.unit.test_gate_pipeline import FRAME, OWNER, PERSON, Access, Clock, Engine, Ticker

from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.gate import Decision, DenyReason, FaceVerdict, GateMode, ReferReason
from seuil.engine.scoring import DecisionBand
from seuil.gate.pipeline import GateOptions, GatePipeline, Identification
from seuil.services.credentials import CredentialCheck

VALID = CredentialCheck(CheckResult.VALID, "c9", PERSON, TemplateStorage.SITE_DATABASE)


class Identifier:
    def __init__(self, result: Identification) -> None:
        self.result = result
        self.probes: list = []

    def identify(self, probe):
        self.probes.append(probe)
        return self.result


def _gate(result: Identification, engine=None, **options):
    decisions, doors = [], []
    ticker = Ticker()
    identifier = Identifier(result)
    pipeline = GatePipeline(
        "g1", Access(), engine or Engine(), DecisionBand(0.9, 0.8), lambda image: [], None,
        lambda: doors.append(1), decisions.append, Clock(),
        GateOptions(mode=GateMode.IDENTIFICATION, **options), monotonic=ticker,
        identifier=identifier,
    )  # fmt: skip
    return pipeline, decisions, doors, ticker, identifier


def _frames(pipeline, ticker, n=10):
    for _ in range(n):
        d = pipeline.on_frame(FRAME)
        ticker.t += 0.1
        if d is not None:
            return d
    return None


def test_identified_and_live_is_granted_with_the_person_named():
    match = Identification(VALID, 0.98, FaceVerdict.MATCH)
    pipeline, _, doors, ticker, ident = _gate(match)
    d = _frames(pipeline, ticker)
    assert d.decision is Decision.GRANT and d.person_ref == "P-TEST" and doors == [1]
    assert d.mode is GateMode.IDENTIFICATION and d.match_score == pytest.approx(0.98)
    assert len(ident.probes) == 1 and ident.probes[0] @ OWNER == pytest.approx(1.0)


def test_nobody_identified_is_referred_without_a_name():
    pipeline, _, doors, ticker, _ = _gate(Identification(None, 0.4, None))
    d = _frames(pipeline, ticker)
    assert d.decision is Decision.REFER and d.reason is ReferReason.PERSON_NOT_FOUND
    assert d.person_ref is None and doors == []


def test_no_margin_is_a_referral():
    pipeline, _, doors, ticker, _ = _gate(Identification(VALID, 0.97, FaceVerdict.REFER))
    d = _frames(pipeline, ticker)
    assert d.reason is ReferReason.REFER_BAND and doors == []


def test_identified_but_revoked_is_denied():
    revoked = CredentialCheck(CheckResult.REVOKED)
    pipeline, _, doors, ticker, _ = _gate(Identification(revoked, 0.99, FaceVerdict.MATCH))
    d = _frames(pipeline, ticker)
    assert d.reason is DenyReason.REVOKED and doors == []


def test_no_face_no_work_and_a_quiet_time_after_a_decision():
    engine = Engine(face=False)
    pipeline, decisions, _, ticker, ident = _gate(Identification(VALID, 0.98, FaceVerdict.MATCH),
                                                  engine, cooldown_s=3.0)  # fmt: skip
    assert _frames(pipeline, ticker, 5) is None and decisions == [] and not ident.probes
    engine.face = True
    assert _frames(pipeline, ticker).decision is Decision.GRANT
    assert _frames(pipeline, ticker, 5) is None  # the same person still in view: quiet
    assert len(decisions) == 1


def test_an_identification_gate_needs_an_identifier():
    with pytest.raises(ValueError, match="identifier"):
        GatePipeline("g", Access(), Engine(), None, lambda i: [], None, lambda: None,  # type: ignore[arg-type]
                     lambda d: None, None, GateOptions(mode=GateMode.IDENTIFICATION))  # type: ignore[arg-type]  # fmt: skip
