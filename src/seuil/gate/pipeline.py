"""One gate lane, frame by frame.

States: IDLE (looking for a credential in the frames, or waiting for a badge) ->
COLLECTING (a valid biometric credential was presented: gather the best faces of the
person in the lane for a short while) -> decision -> cool-down -> IDLE.

- A refused credential is decided at once (DENY with its reason), before any face work.
- A non-biometric credential, or a gate in credential-only mode, is REFERred at once to
  the gate agent (visual check against the enrolment photo).
- Otherwise the ``faces_needed`` best faces (by quality) are fused into one probe and
  compared with the template through the decision band (FMR operating points), and the
  liveness check looks at the same frames. No face in ``timeout_s``: REFER timeout.
- Whatever fails (camera, template, liveness, door) never grants: ``decide`` fails
  closed, and a door that cannot be reached turns a GRANT into a device-fault event.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from seuil.domain.gate import (
    FaceVerdict,
    GateDecision,
    GateMode,
    LivenessVerdict,
    Outcome,
    decide,
)
from seuil.engine.pipeline import FaceAnalysis, FaceEngine, Vector
from seuil.engine.quantise import dequantise
from seuil.engine.scoring import DecisionBand
from seuil.engine.templates import fuse_embeddings
from seuil.ports.clock import Clock
from seuil.ports.face import RGBImage
from seuil.ports.liveness import ActiveChallenge, LivenessDetector, LivenessFrame, LivenessReason
from seuil.services.credentials import CredentialCheck
from seuil.services.gate_access import GateAccessService, TemplateBytes

logger = logging.getLogger(__name__)

LivenessCheck = Callable[[Sequence[tuple[RGBImage, FaceAnalysis]]], tuple[LivenessVerdict, float]]
QrReader = Callable[[RGBImage], list[str]]
DoorPulse = Callable[[], None]  # raises on failure
Sink = Callable[[GateDecision], None]


class State(StrEnum):
    IDLE = "idle"
    COLLECTING = "collecting"


@dataclass
class _Presentation:
    check: CredentialCheck
    template: Vector
    started: float  # monotonic seconds
    read_at: float  # when the credential became readable (for latency)
    faces: list[tuple[float, int, FaceAnalysis]] = field(default_factory=list)
    frames: list[tuple[RGBImage, FaceAnalysis]] = field(default_factory=list)
    seen: int = 0


@dataclass(frozen=True, slots=True)
class GateOptions:
    mode: GateMode = GateMode.VERIFICATION
    faces_needed: int = 3
    liveness_frames: int = 4  # frames the liveness check needs before a decision
    max_liveness_frames: int = 12
    timeout_s: float = 4.0
    cooldown_s: float = 3.0  # the same credential held up again is ignored this long


def pad_check(
    detector: LivenessDetector, challenge: ActiveChallenge | None = None, margin: float = 0.75
) -> LivenessCheck:
    """The pipeline's liveness step from a presentation-attack detector.

    A texture score just below the detector's threshold (within ``margin``) is UNCERTAIN
    rather than SPOOF: the pipeline then looks at more frames, and if it still cannot
    conclude, refers the person to the gate agent instead of refusing them.
    """
    threshold = float(getattr(detector, "threshold", 0.0))

    def check(frames: Sequence[tuple[RGBImage, FaceAnalysis]]) -> tuple[LivenessVerdict, float]:
        verdict = detector.assess([LivenessFrame(img, face) for img, face in frames], challenge)
        if verdict.live:
            return LivenessVerdict.LIVE, verdict.score
        if verdict.reasons == (LivenessReason.NO_FACE,):
            return LivenessVerdict.UNCERTAIN, verdict.score  # not enough to conclude
        if verdict.reasons == (LivenessReason.TEXTURE_ATTACK,) and (
            verdict.score > threshold - margin
        ):
            return LivenessVerdict.UNCERTAIN, verdict.score
        return LivenessVerdict.SPOOF, verdict.score

    return check


def template_vector(template: TemplateBytes) -> Vector:
    if template.form == "quantised":
        return dequantise(template.data, "int8")
    vec = np.frombuffer(template.data, dtype="<f4").astype(np.float32)
    return vec / max(float(np.linalg.norm(vec)), 1e-12)


class GatePipeline:
    def __init__(
        self,
        gate_id: str,
        access: GateAccessService,
        engine: FaceEngine,
        band: DecisionBand,
        qr_reader: QrReader,
        liveness: LivenessCheck | None,
        door: DoorPulse,
        sink: Sink,
        clock: Clock,
        options: GateOptions = GateOptions(),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gate_id = gate_id
        self._access = access
        self._engine = engine
        self._band = band
        self._qr = qr_reader
        self._liveness = liveness
        self._door = door
        self._sink = sink
        self._clock = clock
        self.options = options
        self._now = monotonic
        self._presentation: _Presentation | None = None
        self._recent: dict[str, float] = {}  # credential text -> when it was decided

    @property
    def state(self) -> State:
        return State.COLLECTING if self._presentation else State.IDLE

    # -- inputs ------------------------------------------------------------------------
    def on_frame(self, image: RGBImage) -> GateDecision | None:
        now = self._now()
        if self._presentation is None:
            texts = [t for t in self._qr(image) if not self._cooling(t, now)]
            if not texts:
                return None
            if len(set(texts)) > 1:
                return self._emit(decide(None, None, None, None, credentials_seen=2), now, now)
            return self._start(self._access.check_text(texts[0]), texts[0], now, image)
        return self._collect(image, now)

    def on_badge(self, number: str) -> GateDecision | None:
        now = self._now()
        if self._presentation is not None or self._cooling(f"badge:{number}", now):
            return None
        return self._start(self._access.check_badge(number), f"badge:{number}", now, None)

    # -- steps -------------------------------------------------------------------------
    def _cooling(self, key: str, now: float) -> bool:
        at = self._recent.get(key)
        return at is not None and now - at < self.options.cooldown_s

    def _start(
        self, check: CredentialCheck, key: str, now: float, image: RGBImage | None
    ) -> GateDecision | None:
        self._recent[key] = now
        outcome = decide(check.result, check.storage, None, None, self.options.mode)
        needs_face = (
            outcome.decision.value == "deny"
            and outcome.reason is not None
            and (outcome.reason.value in ("no_face", "liveness_failed"))
        )
        if not needs_face:  # refused credential, non-biometric path, credential-only mode
            return self._emit(outcome, now, now, check)
        template = self._access.template_for(check)
        if template is None:  # nothing to compare with: fail closed
            return self._emit(
                decide(check.result, check.storage, None, None, device_fault=True), now, now, check
            )
        self._presentation = _Presentation(check, template_vector(template), now, now)
        return self._collect(image, now) if image is not None else None

    def _collect(self, image: RGBImage, now: float) -> GateDecision | None:
        p = self._presentation
        assert p is not None
        p.seen += 1
        faces = self._engine.analyse(image)
        if faces:
            main = faces[0]
            item = (main.quality.score, p.seen, main)
            if len(p.faces) < self.options.faces_needed:
                heapq.heappush(p.faces, item)
            else:
                heapq.heappushpop(p.faces, item)
            if len(p.frames) < self.options.max_liveness_frames:
                p.frames.append((image, main))
        enough = len(p.faces) >= self.options.faces_needed and (
            self._liveness is None or len(p.frames) >= self.options.liveness_frames
        )
        timed_out = now - p.started >= self.options.timeout_s
        if not (enough or timed_out):
            return None
        live = self._liveness(p.frames) if self._liveness is not None and p.frames else None
        more_possible = len(p.frames) < self.options.max_liveness_frames and not timed_out
        if live is not None and live[0] is LivenessVerdict.UNCERTAIN and more_possible:
            return None  # in doubt: look at a few more frames before deciding
        return self._conclude(p, now, timed_out and not enough, live)

    def _conclude(
        self,
        p: _Presentation,
        now: float,
        timed_out: bool,
        liveness: tuple[LivenessVerdict, float] | None,
    ) -> GateDecision:
        self._presentation = None
        face_verdict: FaceVerdict | None = None
        score: float | None = None
        if p.faces:
            best = sorted(p.faces, reverse=True)
            probe = fuse_embeddings(
                self._engine.embed_faces([a for _, _, a in best]), [q for q, _, _ in best]
            )
            score = float(probe @ p.template)
            face_verdict = FaceVerdict(self._band.decide(score).value)
        live: LivenessVerdict | None = None
        live_score: float | None = None
        if self._liveness is None:
            live = LivenessVerdict.LIVE if p.faces else None  # not configured: not required
        elif liveness is not None:
            live, live_score = liveness
        outcome = decide(
            p.check.result, p.check.storage, face_verdict, live, self.options.mode,
            timed_out=timed_out,
        )  # fmt: skip
        return self._emit(outcome, now, p.read_at, p.check, score, live_score)

    def _emit(
        self,
        outcome: Outcome,
        now: float,
        read_at: float,
        check: CredentialCheck | None = None,
        score: float | None = None,
        live_score: float | None = None,
    ) -> GateDecision:
        if outcome.granted:
            try:
                self._door()
            except Exception as exc:  # any door failure must fail closed
                logger.warning("gate %s: door command failed: %s", self.gate_id, type(exc).__name__)
                outcome = decide(
                    check.result if check else None, check.storage if check else None,
                    None, None, device_fault=True,
                )  # fmt: skip
        decision = GateDecision.from_outcome(
            self.gate_id, self._clock.now(), outcome,
            credential_id=check.credential_id if check else None,
            person_ref=check.person.ref if check and check.person else None,
            match_score=score, liveness_score=live_score,
            latency_ms=max(0.0, (now - read_at) * 1000.0), mode=self.options.mode,
        )  # fmt: skip
        self._sink(decision)
        return decision
