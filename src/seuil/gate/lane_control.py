"""A lane's doors, driven: one door with its tailgating watch, or a two-door airlock.

The pipeline decides; these classes carry a GRANT out on the doors (``open_for``, the
pipeline's :class:`~seuil.gate.pipeline.DoorControl`) and watch what follows: the
runner hands them every frame (``on_frame``) and calls ``tick`` on every loop.

* :class:`DoorLane`: a GRANT pulses the door and opens an :class:`OpeningWindow`;
  while it lasts (the pulse, plus ``after_s`` to walk through), distinct face tracks
  in the frames are counted (:class:`TrackCounter`; with :class:`TrackFaces`, a face
  that comes back after a look over the shoulder is compared with those already
  counted, not counted again), or a beam/door sensor reports its own count
  (``people_counted``). More people than credentials presented in that
  opening: REFER ``tailgating``, one gate event, one alert.
* :class:`AirlockLane`: the :class:`~seuil.domain.lane.Airlock` state machine fed
  with the doors' observed states, the decision, the people counted and the
  commands' results. The outer door opens on GRANT; the inner door only once the
  outer is seen closed and its pulse is over (so never both open); a pulse that
  nobody used times out (``Tick``). A door command or a state read that fails is a
  DOOR_FAULT: the interlock keeps the cautious side and a device-fault event is stored.

Door states: a door that pushes its changes (:class:`~seuil.ports.doors.StatePushingDoor`,
an MQTT door) is followed through its pushes, each change handled in order on the next
tick, and its last state on the live link is read without a round trip; a door that
does not push, or whose link is down, is asked (``state()``) at most every ``poll_s``.

A people counter (beam, turnstile or door counter) reports passages with
``people_passed`` (:class:`~seuil.domain.lane.PassageTally`): they add up over the
current opening (a :class:`DoorLane`'s window, an :class:`AirlockLane`'s cycle), and
those reported within ``grace_s`` after it closed (on the lane's monotonic clock, like
the window: a wall-clock jump does not move it) still count for it (more people than
credentials: tailgating, once per opening). A passage with no opening in progress
means someone jumped the turnstile or slipped through: UNAUTHORISED_PASSAGE, one gate
event (REFER ``unauthorised_passage``, with no credential) and the alert; none while the
site is evacuating (the doors are released, people are expected to pass).

Both follow the site mode (PPMS): entering confinement locks every door and no pulse
is ever sent while it lasts; evacuation releases every door (fire egress, recorded),
and the return to normal locks them again.

Events go to ``sink`` as :class:`GateDecision` (what ``gate_events`` keeps); every
:class:`LaneAlert` also goes to ``alerts`` (the incident engine's entry, when wired).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from seuil.domain.errors import DeviceError
from seuil.domain.faces import FaceBox
from seuil.domain.gate import Decision, GateDecision, GateMode, Outcome, ReferReason, decide
from seuil.domain.lane import (
    AgentDecided,
    Airlock,
    AirlockEvent,
    AirlockState,
    AlertKind,
    CommandDone,
    CommandFailed,
    DecisionMade,
    DoorAction,
    DoorCommand,
    DoorMonitor,
    DoorObserved,
    DoorState,
    EntryRequested,
    FireAlarm,
    FireCleared,
    LaneAlert,
    OccupancyCounted,
    OpeningWindow,
    Passages,
    PassageTally,
    Side,
    Tick,
    unauthorised_passage,
)
from seuil.domain.site_mode import SiteMode, SiteModeSource, read_site_mode
from seuil.domain.tracks import TrackCounter
from seuil.gate.track_faces import TrackFaces
from seuil.ports.clock import Clock
from seuil.ports.doors import Door, StatePushingDoor
from seuil.ports.face import RGBImage

__all__ = ["GRACE_S", "AirlockLane", "DoorLane", "FaceBoxes"]

GRACE_S = 2.0  # a counter's report this late after an opening still belongs to it

logger = logging.getLogger(__name__)

FaceBoxes = Callable[[RGBImage], Sequence[FaceBox]]
Sink = Callable[[GateDecision], None]
AlertSink = Callable[[LaneAlert], None]


def _send(door: Door, command: DoorCommand) -> None:
    if command.action is DoorAction.PULSE:
        door.pulse(command.duration_s or 0.0)
    elif command.action is DoorAction.LOCK:
        door.lock()
    else:
        door.release()


class _LaneBase:
    """What both kinds of lane share: events, alerts, site-mode changes."""

    def __init__(
        self,
        gate_id: str,
        clock: Clock,
        sink: Sink,
        *,
        detect: FaceBoxes | None,
        site_mode: SiteModeSource | None,
        alerts: AlertSink | None,
        mode: GateMode,
        faces: TrackFaces | None,
        counter: Callable[[], TrackCounter[Any]],
        monotonic: Callable[[], float],
    ) -> None:
        self.gate_id = gate_id
        self._clock = clock
        self._sink = sink
        self._detect = detect
        self._site_mode = site_mode
        self._alerts = alerts
        self._gate_mode = mode
        self.poll_s = 0.0  # read door states at most this often (0: every tick)
        self._polled: datetime | None = None
        self._lock = threading.RLock()  # open_for comes from the pipeline, tick from the runner
        self.site_mode = SiteMode.NORMAL
        self.raised: list[LaneAlert] = []  # every alert of this lane (for the screen, tests)
        self._granted: GateDecision | None = None  # the GRANT of the current opening
        self._opening = False  # inside open_for: the pipeline records a failure itself
        self._pushes: deque[tuple[Side, DoorState]] = deque()  # changes pushed by doors
        self.tally = PassageTally()  # a people counter's passages per opening
        self._faces = faces  # tells a face that came back from a new person (or None)
        self._counter_factory = counter
        self._counter: TrackCounter[Any] | None = None
        self._mono = monotonic  # the time openings (and their late-passage grace) run on

    def _new_counter(self) -> TrackCounter[Any]:
        return self._faces.counter() if self._faces is not None else self._counter_factory()

    def _count(self, counter: TrackCounter[Any], image: RGBImage) -> int:
        """One frame's faces into the opening's tracks; a track being confirmed is
        signed (embedded) from this frame when the lane has :class:`TrackFaces`."""
        assert self._detect is not None
        sign = partial(self._faces.signature, image) if self._faces is not None else None
        try:
            boxes = self._detect(image)
        except Exception:  # the lane keeps running its doors; this frame is not counted
            logger.exception("gate %s: face detection failed for the tailgating watch",
                             self.gate_id)  # fmt: skip
            return counter.people
        return counter.update(boxes, sign)

    def _judged_in(self, people: int) -> SiteMode | None:
        """The site mode passages are judged in; None when there is nothing to judge
        (no passage, or evacuation: the doors are released, people are expected)."""
        if people < 0:
            raise ValueError("a number of passages cannot be negative")
        mode = read_site_mode(self._site_mode)
        if mode is SiteMode.EVACUATION:
            logger.info("gate %s: %d passage(s) during evacuation", self.gate_id, people)
            return None
        return mode if people else None

    def _unauthorised(self, people: int, door: str | None, mode: SiteMode) -> None:
        """Passages with no opening in progress."""
        alert = unauthorised_passage(self.gate_id, door, people, self._clock.now(), mode)
        if alert is not None:
            self._alert(alert)

    def _alert(self, alert: LaneAlert) -> None:
        self.raised.append(alert)
        logger.warning("gate %s: %s %s", self.gate_id, alert.kind.value, alert.door or "")
        if self._alerts is not None:
            try:
                self._alerts(alert)
            except Exception:  # the incident side failing must not stop the lane
                logger.exception("gate %s: alert not delivered", self.gate_id)
        if alert.kind is AlertKind.TAILGATING:
            self._event(Outcome.refer(ReferReason.TAILGATING))
        elif alert.kind is AlertKind.UNAUTHORISED_PASSAGE:  # nobody was let in: no credential
            self._event(Outcome.refer(ReferReason.UNAUTHORISED_PASSAGE), anonymous=True)
        elif alert.kind is AlertKind.DOOR_FAULT and not self._opening:
            self._event(decide(None, None, None, None, device_fault=True))

    def _event(self, outcome: Outcome, *, anonymous: bool = False) -> None:
        g = None if anonymous else self._granted
        self._sink(
            GateDecision.from_outcome(
                self.gate_id, self._clock.now(), outcome,
                credential_id=g.credential_id if g else None,
                person_ref=g.person_ref if g else None, mode=self._gate_mode,
            )
        )  # fmt: skip

    def _follow(self, door: Door, key: Side) -> None:
        """Queue the changes a pushing door reports (from its network thread)."""
        if isinstance(door, StatePushingDoor):
            pushes = self._pushes

            def on_state(state: DoorState) -> None:
                pushes.append((key, state))  # deque.append is thread-safe

            door.on_state = on_state

    @staticmethod
    def _pushed(door: Door) -> DoorState | None:
        return door.pushed_state() if isinstance(door, StatePushingDoor) else None

    def _poll_due(self, now: datetime) -> bool:
        if self._polled is not None and (now - self._polled).total_seconds() < self.poll_s:
            return False
        self._polled = now
        return True

    def _mode_changed(self) -> tuple[SiteMode, SiteMode] | None:
        new = read_site_mode(self._site_mode)
        old, self.site_mode = self.site_mode, new
        return (old, new) if new is not old else None


class DoorLane(_LaneBase):
    """One door (or turnstile): a pulse per GRANT and a tailgating watch per opening."""

    def __init__(
        self,
        gate_id: str,
        door: Door,
        clock: Clock,
        sink: Sink,
        *,
        pulse_s: float = 3.0,
        held_open_s: float = 30.0,
        after_s: float = 2.0,
        watch_state: bool = False,
        detect: FaceBoxes | None = None,
        site_mode: SiteModeSource | None = None,
        alerts: AlertSink | None = None,
        mode: GateMode = GateMode.VERIFICATION,
        faces: TrackFaces | None = None,
        counter: Callable[[], TrackCounter[Any]] = TrackCounter,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(gate_id, clock, sink, detect=detect, site_mode=site_mode,
                         alerts=alerts, mode=mode, faces=faces, counter=counter,
                         monotonic=monotonic)  # fmt: skip
        self.door = door
        self.pulse_s = pulse_s
        self.after_s = after_s
        self.watch_state = watch_state
        self.monitor = DoorMonitor(door.name, gate_id, pulse_s, held_open_s)
        self.window: OpeningWindow | None = None
        self._closed: OpeningWindow | None = None  # the last opening, for late passages
        self._sensor = 0
        self._until = 0.0
        self.openings: list[tuple[int, int]] = []  # (credentials, people) of closed windows
        self.round_trips = 0  # state reads sent to the door (pushes spare them)
        self._follow(door, Side.OUTER)

    # -- the pipeline's side ------------------------------------------------------------
    def open_for(self, decision: GateDecision) -> None:
        with self._lock:
            if read_site_mode(self._site_mode) is not SiteMode.NORMAL:
                return  # confinement: never pulsed; evacuation: already released
            now = self._clock.now()
            command = self.monitor.pulse(now)
            try:
                _send(self.door, command)
            except DeviceError as exc:
                self._opening = True
                try:
                    self._alert(self.monitor.failed(DoorAction.PULSE, now, str(exc)[:80]))
                finally:
                    self._opening = False
                raise
            self._granted = decision
            if self.window is not None and self._mono() < self._until:
                self.window.add_credential()  # a group passing on several credentials
            else:
                self.window = OpeningWindow(self.gate_id, now, 1)
                self._counter = self._new_counter()
                self._sensor = 0
                self.tally.open()
                self._closed = None
            self._until = self._mono() + self.pulse_s + self.after_s

    # -- the runner's side ----------------------------------------------------------------
    def on_frame(self, image: RGBImage) -> None:
        with self._lock:
            if self.window is None or self._detect is None or self._counter is None:
                return
            people = self._count(self._counter, image)
            self._report(max(people, self._sensor))

    def people_counted(self, people: int) -> None:
        """A beam or door sensor's count of people through the current opening."""
        with self._lock:
            self._sensor = max(self._sensor, people)
            if self.window is not None:
                self._report(self._sensor)

    def people_passed(self, people: int, grace_s: float = GRACE_S) -> None:
        """A people counter's passages since its last report: they add up per opening,
        and count for the opening that closed less than ``grace_s`` ago (a late report).
        Passages with no opening are an UNAUTHORISED_PASSAGE (not during evacuation)."""
        with self._lock:
            mode = self._judged_in(people)
            if mode is None:
                return
            now = self._clock.now()
            where, passed = self.tally.add(people, self._mono(), grace_s)
            window = self.window if where is Passages.CURRENT else self._closed
            if where is Passages.NONE or window is None:
                self._unauthorised(people, self.door.name, mode)
                return
            alert = window.report(passed, now)
            if where is Passages.LATE:
                self.openings[-1] = (window.credentials, window.people)
            if alert is not None:
                self._alert(alert)

    def tick(self) -> None:
        with self._lock:
            now = self._clock.now()
            changed = self._mode_changed()
            if changed is not None:
                self._apply_mode(changed[1], now)
            if self.window is not None and self._mono() >= self._until:
                summary = self.window.close(now)
                self.openings.append((summary.credentials, summary.people))
                self.tally.close(self._until)  # the window's end, on the monotonic clock
                self._closed, self.window, self._counter = self.window, None, None
            if self.watch_state:
                while self._pushes:  # every change the door pushed, in order
                    self._observe(self._pushes.popleft()[1], now)
                pushed = self._pushed(self.door)
                if pushed is not None:
                    self._observe(pushed, now)
                elif self._poll_due(now):
                    self._watch(now)

    # -- helpers ------------------------------------------------------------------------------
    def _report(self, people: int) -> None:
        assert self.window is not None
        alert = self.window.report(people, self._clock.now())
        if alert is not None:
            self._alert(alert)

    def _apply_mode(self, mode: SiteMode, now: datetime) -> None:
        command = self.monitor.release() if mode is SiteMode.EVACUATION else self.monitor.lock()
        if mode is SiteMode.EVACUATION:
            self._alert(LaneAlert(AlertKind.FIRE_EGRESS, self.gate_id, now, self.door.name))
        try:
            _send(self.door, command)
            self.monitor.done(command.action)
        except DeviceError as exc:
            self._alert(self.monitor.failed(command.action, now, str(exc)[:80]))

    def _watch(self, now: datetime) -> None:
        self.round_trips += 1
        try:
            state = self.door.state()
        except DeviceError as exc:
            if self.monitor.observed is not DoorState.UNKNOWN:
                self._alert(LaneAlert(AlertKind.DOOR_FAULT, self.gate_id, now, self.door.name,
                                      f"state: {str(exc)[:80]}"))  # fmt: skip
            state = DoorState.UNKNOWN
        self._observe(state, now)

    def _observe(self, state: DoorState, now: datetime) -> None:
        for alert in self.monitor.observe(state, now) + self.monitor.tick(now):
            self._alert(alert)


class AirlockLane(_LaneBase):
    """Two interlocked doors driven through :class:`~seuil.domain.lane.Airlock`."""

    def __init__(
        self,
        gate_id: str,
        outer: Door,
        inner: Door,
        clock: Clock,
        sink: Sink,
        *,
        outer_pulse_s: float = 3.0,
        inner_pulse_s: float = 3.0,
        held_open_s: float = 30.0,
        detect: FaceBoxes | None = None,
        site_mode: SiteModeSource | None = None,
        alerts: AlertSink | None = None,
        mode: GateMode = GateMode.VERIFICATION,
        faces: TrackFaces | None = None,
        counter: Callable[[], TrackCounter[Any]] = TrackCounter,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(gate_id, clock, sink, detect=detect, site_mode=site_mode,
                         alerts=alerts, mode=mode, faces=faces, counter=counter,
                         monotonic=monotonic)  # fmt: skip
        self.doors = {Side.OUTER: outer, Side.INNER: inner}
        self.airlock = Airlock(
            gate_id,
            DoorMonitor(outer.name, gate_id, outer_pulse_s, held_open_s),
            DoorMonitor(inner.name, gate_id, inner_pulse_s, held_open_s),
        )
        self._faulty: set[Side] = set()  # doors whose state cannot be read right now
        self._tailgated = False  # this cycle already raised TAILGATING
        self._turned_back = False  # this cycle sent someone back out through the outer door
        self.round_trips = 0  # state reads sent to the doors (pushes spare them)
        self._follow(outer, Side.OUTER)
        self._follow(inner, Side.INNER)

    @property
    def state(self) -> AirlockState:
        return self.airlock.state

    # -- the pipeline's side ------------------------------------------------------------
    def open_for(self, decision: GateDecision) -> None:
        """Outer door for the granted person; the inner follows once the outer is shut."""
        with self._lock:
            if read_site_mode(self._site_mode) is not SiteMode.NORMAL:
                return
            now = self._clock.now()
            self._poll(now)
            step = self.airlock.handle(EntryRequested(now))
            if not step.handled:
                raise DeviceError(f"airlock {self.gate_id}: {step.note or 'busy'}", self.gate_id)
            self._granted = decision
            self._counter = self._new_counter()
            self.tally.open()
            self._tailgated = self._turned_back = False
            self._opening = True
            try:
                self._run(step.commands, step.alerts)
            finally:
                self._opening = False
            if self.airlock.state is not AirlockState.ENTERING:  # the outer pulse failed
                raise DeviceError(f"airlock {self.gate_id}: outer door did not open", self.gate_id)
            self._handle(DecisionMade(now, Decision.GRANT))

    # -- the runner's side ----------------------------------------------------------------
    def on_frame(self, image: RGBImage) -> None:
        with self._lock:
            if self._detect is None or self._counter is None:
                return
            if self.airlock.state not in (AirlockState.ENTERING, AirlockState.OCCUPIED):
                return
            people = self._count(self._counter, image)
            if people:
                self._handle(OccupancyCounted(self._clock.now(), people))

    def people_counted(self, people: int) -> None:
        with self._lock:
            self._handle(OccupancyCounted(self._clock.now(), people))

    def people_passed(self, people: int, grace_s: float = GRACE_S) -> None:
        """A people counter's passages into the airlock since its last report.

        They add up over the cycle (from the entry request until the airlock is idle
        again): while the person is entering or waiting they are the occupancy (more
        than one: held for the agent, TAILGATING); once the inner door is released, or
        reported within ``grace_s`` after the cycle ended, more than one is TAILGATING
        (once per cycle). Someone sent back out may cross the counter again: not counted.
        Passages with no cycle are an UNAUTHORISED_PASSAGE (not during evacuation)."""
        with self._lock:
            mode = self._judged_in(people)
            if mode is None:
                return
            state = self.airlock.state
            if state in (AirlockState.FIRE, AirlockState.RECOVERING, AirlockState.TURNED_BACK):
                return  # doors released for egress or being locked again; someone going out
            now = self._clock.now()
            where, passed = self.tally.add(people, self._mono(), grace_s)
            if where is Passages.NONE:
                self._unauthorised(people, None, mode)
            elif state in (AirlockState.ENTERING, AirlockState.OCCUPIED, AirlockState.HELD):
                self._handle(OccupancyCounted(now, passed))
            elif passed > 1 and not self._tailgated and not self._turned_back:
                detail = f"{passed} people through the airlock"
                self._alert(LaneAlert(AlertKind.TAILGATING, self.gate_id, now, None, detail))

    def agent_decided(self, decision: Decision, agent: str) -> None:
        """The gate agent settles a held person (GRANT: inner door, DENY: back out)."""
        with self._lock:
            self._handle(AgentDecided(self._clock.now(), decision, agent))

    def tick(self) -> None:
        with self._lock:
            now = self._clock.now()
            changed = self._mode_changed()
            if changed is not None:
                self._apply_mode(changed, now)
            self._poll(now, self._poll_due(now))
            self._handle(Tick(now))
            if self.airlock.state is AirlockState.IDLE:
                self._counter = None

    # -- helpers ------------------------------------------------------------------------------
    def _apply_mode(self, change: tuple[SiteMode, SiteMode], now: datetime) -> None:
        old, new = change
        if new is SiteMode.EVACUATION:
            self._handle(FireAlarm(now))
        elif old is SiteMode.EVACUATION:
            self._handle(FireCleared(now))
        if new is SiteMode.CONFINEMENT:
            # Whoever is inside waits for the agent; both doors locked now.
            self._handle(DecisionMade(now, Decision.REFER))
            a = self.airlock
            self._run((a.outer.lock(), a.inner.lock()), ())

    def _poll(self, now: datetime, due: bool = True) -> None:
        """The doors' states: every pushed change in order, then the state on the live
        link; a door that does not push (or whose link is down) is asked when ``due``."""
        while self._pushes:
            side, state = self._pushes.popleft()
            self._handle(DoorObserved(now, side, state))
        for side, door in self.doors.items():
            pushed = self._pushed(door)
            if pushed is not None:
                self._faulty.discard(side)
                self._handle(DoorObserved(now, side, pushed))
                continue
            if not due:
                continue
            self.round_trips += 1
            try:
                state = door.state()
                self._faulty.discard(side)
            except DeviceError as exc:
                state = DoorState.UNKNOWN  # never taken as closed: the interlock holds
                if side not in self._faulty:
                    self._faulty.add(side)
                    self._alert(LaneAlert(AlertKind.DOOR_FAULT, self.gate_id, now, door.name,
                                          f"state: {str(exc)[:80]}"))  # fmt: skip
            self._handle(DoorObserved(now, side, state))

    def _alert(self, alert: LaneAlert) -> None:
        if alert.kind is AlertKind.TAILGATING:
            self._tailgated = True
        super()._alert(alert)

    def _handle(self, event: AirlockEvent) -> None:
        step = self.airlock.handle(event)
        state = self.airlock.state
        if state is AirlockState.TURNED_BACK:
            self._turned_back = True
        elif state in (AirlockState.IDLE, AirlockState.FIRE, AirlockState.RECOVERING):
            self.tally.close(self._mono())  # the cycle is over (late passages: grace_s)
        self._run(step.commands, step.alerts)

    def _run(self, commands: Sequence[DoorCommand], alerts: Sequence[LaneAlert]) -> None:
        for alert in alerts:
            self._alert(alert)
        for command in commands:
            side = Side.OUTER if command.door == self.airlock.outer.door else Side.INNER
            now = self._clock.now()
            result: AirlockEvent
            if command.action is DoorAction.PULSE and self.site_mode is SiteMode.CONFINEMENT:
                result = CommandFailed(now, side, command.action, "confinement: not sent")
            else:
                try:
                    _send(self.doors[side], command)
                    result = CommandDone(now, side, command.action)
                except DeviceError as exc:
                    result = CommandFailed(now, side, command.action, str(exc)[:80])
            self._handle(result)
