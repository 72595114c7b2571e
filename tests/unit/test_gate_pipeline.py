"""The gate pipeline's rules with fakes around it (no models, no data): fail closed."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.faces import FaceBox, Landmarks5, Point
from seuil.domain.gate import Decision, DenyReason, LivenessVerdict, ReferReason
from seuil.domain.people import Person, PersonKind
from seuil.engine.pipeline import FaceAnalysis
from seuil.engine.quality import QualityReport
from seuil.engine.scoring import DecisionBand
from seuil.gate.pipeline import GateOptions, GatePipeline
from seuil.services.credentials import CredentialCheck, IssuedCredential
from seuil.services.gate_access import TemplateBytes

DIM = 8
OWNER = np.eye(DIM, dtype=np.float32)[0]
OTHER = np.eye(DIM, dtype=np.float32)[1]
PERSON = Person("P-TEST", PersonKind.PUPIL, "Secret", "Name")


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Ticker:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class Access:
    def __init__(self, result=CheckResult.VALID, storage=TemplateStorage.SITE_DATABASE):
        self.result, self.storage, self.checks, self.template = result, storage, 0, OWNER
        self.fail = False

    def _check(self) -> CredentialCheck:
        self.checks += 1
        if self.fail:
            raise StorageUnavailableError("database down")
        valid = self.result is CheckResult.VALID
        return CredentialCheck(self.result, "c1", PERSON if valid else None,
                               self.storage if valid else None)  # fmt: skip

    def check_text(self, text):
        return self._check()

    def check_badge(self, number):
        return self._check()

    def template_for(self, check):
        if self.template is None:
            return None
        return TemplateBytes("float32", self.template.astype("<f4").tobytes())


def _face(quality=0.9):
    pts = tuple(Point(float(x), 10.0) for x in range(5))
    return FaceAnalysis(FaceBox(0, 0, 10, 10), Landmarks5(pts), np.zeros((4, 4, 3), np.uint8),
                        QualityReport(quality))  # fmt: skip


class Engine:
    def __init__(self, vector=OWNER, face=True):
        self.vector, self.face, self.calls = vector, face, 0
        self.seen = {}

    def analyse(self, image, main_only=False):
        self.calls += 1
        if not self.face:
            return []
        face = _face()
        self.seen[id(face)] = self.vector  # whose face this frame shows
        return [face]

    def embed_faces(self, faces):
        return np.stack([self.seen[id(f)] for f in faces])


def _pipeline(access, engine, liveness=None, qr=("SE1:AAA",), **options):
    decisions, doors = [], []
    ticker = Ticker()
    pipeline = GatePipeline(
        "g1", access, engine, DecisionBand(0.9, 0.8), lambda image: list(qr), liveness,
        lambda: doors.append(1), decisions.append, Clock(), GateOptions(**options),
        monotonic=ticker,
    )  # fmt: skip
    return pipeline, decisions, doors, ticker


FRAME = np.zeros((8, 8, 3), np.uint8)


def _run(pipeline, ticker, frames=10, step=0.1):
    for _ in range(frames):
        d = pipeline.on_frame(FRAME)
        ticker.t += step
        if d is not None:
            return d
    return None


def test_owner_granted_door_pulsed_once():
    pipeline, decisions, doors, ticker = _pipeline(Access(), Engine())
    d = _run(pipeline, ticker)
    assert d.decision is Decision.GRANT and doors == [1] and decisions == [d]
    assert d.person_ref == "P-TEST" and d.match_score == pytest.approx(1.0)


def test_other_face_denied():
    pipeline, _, doors, ticker = _pipeline(Access(), Engine(OTHER))
    d = _run(pipeline, ticker)
    assert d.decision is Decision.DENY and d.reason is DenyReason.FACE_MISMATCH and doors == []


def test_refused_credential_denied_without_face_work():
    engine = Engine()
    pipeline, _, doors, ticker = _pipeline(Access(CheckResult.REVOKED), engine)
    d = _run(pipeline, ticker)
    assert d.reason is DenyReason.REVOKED and engine.calls == 0 and doors == []


def test_missing_template_fails_closed():
    access = Access()
    access.template = None
    pipeline, _, doors, ticker = _pipeline(access, Engine())
    d = _run(pipeline, ticker)
    assert d.reason is DenyReason.DEVICE_FAULT and doors == []


def test_no_face_in_time_is_a_timeout_referral():
    pipeline, _, doors, ticker = _pipeline(Access(), Engine(face=False), timeout_s=1.0)
    d = _run(pipeline, ticker, frames=30)
    assert d.decision is Decision.REFER and d.reason is ReferReason.TIMEOUT and doors == []


def test_a_face_arriving_after_a_stall_is_not_used():
    engine = Engine()
    pipeline, _, doors, ticker = _pipeline(Access(), engine, faces_needed=3, timeout_s=1.0)
    pipeline.on_frame(FRAME)  # credential read, one face of the owner
    ticker.t = 60.0  # the camera stalled for a minute; someone else is there now
    engine.vector = OTHER
    d = pipeline.on_frame(FRAME)
    assert d.reason is ReferReason.TIMEOUT and doors == []
    assert engine.calls == 1  # the late frame was not even analysed


def test_tick_ends_a_presentation_when_the_camera_is_silent():
    pipeline, decisions, _, ticker = _pipeline(Access(), Engine(face=False), timeout_s=1.0)
    pipeline.on_frame(FRAME)
    assert pipeline.tick() is None
    ticker.t = 2.0
    assert pipeline.tick().reason is ReferReason.TIMEOUT and len(decisions) == 1


def test_two_cards_refer_once_not_every_frame():
    pipeline, decisions, _, ticker = _pipeline(Access(), Engine(), qr=("SE1:A", "SE1:B"))
    for _ in range(10):
        pipeline.on_frame(FRAME)
        ticker.t += 0.1
    assert [d.reason for d in decisions] == [ReferReason.SEVERAL_CREDENTIALS]


def test_cool_down_forgets_and_never_keeps_the_text():
    pipeline, decisions, _, ticker = _pipeline(Access(CheckResult.EXPIRED), Engine(),
                                               cooldown_s=3.0)  # fmt: skip
    for _ in range(20):  # the card held up for 2 s: one decision
        pipeline.on_frame(FRAME)
        ticker.t += 0.1
    assert len(decisions) == 1
    assert all(isinstance(k, bytes) and b"SE1" not in k for k in pipeline._recent)
    ticker.t += 5.0
    pipeline.on_frame(FRAME)
    assert len(decisions) == 2  # presented again after the cool-down


def test_revocation_during_collection_is_seen_before_the_door():
    access = Access()
    pipeline, _, doors, ticker = _pipeline(access, Engine(), faces_needed=3)
    pipeline.on_frame(FRAME)
    access.result = CheckResult.REVOKED  # revoked by the office while the faces come in
    d = _run(pipeline, ticker)
    assert d.reason is DenyReason.REVOKED and doors == []


def test_liveness_spoof_and_nan_never_grant():
    for score in (-3.0, float("nan")):
        verdict = LivenessVerdict.SPOOF if score == -3.0 else LivenessVerdict.LIVE
        pipeline, _, doors, ticker = _pipeline(
            Access(), Engine(), liveness=lambda frames, v=verdict, s=score: (v, s)
        )
        d = _run(pipeline, ticker)
        assert d.decision is Decision.DENY and d.reason is DenyReason.LIVENESS_FAILED, score
        assert doors == []


def test_liveness_in_doubt_looks_longer_then_refers():
    calls = []

    def doubtful(frames):
        calls.append(len(frames))
        return LivenessVerdict.UNCERTAIN, -0.2

    pipeline, _, doors, ticker = _pipeline(Access(), Engine(), liveness=doubtful,
                                           max_liveness_frames=8)  # fmt: skip
    d = _run(pipeline, ticker, frames=20)
    assert d.reason is ReferReason.LIVENESS_UNCERTAIN and doors == []
    assert calls[-1] == 8 and len(calls) > 1


def test_database_down_is_a_recorded_device_fault():
    access = Access()
    access.fail = True
    pipeline, decisions, doors, _ = _pipeline(access, Engine())
    d = pipeline.on_frame(FRAME)
    assert d.reason is DenyReason.DEVICE_FAULT and decisions == [d] and doors == []


def test_broken_door_turns_grant_into_device_fault():
    tries = []

    def broken() -> None:
        tries.append(1)
        raise OSError("relay unreachable")

    pipeline, decisions, _, ticker = _pipeline(Access(), Engine())
    pipeline._door = broken
    d = _run(pipeline, ticker)
    assert tries == [1] and d.reason is DenyReason.DEVICE_FAULT and decisions == [d]


def test_reprs_hold_no_secret_and_no_name():
    check = CredentialCheck(CheckResult.VALID, "c1", PERSON, TemplateStorage.KEY_ON_CREDENTIAL,
                            b"K" * 32)  # fmt: skip
    assert "Secret" not in repr(check) and "KKKK" not in repr(check)
    assert "AAAA" not in repr(TemplateBytes("float32", b"AAAA" * 8))
    assert "SE1:" not in repr(IssuedCredential(None, "SE1:SECRET"))  # type: ignore[arg-type]
