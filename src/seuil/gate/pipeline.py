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
- Badge numbers from external readers arrive through a :class:`BadgeInbox` and are
  checked like a QR read in the frames. A camera-less gate (badge reader and door only)
  has no face engine and no frames: it runs in credential-only mode and its badges are
  decided on ``tick``.
- Identification (1:N, opt-in): with no credential shown, a face in the lane starts a
  presentation; its fused probe is searched in the site gallery (``Identifier``).
- The site mode (PPMS) is read at every decision: in confinement nothing opens and a
  would-be GRANT or REFER becomes REFER ``confinement``; in evacuation the doors are
  already released, so decisions are recorded and nothing is pulsed.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from seuil.domain.credentials import CheckResult
from seuil.domain.errors import ConfigurationError, SeuilError
from seuil.domain.gate import (
    Decision,
    FaceVerdict,
    GateDecision,
    GateMode,
    LivenessVerdict,
    Outcome,
    ReferReason,
    decide,
    needs_face,
)
from seuil.domain.site_mode import SiteMode, SiteModeSource, read_site_mode
from seuil.engine.pipeline import FaceAnalysis, FaceEngine, Vector
from seuil.engine.quantise import dequantise
from seuil.engine.scoring import DecisionBand
from seuil.engine.templates import fuse_embeddings, probe_score
from seuil.gate.badge_inbox import BadgeInbox
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
ChallengeSource = Callable[[], ActiveChallenge | None]


@runtime_checkable
class DoorControl(Protocol):
    """A lane's doors (one door, or an airlock): opened for a GRANT; raises on failure."""

    def open_for(self, decision: GateDecision) -> None: ...


@dataclass(frozen=True, slots=True)
class Identification:
    """What a 1:N search concluded: whose credential (None: nobody), the score, the verdict."""

    check: CredentialCheck | None
    score: float | None
    verdict: FaceVerdict | None


class Identifier(Protocol):
    def identify(self, probe: Vector) -> Identification: ...


class State(StrEnum):
    IDLE = "idle"
    COLLECTING = "collecting"


@dataclass
class _Presentation:
    check: CredentialCheck | None  # None: identification (nobody presented a credential)
    template: Vector | None
    started: float  # monotonic seconds
    read_at: float  # when the credential became readable (for latency)
    faces: list[tuple[float, int, FaceAnalysis]] = field(default_factory=list)
    frames: list[tuple[RGBImage, FaceAnalysis]] = field(default_factory=list)
    seen: int = 0
    presented: tuple[str, str] = ("text", "")  # how to check the credential again


@dataclass(frozen=True, slots=True)
class GateOptions:
    mode: GateMode = GateMode.VERIFICATION
    faces_needed: int = 3
    liveness_frames: int = 4  # frames the liveness check needs before a decision
    max_liveness_frames: int = 12
    timeout_s: float = 4.0
    cooldown_s: float = 3.0  # the same credential held up again is ignored this long


def pad_check(
    detector: LivenessDetector,
    challenge: ActiveChallenge | ChallengeSource | None = None,
    margin: float = 0.75,
) -> LivenessCheck:
    """The pipeline's liveness step from a presentation-attack detector.

    A texture score just below the detector's threshold (within ``margin``) is UNCERTAIN
    rather than SPOOF: the pipeline then looks at more frames, and if it still cannot
    conclude, refers the person to the gate agent instead of refusing them.
    ``challenge`` is a fixed active challenge, or a callable read at every check (the
    challenge on demand: heightened security switched on at run time).
    """
    threshold = detector.threshold

    def check(frames: Sequence[tuple[RGBImage, FaceAnalysis]]) -> tuple[LivenessVerdict, float]:
        asked = challenge() if callable(challenge) else challenge
        verdict = detector.assess([LivenessFrame(img, face) for img, face in frames], asked)
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
    # The codec hands over on-credential templates re-quantised to its own kind (int8).
    return dequantise(template.data, "int8" if template.form == "quantised" else "float32")


class GatePipeline:
    def __init__(
        self,
        gate_id: str,
        access: GateAccessService,
        engine: FaceEngine | None,
        band: DecisionBand,
        qr_reader: QrReader,
        liveness: LivenessCheck | None,
        door: DoorPulse | DoorControl,
        sink: Sink,
        clock: Clock,
        options: GateOptions = GateOptions(),
        monotonic: Callable[[], float] = time.monotonic,
        *,
        site_mode: SiteModeSource | None = None,
        badges: BadgeInbox | None = None,
        identifier: Identifier | None = None,
    ) -> None:
        if options.mode is GateMode.IDENTIFICATION and identifier is None:
            raise ValueError("an identification gate needs an identifier (its 1:N gallery)")
        if engine is None and options.mode is not GateMode.CREDENTIAL_ONLY:
            raise ValueError(
                "a gate without a face engine (no camera) runs in credential-only mode"
            )
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
        self._site_mode = site_mode
        self.badges = badges
        self._identifier = identifier
        self._presentation: _Presentation | None = None
        self._recent: dict[bytes, float] = {}  # hash of a credential -> when it was decided
        self._faces_quiet_until = 0.0  # identification: no new face presentation before

    @property
    def state(self) -> State:
        return State.COLLECTING if self._presentation else State.IDLE

    # -- inputs ------------------------------------------------------------------------
    def on_frame(self, image: RGBImage) -> GateDecision | None:
        now = self._now()
        try:
            if self._presentation is not None:
                return self._collect(image, now)
            handled, decision = self._from_inbox(now, image)
            if handled:
                return decision
            texts = self._qr(image)
            keys = [_key(t) for t in texts]
            fresh = [(t, k) for t, k in zip(texts, keys, strict=True) if not self._cooling(k, now)]
            if not fresh:
                if not texts and self.options.mode is GateMode.IDENTIFICATION:
                    return self._look_for_face(image, now)
                return None
            if len(set(keys)) > 1:  # two cards held up: which one is it?
                self._remember(_key("|".join(sorted(texts))), now, *keys)
                return self._emit(decide(None, None, None, None, credentials_seen=2), now, now)
            text, key = fresh[0]
            self._remember(key, now)
            return self._start(self._access.check_text(text), ("text", text), now, image)
        except (SeuilError, ValueError, ArithmeticError) as exc:
            return self._fault(exc, now)

    def on_badge(self, number: str) -> GateDecision | None:
        now = self._now()
        key = _key(f"badge:{number}")
        if self._presentation is not None or self._cooling(key, now):
            return None
        self._remember(key, now)
        try:
            return self._start(self._access.check_badge(number), ("badge", number), now, None)
        except (SeuilError, ValueError, ArithmeticError) as exc:
            return self._fault(exc, now)

    def tick(self) -> GateDecision | None:
        """Called without a frame (camera silent): ends a presentation that ran out of time,
        and takes a badge from the inbox (a badge-only lane has no frames at all)."""
        p = self._presentation
        now = self._now()
        if p is None:
            return self._from_inbox(now, None)[1]
        if now - p.started < self.options.timeout_s:
            return None
        try:
            return self._conclude(p, now, True, None)
        except (SeuilError, ValueError, ArithmeticError) as exc:
            return self._fault(exc, now)

    @property
    def _faces(self) -> FaceEngine:
        if self._engine is None:  # unreachable in credential-only mode: fail closed anyway
            raise ConfigurationError(f"gate {self.gate_id}: no camera, no face engine")
        return self._engine

    @property
    def site_mode(self) -> SiteMode:
        return read_site_mode(self._site_mode)

    # -- steps -------------------------------------------------------------------------
    def _from_inbox(self, now: float, image: RGBImage | None) -> tuple[bool, GateDecision | None]:
        """A badge waiting in the inbox, checked like a QR read: (handled, decision)."""
        if self.badges is None:
            return False, None
        reader = self.badges.take_fault()
        if reader is not None:  # a reader sending too much: broken or abused
            logger.warning("gate %s: badge reader %s over its rate", self.gate_id, reader)
            return True, self._emit(_device_fault(None), now, now)
        number = self.badges.take()
        if number is None:
            return False, None
        key = _key(f"badge:{number}")
        if self._cooling(key, now):
            return True, None
        self._remember(key, now)
        try:
            return True, self._start(
                self._access.check_badge(number), ("badge", number), now, image
            )
        except (SeuilError, ValueError, ArithmeticError) as exc:
            return True, self._fault(exc, now)

    def _look_for_face(self, image: RGBImage, now: float) -> GateDecision | None:
        """Identification mode: a face in the lane (and no credential) starts a presentation."""
        if now < self._faces_quiet_until:
            return None
        if not self._faces.analyse(image, main_only=True):
            return None
        self._presentation = _Presentation(None, None, now, now, presented=("face", ""))
        return self._collect(image, now)

    def _cooling(self, key: bytes, now: float) -> bool:
        # Forget what is past the cool-down: nothing about a passer-by is kept for long.
        for old in [k for k, at in self._recent.items() if now - at >= self.options.cooldown_s]:
            del self._recent[old]
        return key in self._recent

    def _remember(self, key: bytes, now: float, *more: bytes) -> None:
        for k in (key, *more):
            self._recent[k] = now

    def _start(
        self,
        check: CredentialCheck,
        presented: tuple[str, str],
        now: float,
        image: RGBImage | None,
    ) -> GateDecision | None:
        if not needs_face(check.result, check.storage, self.options.mode):
            # refused credential, non-biometric path, credential-only mode: decided now
            outcome = decide(check.result, check.storage, None, None, self.options.mode)
            return self._emit(outcome, now, now, check)
        template = self._access.template_for(check)
        if template is None:  # nothing to compare with: fail closed
            return self._emit(_device_fault(check), now, now, check)
        self._presentation = _Presentation(
            check, template_vector(template), now, now, presented=presented
        )
        return self._collect(image, now) if image is not None else None

    def _collect(self, image: RGBImage, now: float) -> GateDecision | None:
        p = self._presentation
        assert p is not None
        if now - p.started >= self.options.timeout_s:
            # Out of time (a slow lane, or a camera that stalled): decide on what was seen
            # in time, never on a face that arrives afterwards.
            return self._conclude(p, now, True, self._assess(p))
        p.seen += 1
        faces = self._faces.analyse(image, main_only=True)
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
        if not enough:
            return None
        live = self._assess(p)
        in_doubt = live is not None and live[0] is LivenessVerdict.UNCERTAIN
        if in_doubt and len(p.frames) < self.options.max_liveness_frames:
            return None  # in doubt: look at a few more frames before deciding
        return self._conclude(p, now, False, live)

    def _assess(self, p: _Presentation) -> tuple[LivenessVerdict, float] | None:
        if self._liveness is None or not p.frames:
            return None
        return self._liveness(p.frames)

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
        if p.faces and p.template is not None:
            best = sorted(p.faces, reverse=True)
            score = probe_score(
                p.template,
                self._faces.embed_faces([a for _, _, a in best]),
                [q for q, _, _ in best],
            )
            face_verdict = FaceVerdict(self._band.decide(score).value)
        live: LivenessVerdict | None = None
        live_score: float | None = None
        if self._liveness is None:
            live = LivenessVerdict.LIVE if p.faces else None  # not configured: not required
        elif liveness is not None:
            live, live_score = liveness
            if not math.isfinite(live_score):  # a broken score never counts as live
                live, live_score = LivenessVerdict.SPOOF, None
        check = p.check
        if check is None:  # identification: whose face is it?
            self._faces_quiet_until = now + self.options.cooldown_s
            check, score, face_verdict = self._identify(p)
            if check is None:
                outcome = decide(None, None, None, None, self.options.mode)
                return self._emit(outcome, now, p.read_at, None, score, live_score)
        outcome = decide(
            check.result, check.storage, face_verdict, live, self.options.mode,
            timed_out=timed_out,
        )  # fmt: skip
        if outcome.granted and p.check is not None:
            # The credential may have been revoked while the faces were collected.
            kind, value = p.presented
            again = (
                self._access.check_text(value)
                if kind == "text"
                else self._access.check_badge(value)
            )
            if again.result is not CheckResult.VALID:
                check = again
                outcome = decide(again.result, again.storage, None, None, self.options.mode)
        return self._emit(outcome, now, p.read_at, check, score, live_score)

    def _identify(
        self, p: _Presentation
    ) -> tuple[CredentialCheck | None, float | None, FaceVerdict | None]:
        """The 1:N search on the fused probe (nobody when there is no usable face)."""
        if not p.faces or self._identifier is None:
            return None, None, None
        best = sorted(p.faces, reverse=True)
        probe = fuse_embeddings(
            self._faces.embed_faces([a for _, _, a in best]), [q for q, _, _ in best]
        )
        found = self._identifier.identify(probe)
        return found.check, found.score, found.verdict

    def _fault(self, exc: BaseException, now: float) -> GateDecision:
        """Something failed (database, template, engine): a device-fault DENY, recorded."""
        logger.warning("gate %s: %s during a decision", self.gate_id, type(exc).__name__)
        p, self._presentation = self._presentation, None
        check = p.check if p else None
        return self._emit(_device_fault(check), now, p.read_at if p else now, check)

    def _emit(
        self,
        outcome: Outcome,
        now: float,
        read_at: float,
        check: CredentialCheck | None = None,
        score: float | None = None,
        live_score: float | None = None,
    ) -> GateDecision:
        def record(result: Outcome) -> GateDecision:
            return GateDecision.from_outcome(
                self.gate_id, self._clock.now(), result,
                credential_id=check.credential_id if check else None,
                person_ref=check.person.ref if check and check.person else None,
                match_score=score, liveness_score=live_score,
                latency_ms=max(0.0, (now - read_at) * 1000.0), mode=self.options.mode,
            )  # fmt: skip

        site = self.site_mode
        if site is SiteMode.CONFINEMENT and outcome.decision is not Decision.DENY:
            outcome = Outcome.refer(ReferReason.CONFINEMENT)  # nothing opens; the agent decides
        decision = record(outcome)  # built first: a record that cannot exist opens nothing
        if outcome.granted and site is SiteMode.NORMAL:  # in evacuation the doors are released
            try:
                if isinstance(self._door, DoorControl):
                    self._door.open_for(decision)
                else:
                    self._door()
            except Exception as exc:  # any door failure must fail closed
                logger.warning("gate %s: door command failed: %s", self.gate_id, type(exc).__name__)
                decision = record(_device_fault(check))
        self._sink(decision)
        return decision


def _device_fault(check: CredentialCheck | None) -> Outcome:
    """The outcome when a camera, reader, template, database or door failed."""
    return decide(
        check.result if check else None, check.storage if check else None, None, None,
        device_fault=True,
    )  # fmt: skip


def _key(text: str) -> bytes:
    """What the cool-down remembers of a credential: a hash, never the text (it may hold a key)."""
    return hashlib.sha256(text.encode("utf-8")).digest()
