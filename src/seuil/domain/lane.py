"""The lane: doors, their monitoring, tailgating and the airlock (sas). Standard library only.

Doors are modelled as *commands* (pulse, lock, release) that seuil sends and *observed
states* (closed, open, forced, held open) that the door reports. Nothing here talks
to a device: the state machines return the commands to send and the alerts to raise,
and the caller carries the commands out in order and reports back what it observed
and how each command went (:class:`CommandDone` / :class:`CommandFailed`). A door
counts as *released* (maybe unlocked) from the moment a pulse or release is sent until
a lock is confirmed or the pulse has run out: the interlock always reads the cautious
side.

* :class:`DoorMonitor` follows one door: it knows when the door is released (a pulse
  running, or fire egress), and raises DOOR_FORCED (opened while not released) and
  DOOR_HELD_OPEN (open longer than ``held_open_s``).
* :class:`OpeningWindow` counts people through one opening against the credentials
  presented for it: more people than credentials is tailgating (REFER + an alert).
* :class:`PassageTally` sets a people counter's passages against the openings: during
  an opening they count for it, a little after it closed (``grace_s``: the counter or
  the network was late) they still do, otherwise nobody opened the door:
  :func:`unauthorised_passage` (UNAUTHORISED_PASSAGE, except during evacuation).
* :class:`Airlock` is the two-door interlock, an explicit state machine whose
  transition table is :data:`Airlock.TABLE`:

  =========== ======================================= ==========================
  state       event (guard)                           next state
  =========== ======================================= ==========================
  idle        entry requested (both doors shut)       entering (pulse outer)
  entering    outer closed after opening              occupied (lock outer) [1]
  entering    tick (pulse over, outer never opened)   idle
  entering    decision                                entering (kept, strictest)
  entering    outer pulse failed                      idle
  occupied    GRANT (outer shut [2], one person)      granted (pulse inner)
  occupied    DENY                                    turned_back (pulse outer)
  occupied    REFER, or more than one person          held
  occupied    agent GRANT / DENY                      granted / turned_back
  held        agent GRANT (outer shut)                granted (pulse inner)
  held        agent DENY (inner shut)                 turned_back (pulse outer)
  granted     inner closed after opening              idle (lock inner)
  granted     tick (pulse over, inner never opened)   held
  granted     inner pulse failed                      held
  turned_back outer closed after opening              idle (lock outer)
  turned_back tick (pulse over, outer never opened)   held
  turned_back outer pulse failed                      held
  any         fire alarm                              fire (release both)
  fire        fire cleared                            recovering (lock both)
  recovering  both doors shut (locks confirmed)       idle
  recovering  fire cleared again                      recovering (lock both again)
  =========== ======================================= ==========================

  [1] a decision kept while entering is applied at once. A system decision in *held*
  is ignored: only the agent settles a REFER. [2] "shut" is observed closed and not
  released (lock confirmed, or pulse over); a GRANT waits for it, so the inner door is
  never pulsed while the outer may open, and both doors are never released together
  except during fire egress.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from seuil.domain.gate import Decision, Outcome, ReferReason
from seuil.domain.site_mode import SiteMode

__all__ = [
    "AgentDecided",
    "Airlock",
    "AirlockEvent",
    "AirlockState",
    "AlertKind",
    "CommandDone",
    "CommandFailed",
    "DecisionMade",
    "DoorAction",
    "DoorCommand",
    "DoorMonitor",
    "DoorObserved",
    "DoorState",
    "EntryRequested",
    "FireAlarm",
    "FireCleared",
    "LaneAlert",
    "OccupancyCounted",
    "OpeningSummary",
    "OpeningWindow",
    "PassageTally",
    "Passages",
    "Side",
    "Step",
    "Tick",
    "unauthorised_passage",
]


class DoorState(StrEnum):
    """What a door reports (or what its monitor concludes)."""

    CLOSED = "closed"
    OPEN = "open"
    FORCED = "forced"  # opened while locked
    HELD_OPEN = "held_open"  # open for too long
    UNKNOWN = "unknown"  # never reported, or the device cannot say: never taken as closed

    @property
    def is_open(self) -> bool:
        return self in (DoorState.OPEN, DoorState.FORCED, DoorState.HELD_OPEN)


class DoorAction(StrEnum):
    PULSE = "pulse"  # unlock for a configured time, then relock by itself
    LOCK = "lock"
    RELEASE = "release"  # fire egress: unlock until told otherwise


@dataclass(frozen=True, slots=True)
class DoorCommand:
    door: str
    action: DoorAction
    duration_s: float | None = None  # pulses only


class AlertKind(StrEnum):
    TAILGATING = "tailgating"
    DOOR_FORCED = "door_forced"
    DOOR_HELD_OPEN = "door_held_open"
    DOOR_FAULT = "door_fault"  # a command did not reach the door
    PASSAGE_TIMEOUT = "passage_timeout"  # released, but nobody went through
    FIRE_EGRESS = "fire_egress"
    UNAUTHORISED_PASSAGE = "unauthorised_passage"  # a counter saw someone, nobody opened
    FIRE_CLEARED = "fire_cleared"


@dataclass(frozen=True, slots=True)
class LaneAlert:
    """Something staff must see; becomes an event (never with a face or a name)."""

    kind: AlertKind
    lane: str
    at: datetime
    door: str | None = None
    detail: str = ""


# --- one door --------------------------------------------------------------------------


class DoorMonitor:
    """One door's commands and observations: released or not, forced, held open."""

    def __init__(
        self,
        door: str,
        lane: str,
        pulse_s: float,
        held_open_s: float,
        initial: DoorState = DoorState.UNKNOWN,
    ) -> None:
        if pulse_s <= 0 or held_open_s <= 0:
            raise ValueError("pulse_s and held_open_s must be positive")
        self.door = door
        self.lane = lane
        self.pulse_s = pulse_s
        self.held_open_s = held_open_s
        self.observed = initial
        self.released_until: datetime | None = None
        self.fire_released = False
        self.opened_at: datetime | None = None
        self.opened_since_pulse = False
        self._held_alerted = False
        self._forced_alerted = False
        self._last_command: DoorAction | None = None

    @property
    def is_closed(self) -> bool:
        return self.observed is DoorState.CLOSED

    def released(self, at: datetime) -> bool:
        """Whether the door may be unlocked: a pulse running, a release, or an unconfirmed
        lock. The interlock reads "released" on the cautious side."""
        if self.fire_released:
            return True
        return self.released_until is not None and at < self.released_until

    def shut(self, at: datetime) -> bool:
        """Observed closed and not released: the other door may be released."""
        return self.is_closed and not self.released(at)

    def pulse(self, at: datetime) -> DoorCommand:
        self.released_until = at + timedelta(seconds=self.pulse_s)
        self.opened_since_pulse = False
        self._last_command = DoorAction.PULSE
        return DoorCommand(self.door, DoorAction.PULSE, self.pulse_s)

    def lock(self) -> DoorCommand:
        """Lock now; the door counts as released until the lock is confirmed (:meth:`done`)
        or, after a pulse, until the pulse would have ended anyway."""
        self._last_command = DoorAction.LOCK
        return DoorCommand(self.door, DoorAction.LOCK)

    def release(self) -> DoorCommand:
        self.fire_released = True
        self._last_command = DoorAction.RELEASE
        return DoorCommand(self.door, DoorAction.RELEASE)

    def done(self, action: DoorAction) -> None:
        """The door confirmed a command (a lock counts only if nothing was sent after it)."""
        if action is DoorAction.LOCK and self._last_command is DoorAction.LOCK:
            self.released_until = None
            self.fire_released = False

    def failed(self, action: DoorAction, at: datetime, detail: str) -> LaneAlert:
        """A command did not reach the door (or nobody knows): raise DOOR_FAULT.

        The cautious side is kept: a pulse that may have arrived still counts as released
        until it would have ended, a failed lock leaves the door released. Only a failed
        fire release is taken as locked (so opening it is reported as forced).
        """
        if action is DoorAction.RELEASE:
            self.fire_released = False
        return LaneAlert(AlertKind.DOOR_FAULT, self.lane, at, self.door, f"{action}: {detail}")

    def observe(self, state: DoorState, at: datetime) -> list[LaneAlert]:
        alerts: list[LaneAlert] = []
        was_open = self.observed.is_open
        if state.is_open and not was_open:
            self.opened_at = at
            self.opened_since_pulse = True
            self._held_alerted = self._forced_alerted = False
        forced = state is DoorState.FORCED or (
            state.is_open and not was_open and not self.released(at)
        )
        if forced and not self._forced_alerted and not self.fire_released:
            self._forced_alerted = True
            alerts.append(LaneAlert(AlertKind.DOOR_FORCED, self.lane, at, self.door))
        if state is DoorState.HELD_OPEN:
            alerts.extend(self._held(at))
        if not state.is_open:
            self.opened_at = None
        self.observed = state
        return alerts

    def tick(self, at: datetime) -> list[LaneAlert]:
        if self.released_until is not None and at >= self.released_until:
            self.released_until = None
        if self.opened_at is not None and at - self.opened_at >= timedelta(
            seconds=self.held_open_s
        ):
            return self._held(at)
        return []

    def _held(self, at: datetime) -> list[LaneAlert]:
        if self._held_alerted or self.fire_released:
            return []
        self._held_alerted = True
        return [LaneAlert(AlertKind.DOOR_HELD_OPEN, self.lane, at, self.door)]


# --- tailgating ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpeningSummary:
    lane: str
    opened_at: datetime
    closed_at: datetime
    credentials: int
    people: int

    @property
    def tailgating(self) -> bool:
        return self.people > self.credentials

    @property
    def outcome(self) -> Outcome | None:
        """REFER tailgating when more people passed than credentials were presented."""
        return Outcome.refer(ReferReason.TAILGATING) if self.tailgating else None


class OpeningWindow:
    """One opening of a door: credentials presented against people counted through it.

    The pipeline reports the number of people it has counted through the opening so far
    (:meth:`report`); the highest count is kept. The first time it exceeds the number of
    credentials presented, one TAILGATING alert is returned.
    """

    def __init__(self, lane: str, opened_at: datetime, credentials: int = 1) -> None:
        if credentials < 0:
            raise ValueError("credentials cannot be negative")
        self.lane = lane
        self.opened_at = opened_at
        self.credentials = credentials
        self.people = 0
        self._alerted = False

    def add_credential(self) -> None:
        """Another credential accepted for the same opening (a group passing together)."""
        self.credentials += 1

    def report(self, people: int, at: datetime) -> LaneAlert | None:
        if people < 0:
            raise ValueError("a people count cannot be negative")
        self.people = max(self.people, people)
        if self.people > self.credentials and not self._alerted:
            self._alerted = True
            detail = f"{self.people} people for {self.credentials} credential(s)"
            return LaneAlert(AlertKind.TAILGATING, self.lane, at, None, detail)
        return None

    @property
    def outcome(self) -> Outcome | None:
        return self.close(self.opened_at).outcome

    def close(self, at: datetime) -> OpeningSummary:
        return OpeningSummary(self.lane, self.opened_at, at, self.credentials, self.people)


class Passages(StrEnum):
    """Which opening a counter's passages belong to."""

    CURRENT = "current"  # the opening in progress
    LATE = "late"  # the opening that just closed (reported within the grace)
    NONE = "none"  # no opening: nobody let them through


class PassageTally:
    """A people counter's passages set against the openings of one lane (pure).

    The lane calls :meth:`open` when an opening begins and :meth:`close` when it ends;
    :meth:`add` files the passages a counter reports and returns where they went with
    the opening's total so far. A counter reports a passage after the person went
    through, sometimes after the opening closed (the counter's own delay, the network):
    passages reported within ``grace_s`` of the close still belong to that opening.

    Times are seconds on the monotonic clock the lane's openings run on (not the wall
    clock): setting the site's clock back or forth must not stretch or cut the grace.
    """

    def __init__(self) -> None:
        self.is_open = False
        self.passed = 0  # passages of the current (or last) opening
        self.closed_at: float | None = None  # monotonic seconds

    def open(self) -> None:
        self.is_open, self.passed, self.closed_at = True, 0, None

    def close(self, at: float) -> None:
        if self.is_open:
            self.is_open, self.closed_at = False, at

    def add(self, people: int, at: float, grace_s: float) -> tuple[Passages, int]:
        if people < 0:
            raise ValueError("a number of passages cannot be negative")
        if grace_s < 0:
            raise ValueError("grace_s cannot be negative")
        if self.is_open:
            self.passed += people
            return Passages.CURRENT, self.passed
        if self.closed_at is not None and at - self.closed_at <= grace_s:
            self.passed += people
            return Passages.LATE, self.passed
        return Passages.NONE, people


def unauthorised_passage(
    lane: str, door: str | None, people: int, at: datetime, mode: SiteMode
) -> LaneAlert | None:
    """People went through with no opening in progress: a turnstile jumped, someone
    slipping through. Expected while the doors are released for evacuation (None); an
    alert otherwise, confinement included."""
    if people <= 0 or mode is SiteMode.EVACUATION:
        return None
    detail = f"{people} passage(s) with no opening"
    if mode is SiteMode.CONFINEMENT:
        detail += " during confinement"
    return LaneAlert(AlertKind.UNAUTHORISED_PASSAGE, lane, at, door, detail)


# --- the airlock -----------------------------------------------------------------------


class Side(StrEnum):
    OUTER = "outer"
    INNER = "inner"


class AirlockState(StrEnum):
    IDLE = "idle"  # both doors shut, nobody inside
    ENTERING = "entering"  # outer released for one person to come in
    OCCUPIED = "occupied"  # outer closed behind the person; waiting for the decision
    HELD = "held"  # REFER: the person waits between the doors for the agent
    GRANTED = "granted"  # inner released
    TURNED_BACK = "turned_back"  # DENY: outer released for the person to go back out
    FIRE = "fire"  # fire egress: both released
    RECOVERING = "recovering"  # fire cleared; waiting for both doors to close


@dataclass(frozen=True, slots=True)
class EntryRequested:
    at: datetime


@dataclass(frozen=True, slots=True)
class DoorObserved:
    at: datetime
    side: Side
    state: DoorState


@dataclass(frozen=True, slots=True)
class DecisionMade:
    """The gate's decision for the person in (or entering) the airlock."""

    at: datetime
    decision: Decision


@dataclass(frozen=True, slots=True)
class AgentDecided:
    """The gate agent settles the case (GRANT or DENY); recorded with the agent."""

    at: datetime
    decision: Decision
    agent: str = ""


@dataclass(frozen=True, slots=True)
class OccupancyCounted:
    at: datetime
    people: int


@dataclass(frozen=True, slots=True)
class CommandFailed:
    at: datetime
    side: Side
    action: DoorAction
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CommandDone:
    """The door confirmed a command (an HTTP 2xx, an MQTT acknowledgement)."""

    at: datetime
    side: Side
    action: DoorAction


@dataclass(frozen=True, slots=True)
class FireAlarm:
    at: datetime


@dataclass(frozen=True, slots=True)
class FireCleared:
    at: datetime


@dataclass(frozen=True, slots=True)
class Tick:
    at: datetime


AirlockEvent = (
    EntryRequested
    | DoorObserved
    | DecisionMade
    | AgentDecided
    | OccupancyCounted
    | CommandFailed
    | CommandDone
    | FireAlarm
    | FireCleared
    | Tick
)

_STRICTNESS = {Decision.GRANT: 0, Decision.REFER: 1, Decision.DENY: 2}


@dataclass(frozen=True, slots=True)
class Step:
    """What one event did: the new state, the commands to send, the alerts to raise.

    Send the commands in order and report each result (CommandDone / CommandFailed)
    before the next event.
    """

    state: AirlockState
    commands: tuple[DoorCommand, ...] = ()
    alerts: tuple[LaneAlert, ...] = ()
    handled: bool = True  # False: the event means nothing in that state (ignored)
    note: str = ""


@dataclass
class _Pending:
    commands: list[DoorCommand] = field(default_factory=list)
    alerts: list[LaneAlert] = field(default_factory=list)
    handled: bool = True
    note: str = ""


Handler = Callable[["Airlock", Any], None]


class Airlock:
    """Two interlocked doors; see the module docstring for the transition table."""

    TABLE: ClassVar[dict[tuple[AirlockState, type[Any]], Handler]]

    def __init__(
        self,
        lane: str,
        outer: DoorMonitor,
        inner: DoorMonitor,
        state: AirlockState = AirlockState.IDLE,
    ) -> None:
        self.lane = lane
        self.outer = outer
        self.inner = inner
        self.state = state
        self.pending: Decision | None = None  # a decision received while entering
        self.pending_by = ""  # who gave a GRANT that waits for the outer door
        self.people = 0  # people counted inside
        self.granted_by = ""  # "system" or the agent of the current GRANT
        self._out = _Pending()

    @classmethod
    def create(
        cls, lane: str, outer: str, inner: str, pulse_s: float = 3.0, held_open_s: float = 30.0
    ) -> Airlock:
        return cls(
            lane,
            DoorMonitor(outer, lane, pulse_s, held_open_s),
            DoorMonitor(inner, lane, pulse_s, held_open_s),
        )

    def door(self, side: Side) -> DoorMonitor:
        return self.outer if side is Side.OUTER else self.inner

    def both_released(self, at: datetime) -> bool:
        return self.outer.released(at) and self.inner.released(at)

    # -- the entry point --------------------------------------------------------------

    def handle(self, event: AirlockEvent) -> Step:
        """Apply one event; return what to do. Unknown (state, event) pairs are ignored."""
        self._out = _Pending()
        if isinstance(event, FireAlarm) and self.state is not AirlockState.FIRE:
            self._fire(event)
        else:
            self._common(event)
            handler = self.TABLE.get((self.state, type(event)))
            if handler is None:
                self._out.handled = False
            else:
                handler(self, event)
        out = self._out
        return Step(self.state, tuple(out.commands), tuple(out.alerts), out.handled, out.note)

    # -- what every state does --------------------------------------------------------

    def _common(self, event: AirlockEvent) -> None:
        if isinstance(event, DoorObserved):
            self._out.alerts += self.door(event.side).observe(event.state, event.at)
        elif isinstance(event, Tick):
            self._out.alerts += self.outer.tick(event.at) + self.inner.tick(event.at)
        elif isinstance(event, CommandDone):
            self.door(event.side).done(event.action)
        elif isinstance(event, CommandFailed):
            self._out.alerts.append(
                self.door(event.side).failed(event.action, event.at, event.detail)
            )

    def _fire(self, event: FireAlarm) -> None:
        self._out.commands += [self.outer.release(), self.inner.release()]
        self._out.alerts.append(LaneAlert(AlertKind.FIRE_EGRESS, self.lane, event.at))
        self._reset(AirlockState.FIRE)

    def _reset(self, state: AirlockState) -> None:
        self.state = state
        self.pending, self.pending_by = None, ""
        self.people = 0
        self.granted_by = ""

    def _ignore(self, note: str) -> None:
        self._out.handled = False
        self._out.note = note

    # -- moves shared by several states -------------------------------------------------

    def _grant(self, at: datetime, by: str) -> None:
        """Release the inner door, only with the outer shut and one person inside."""
        if self.people > 1 and by == "system":
            self._hold_for_tailgating(at)
            return
        if not (self.outer.shut(at) and not self.inner.released(at)):
            self.pending, self.pending_by = Decision.GRANT, by  # retried on the next report
            self._out.note = "interlock: the outer door is not shut; GRANT waits"
            return
        self.pending, self.pending_by = None, ""
        self.granted_by = by
        self._out.commands.append(self.inner.pulse(at))
        self.state = AirlockState.GRANTED

    def _turn_back(self, at: datetime) -> None:
        """Release the outer door so the person goes back out (inner must be shut)."""
        self.pending, self.pending_by = None, ""
        if not self.inner.shut(at):
            self.state = AirlockState.HELD
            self._out.note = "interlock: the inner door is not shut; the agent decides"
            return
        self._out.commands.append(self.outer.pulse(at))
        self.state = AirlockState.TURNED_BACK

    def _hold_for_tailgating(self, at: datetime) -> None:
        if self.state is not AirlockState.HELD:
            detail = f"{self.people} people in the airlock"
            self._out.alerts.append(LaneAlert(AlertKind.TAILGATING, self.lane, at, None, detail))
        self.pending = None
        self.state = AirlockState.HELD

    def _apply(self, decision: Decision, at: datetime) -> None:
        if decision is Decision.GRANT:
            self._grant(at, "system")
        elif decision is Decision.DENY:
            self._turn_back(at)
        else:
            self.state = AirlockState.HELD

    def _passage_timeout(self, at: datetime, door: DoorMonitor) -> None:
        if door.released_until is None and not door.opened_since_pulse:
            self._out.alerts.append(LaneAlert(AlertKind.PASSAGE_TIMEOUT, self.lane, at, door.door))
            self.state = AirlockState.HELD

    # -- idle ---------------------------------------------------------------------------

    def _idle_entry(self, event: EntryRequested) -> None:
        if not (self.outer.shut(event.at) and self.inner.shut(event.at)):
            self._ignore("interlock: both doors must be closed and locked")
            return
        self._out.commands.append(self.outer.pulse(event.at))
        self._reset(AirlockState.ENTERING)

    # -- entering -----------------------------------------------------------------------

    def _entering_door(self, event: DoorObserved) -> None:
        outer = self.outer
        if event.side is Side.OUTER and outer.is_closed and outer.opened_since_pulse:
            self._out.commands.append(outer.lock())
            self.state = AirlockState.OCCUPIED
            if self.people > 1:
                self._hold_for_tailgating(event.at)
            elif self.pending is not None:
                self._apply(self.pending, event.at)

    def _entering_tick(self, event: Tick) -> None:
        if self.outer.released_until is None and not self.outer.opened_since_pulse:
            self._reset(AirlockState.IDLE)  # nobody came in
            self._out.note = "nobody entered"

    def _entering_failed(self, event: CommandFailed) -> None:
        if event.side is Side.OUTER and event.action is DoorAction.PULSE:
            self._reset(AirlockState.IDLE)

    def _entering_decision(self, event: DecisionMade) -> None:
        if self.pending is None or _STRICTNESS[event.decision] > _STRICTNESS[self.pending]:
            self.pending = event.decision

    def _count(self, event: OccupancyCounted) -> None:
        self.people = max(self.people, event.people)
        if self.state is not AirlockState.ENTERING and self.people > 1:
            self._hold_for_tailgating(event.at)

    # -- occupied and held ----------------------------------------------------------------

    def _occupied_decision(self, event: DecisionMade) -> None:
        self._apply(event.decision, event.at)

    def _agent(self, event: AgentDecided) -> None:
        if event.decision is Decision.GRANT:
            self._grant(event.at, event.agent or "agent")
        elif event.decision is Decision.DENY:
            self._turn_back(event.at)
        else:
            self._ignore("the agent settles a case with GRANT or DENY")

    def _waiting(self, event: DoorObserved | Tick | CommandDone) -> None:
        """A GRANT that waited for the interlock goes ahead once the doors allow it."""
        if self.pending is Decision.GRANT:
            self._grant(event.at, self.pending_by or "system")

    # -- granted and turned back ----------------------------------------------------------

    def _granted_door(self, event: DoorObserved) -> None:
        if event.side is Side.INNER and self.inner.is_closed and self.inner.opened_since_pulse:
            self._out.commands.append(self.inner.lock())
            self._reset(AirlockState.IDLE)

    def _granted_tick(self, event: Tick) -> None:
        self._passage_timeout(event.at, self.inner)

    def _granted_failed(self, event: CommandFailed) -> None:
        if event.side is Side.INNER and event.action is DoorAction.PULSE:
            self.state = AirlockState.HELD

    def _back_door(self, event: DoorObserved) -> None:
        if event.side is Side.OUTER and self.outer.is_closed and self.outer.opened_since_pulse:
            self._out.commands.append(self.outer.lock())
            self._reset(AirlockState.IDLE)

    def _back_tick(self, event: Tick) -> None:
        self._passage_timeout(event.at, self.outer)

    def _back_failed(self, event: CommandFailed) -> None:
        if event.side is Side.OUTER and event.action is DoorAction.PULSE:
            self.state = AirlockState.HELD

    # -- fire -----------------------------------------------------------------------------

    def _fire_cleared(self, event: FireCleared) -> None:
        self._out.commands += [self.outer.lock(), self.inner.lock()]
        self._out.alerts.append(LaneAlert(AlertKind.FIRE_CLEARED, self.lane, event.at))
        self._reset(AirlockState.RECOVERING)
        self._recovering(event)

    def _recovering(self, event: DoorObserved | Tick | FireCleared | CommandDone) -> None:
        """Back to idle once both doors are seen closed and neither is released."""
        if self.outer.shut(event.at) and self.inner.shut(event.at):
            self._reset(AirlockState.IDLE)


_S = AirlockState
Airlock.TABLE = {
    (_S.IDLE, EntryRequested): Airlock._idle_entry,
    (_S.ENTERING, DoorObserved): Airlock._entering_door,
    (_S.ENTERING, Tick): Airlock._entering_tick,
    (_S.ENTERING, CommandFailed): Airlock._entering_failed,
    (_S.ENTERING, DecisionMade): Airlock._entering_decision,
    (_S.ENTERING, OccupancyCounted): Airlock._count,
    (_S.OCCUPIED, DecisionMade): Airlock._occupied_decision,
    (_S.OCCUPIED, AgentDecided): Airlock._agent,
    (_S.OCCUPIED, OccupancyCounted): Airlock._count,
    (_S.OCCUPIED, DoorObserved): Airlock._waiting,
    (_S.OCCUPIED, Tick): Airlock._waiting,
    (_S.OCCUPIED, CommandDone): Airlock._waiting,
    (_S.HELD, AgentDecided): Airlock._agent,
    (_S.HELD, OccupancyCounted): Airlock._count,
    (_S.HELD, DoorObserved): Airlock._waiting,
    (_S.HELD, Tick): Airlock._waiting,
    (_S.HELD, CommandDone): Airlock._waiting,
    (_S.GRANTED, DoorObserved): Airlock._granted_door,
    (_S.GRANTED, Tick): Airlock._granted_tick,
    (_S.GRANTED, CommandFailed): Airlock._granted_failed,
    (_S.TURNED_BACK, DoorObserved): Airlock._back_door,
    (_S.TURNED_BACK, Tick): Airlock._back_tick,
    (_S.TURNED_BACK, CommandFailed): Airlock._back_failed,
    (_S.FIRE, FireCleared): Airlock._fire_cleared,
    (_S.RECOVERING, DoorObserved): Airlock._recovering,
    (_S.RECOVERING, Tick): Airlock._recovering,
    (_S.RECOVERING, FireCleared): Airlock._fire_cleared,
    (_S.RECOVERING, CommandDone): Airlock._recovering,
}
del _S
