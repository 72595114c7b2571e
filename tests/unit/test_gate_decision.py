"""The gate's decision: every combination of evidence, and it fails closed everywhere."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.gate import (
    Decision,
    DenyReason,
    FaceVerdict,
    GateDecision,
    GateMode,
    LivenessVerdict,
    Outcome,
    ReferReason,
    decide,
    deny_reason_for,
)
from seuil.engine.scoring import Verdict

V = CheckResult.VALID
BIO = (
    TemplateStorage.ON_CREDENTIAL,
    TemplateStorage.KEY_ON_CREDENTIAL,
    TemplateStorage.SITE_DATABASE,
)
MATCH, REFER, NO_MATCH = FaceVerdict.MATCH, FaceVerdict.REFER, FaceVerdict.NO_MATCH
LIVE, UNSURE, SPOOF = LivenessVerdict.LIVE, LivenessVerdict.UNCERTAIN, LivenessVerdict.SPOOF
ALL_MODES = list(GateMode)
T = datetime(2025, 9, 2, 7, 55, tzinfo=UTC)


def _grant() -> Outcome:
    return Outcome.grant()


def _deny(reason: DenyReason) -> Outcome:
    return Outcome.deny(reason)


def _refer(reason: ReferReason) -> Outcome:
    return Outcome.refer(reason)


# (credential, storage, face, liveness, mode, extra kwargs) -> expected outcome
CASES = [
    # the one way in
    (V, TemplateStorage.ON_CREDENTIAL, MATCH, LIVE, GateMode.VERIFICATION, {}, _grant()),
    (V, TemplateStorage.KEY_ON_CREDENTIAL, MATCH, LIVE, GateMode.VERIFICATION, {}, _grant()),
    (V, TemplateStorage.SITE_DATABASE, MATCH, LIVE, GateMode.VERIFICATION, {}, _grant()),
    (V, TemplateStorage.SITE_DATABASE, MATCH, LIVE, GateMode.IDENTIFICATION, {}, _grant()),
    # refused credentials: DENY at once, whatever the face says
    (CheckResult.REVOKED, None, None, None, GateMode.VERIFICATION, {}, _deny(DenyReason.REVOKED)),
    (CheckResult.REVOKED, None, MATCH, LIVE, GateMode.VERIFICATION, {}, _deny(DenyReason.REVOKED)),
    (CheckResult.EXPIRED, None, MATCH, LIVE, GateMode.CREDENTIAL_ONLY, {},
     _deny(DenyReason.EXPIRED)),
    (CheckResult.FORGED, None, None, None, GateMode.VERIFICATION, {"device_fault": True},
     _deny(DenyReason.FORGED)),
    (CheckResult.UNKNOWN_KEY, None, None, None, GateMode.VERIFICATION, {},
     _deny(DenyReason.FORGED)),
    (CheckResult.TRUNCATED, None, None, None, GateMode.VERIFICATION, {},
     _deny(DenyReason.MALFORMED)),
    (CheckResult.PERSON_INACTIVE, None, None, None, GateMode.VERIFICATION, {},
     _deny(DenyReason.PERSON_INACTIVE)),
    # non-biometric path and credential-only mode: the agent looks
    (V, TemplateStorage.NONE, None, None, GateMode.VERIFICATION, {},
     _refer(ReferReason.NON_BIOMETRIC)),
    (V, TemplateStorage.NONE, MATCH, LIVE, GateMode.VERIFICATION, {},
     _refer(ReferReason.NON_BIOMETRIC)),
    (V, TemplateStorage.ON_CREDENTIAL, MATCH, LIVE, GateMode.CREDENTIAL_ONLY, {},
     _refer(ReferReason.NON_BIOMETRIC)),
    # face and liveness
    (V, BIO[0], NO_MATCH, LIVE, GateMode.VERIFICATION, {}, _deny(DenyReason.FACE_MISMATCH)),
    (V, BIO[0], MATCH, SPOOF, GateMode.VERIFICATION, {}, _deny(DenyReason.LIVENESS_FAILED)),
    (V, BIO[0], NO_MATCH, SPOOF, GateMode.VERIFICATION, {}, _deny(DenyReason.LIVENESS_FAILED)),
    (V, BIO[0], MATCH, None, GateMode.VERIFICATION, {}, _deny(DenyReason.LIVENESS_FAILED)),
    (V, BIO[0], None, LIVE, GateMode.VERIFICATION, {}, _deny(DenyReason.NO_FACE)),
    (V, BIO[0], None, None, GateMode.VERIFICATION, {}, _deny(DenyReason.NO_FACE)),
    (V, BIO[0], REFER, LIVE, GateMode.VERIFICATION, {}, _refer(ReferReason.REFER_BAND)),
    (V, BIO[0], MATCH, UNSURE, GateMode.VERIFICATION, {},
     _refer(ReferReason.LIVENESS_UNCERTAIN)),
    # missing or failed pieces
    (V, None, MATCH, LIVE, GateMode.VERIFICATION, {}, _deny(DenyReason.DEVICE_FAULT)),
    (V, BIO[0], MATCH, LIVE, GateMode.VERIFICATION, {"device_fault": True},
     _deny(DenyReason.DEVICE_FAULT)),
    (V, BIO[0], None, None, GateMode.VERIFICATION, {"timed_out": True},
     _refer(ReferReason.TIMEOUT)),
    (V, BIO[0], MATCH, LIVE, GateMode.VERIFICATION, {"timed_out": True},
     _refer(ReferReason.TIMEOUT)),
    (V, BIO[0], NO_MATCH, None, GateMode.VERIFICATION, {"timed_out": True},
     _deny(DenyReason.FACE_MISMATCH)),
    (V, BIO[0], MATCH, LIVE, GateMode.VERIFICATION, {"credentials_seen": 2},
     _refer(ReferReason.SEVERAL_CREDENTIALS)),
    (CheckResult.REVOKED, None, None, None, GateMode.VERIFICATION, {"credentials_seen": 2},
     _refer(ReferReason.SEVERAL_CREDENTIALS)),
    (None, None, MATCH, LIVE, GateMode.IDENTIFICATION, {}, _refer(ReferReason.PERSON_NOT_FOUND)),
    (None, None, None, None, GateMode.VERIFICATION, {}, _refer(ReferReason.PERSON_NOT_FOUND)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("credential", "storage", "face", "liveness", "mode", "extra", "expected"), CASES
)
def test_decision_table(credential, storage, face, liveness, mode, extra, expected):
    assert decide(credential, storage, face, liveness, mode, **extra) == expected


def _should_grant(credential, storage, face, liveness, mode, seen, fault, timed_out) -> bool:
    return (
        credential is V
        and storage in BIO
        and face is MATCH
        and liveness is LIVE
        and mode is not GateMode.CREDENTIAL_ONLY
        and seen <= 1
        and not fault
        and not timed_out
    )


def test_every_combination_fails_closed():
    """All 50k combinations: GRANT only for a valid biometric credential, MATCH and LIVE."""
    counts = {d: 0 for d in Decision}
    for combo in itertools.product(
        [*CheckResult, None],
        [*TemplateStorage, None],
        [*FaceVerdict, None],
        [*LivenessVerdict, None],
        ALL_MODES,
        (0, 1, 2),
        (False, True),
        (False, True),
    ):
        credential, storage, face, liveness, mode, seen, fault, timed_out = combo
        outcome = decide(
            credential, storage, face, liveness, mode,
            credentials_seen=seen, device_fault=fault, timed_out=timed_out,
        )  # fmt: skip
        counts[outcome.decision] += 1
        assert outcome.granted == _should_grant(*combo), combo
        if outcome.granted:
            assert outcome.reason is None
        else:
            assert outcome.reason is not None, combo
        if seen <= 1 and credential is not None and credential is not V:
            # A refused credential is refused before any face work, with its own reason.
            assert outcome == Outcome.deny(deny_reason_for(credential)), combo  # type: ignore[arg-type]
        if seen <= 1 and credential is V and storage is TemplateStorage.NONE and not fault:
            assert outcome == Outcome.refer(ReferReason.NON_BIOMETRIC), combo
        if seen <= 1 and credential is V and mode is GateMode.CREDENTIAL_ONLY and not fault:
            assert outcome == Outcome.refer(ReferReason.NON_BIOMETRIC), combo
    assert all(counts.values())


def test_every_refused_check_result_has_a_reason():
    assert deny_reason_for(CheckResult.VALID) is None
    for result in CheckResult:
        if result is not V:
            assert isinstance(deny_reason_for(result), DenyReason)
    # The credential-related reasons all appear.
    reached = {deny_reason_for(r) for r in CheckResult} - {None}
    assert {DenyReason.REVOKED, DenyReason.EXPIRED, DenyReason.NOT_YET_VALID, DenyReason.FORGED,
            DenyReason.WRONG_SITE, DenyReason.MALFORMED, DenyReason.UNKNOWN_BADGE,
            DenyReason.PERSON_INACTIVE} <= reached  # fmt: skip


def test_engine_verdicts_are_accepted():
    storage = TemplateStorage.SITE_DATABASE
    assert decide(V, storage, Verdict.MATCH, LIVE).granted  # type: ignore[arg-type]
    assert decide(V, storage, Verdict.NO_MATCH, LIVE) == Outcome.deny(DenyReason.FACE_MISMATCH)  # type: ignore[arg-type]
    assert decide(V, storage, Verdict.REFER, LIVE) == Outcome.refer(ReferReason.REFER_BAND)  # type: ignore[arg-type]


@given(
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from(list(CheckResult))),
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from(list(TemplateStorage))),
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from(list(FaceVerdict))),
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from(list(LivenessVerdict))),
    st.one_of(st.text(max_size=12), st.sampled_from(ALL_MODES)),
)
def test_garbage_never_grants(credential, storage, face, liveness, mode):
    outcome = decide(credential, storage, face, liveness, mode)
    if outcome.granted:
        assert (str(credential), str(face), str(liveness)) == ("valid", "match", "live")
        assert str(storage) in {s.value for s in BIO}
        assert str(mode) in {"verification", "identification"}


def test_unexpected_values_are_faults_not_grants():
    storage = TemplateStorage.SITE_DATABASE
    assert decide(V, storage, "maybe", LIVE) == Outcome.deny(DenyReason.DEVICE_FAULT)  # type: ignore[arg-type]
    assert decide(V, storage, MATCH, "yes") == Outcome.deny(DenyReason.DEVICE_FAULT)  # type: ignore[arg-type]
    assert decide(V, storage, MATCH, LIVE, "open_bar") == Outcome.deny(DenyReason.DEVICE_FAULT)  # type: ignore[arg-type]
    assert decide("ok", storage, MATCH, LIVE) == Outcome.deny(DenyReason.MALFORMED)  # type: ignore[arg-type]
    assert decide(V, "cloud", MATCH, LIVE) == Outcome.deny(DenyReason.DEVICE_FAULT)  # type: ignore[arg-type]


def test_outcome_reason_rules():
    with pytest.raises(ValueError, match="no reason"):
        Outcome(Decision.GRANT, DenyReason.REVOKED)
    with pytest.raises(ValueError, match="DenyReason"):
        Outcome(Decision.DENY)
    with pytest.raises(ValueError, match="DenyReason"):
        Outcome(Decision.DENY, ReferReason.TIMEOUT)
    with pytest.raises(ValueError, match="ReferReason"):
        Outcome(Decision.REFER, DenyReason.NO_FACE)


def test_gate_decision_record():
    record = GateDecision.from_outcome(
        "entree", T, Outcome.deny(DenyReason.FACE_MISMATCH),
        credential_id="ab" * 16, person_ref="P-K3J9X2M4QH7T",
        match_score=0.31, liveness_score=0.92, latency_ms=183.0,
    )  # fmt: skip
    data = record.to_dict()
    assert data["decision"] == "deny" and data["reason"] == "face_mismatch"
    assert data["at"] == "2025-09-02T07:55:00+00:00"
    assert record.outcome == Outcome.deny(DenyReason.FACE_MISMATCH)
    # Nothing in the record can carry a face, a template or a name.
    assert set(data) == {
        "gate_id", "at", "decision", "reason", "credential_id", "person_ref",
        "match_score", "liveness_score", "latency_ms", "mode", "decided_by",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"at": datetime(2025, 9, 2, 7, 55)}, "timezone-aware"),
        ({"reason": None}, "DenyReason"),
        ({"match_score": float("nan")}, "finite"),
        ({"latency_ms": -1.0}, "negative"),
    ],
)
def test_gate_decision_refuses_bad_records(kwargs, message):
    base = {"gate_id": "entree", "at": T, "decision": Decision.DENY,
            "reason": DenyReason.NO_FACE}  # fmt: skip
    with pytest.raises(ValueError, match=message):
        GateDecision(**{**base, **kwargs})
