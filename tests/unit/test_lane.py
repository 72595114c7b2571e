"""Lane rules: tailgating, door monitoring, and the airlock interlock (with hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seuil.domain.gate import Decision, Outcome, ReferReason
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
    OccupancyCounted,
    OpeningWindow,
    Passages,
    PassageTally,
    Side,
    Step,
    Tick,
    unauthorised_passage,
)
from seuil.domain.site_mode import SiteMode

T0 = datetime(2025, 9, 2, 7, 50, tzinfo=UTC)
PULSE, HELD = 3.0, 20.0
OUT, IN = Side.OUTER, Side.INNER
CLOSED, OPEN = DoorState.CLOSED, DoorState.OPEN


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def kinds(step: Step) -> list[AlertKind]:
    return [a.kind for a in step.alerts]


def actions(step: Step) -> list[tuple[str, DoorAction]]:
    return [(c.door, c.action) for c in step.commands]


# --- tailgating ------------------------------------------------------------------------


def test_one_person_per_credential_is_fine():
    window = OpeningWindow("entree", T0, credentials=1)
    assert window.report(1, at(1)) is None
    summary = window.close(at(4))
    assert not summary.tailgating and summary.outcome is None


def test_more_people_than_credentials_is_tailgating_once():
    window = OpeningWindow("entree", T0)
    assert window.report(1, at(1)) is None
    alert = window.report(2, at(2))
    assert alert is not None and alert.kind is AlertKind.TAILGATING
    assert alert.detail == "2 people for 1 credential(s)"
    assert window.report(3, at(3)) is None  # one alert per opening
    assert window.report(1, at(3)) is None  # a lower count never lowers the maximum
    assert window.outcome == Outcome.refer(ReferReason.TAILGATING)
    summary = window.close(at(5))
    assert (summary.people, summary.credentials, summary.tailgating) == (3, 1, True)


def test_a_group_with_one_credential_each_passes():
    window = OpeningWindow("entree", T0)
    window.add_credential()
    assert window.report(2, at(1)) is None
    assert window.outcome is None


def test_nobody_presented_anything():
    window = OpeningWindow("sortie", T0, credentials=0)
    assert window.report(1, at(1)) is not None


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        OpeningWindow("entree", T0, credentials=-1)
    with pytest.raises(ValueError):
        OpeningWindow("entree", T0).report(-1, at(1))


# --- a people counter's passages -----------------------------------------------------


def test_passages_count_for_the_opening_in_progress():
    tally = PassageTally()
    tally.open()
    assert tally.add(1, 1, 2.0) == (Passages.CURRENT, 1)
    assert tally.add(2, 2, 2.0) == (Passages.CURRENT, 3)
    tally.open()  # a new opening starts from nothing
    assert tally.add(1, 3, 2.0) == (Passages.CURRENT, 1)


def test_a_late_report_counts_for_the_opening_that_just_closed():
    tally = PassageTally()
    tally.open()
    tally.add(1, 1, 2.0)
    tally.close(5)
    tally.close(6)  # closing twice keeps the first close
    assert tally.add(1, 6.5, 2.0) == (Passages.LATE, 2)
    assert tally.add(1, 7, 2.0) == (Passages.LATE, 3)  # exactly at the grace's end
    assert tally.add(1, 7.01, 2.0) == (Passages.NONE, 1)
    assert tally.add(1, 7.01, 5.0) == (Passages.LATE, 4)  # each counter its own grace


def test_passages_with_no_opening_ever_or_no_grace():
    tally = PassageTally()
    assert tally.add(2, 1, 10.0) == (Passages.NONE, 2)
    tally.open()
    tally.close(2)
    assert tally.add(1, 2, 0.0) == (Passages.LATE, 1)
    assert tally.add(1, 2.001, 0.0) == (Passages.NONE, 1)


def test_bad_passages_are_refused():
    with pytest.raises(ValueError, match="negative"):
        PassageTally().add(-1, 1, 2.0)
    with pytest.raises(ValueError, match="grace_s"):
        PassageTally().add(1, 1, -0.5)


def test_a_passage_with_no_opening_is_an_alert_except_during_evacuation():
    alert = unauthorised_passage("entree", "tourniquet", 1, at(1), SiteMode.NORMAL)
    assert alert is not None and alert.kind is AlertKind.UNAUTHORISED_PASSAGE
    assert (alert.lane, alert.door, alert.at) == ("entree", "tourniquet", at(1))
    assert alert.detail == "1 passage(s) with no opening"
    locked = unauthorised_passage("entree", None, 2, at(1), SiteMode.CONFINEMENT)
    assert locked is not None and locked.detail == "2 passage(s) with no opening during confinement"
    assert unauthorised_passage("entree", "tourniquet", 3, at(1), SiteMode.EVACUATION) is None
    assert unauthorised_passage("entree", "tourniquet", 0, at(1), SiteMode.NORMAL) is None


TALLY_STEP = st.one_of(
    st.just(("open", 0, 0.0)),
    st.tuples(st.just("close"), st.just(0), st.integers(0, 5000)),
    st.tuples(st.just("pass"), st.integers(0, 5), st.integers(0, 5000)),
)  # (what, people, milliseconds since the previous step)


@settings(max_examples=300, deadline=None)
@given(st.lists(TALLY_STEP, max_size=40), st.integers(0, 4000))
def test_every_passage_is_filed_once_and_where_it_belongs(steps, grace):
    """Against a plain record of openings: a passage counts for the opening in progress,
    or for the last one within the grace after it closed; otherwise for none."""
    tally = PassageTally()
    t = 0  # milliseconds (the tally only subtracts and compares: any one unit will do,
    # and whole numbers keep the grace's boundary exact)
    openings: list[list[int]] = []  # [closed_at or -1, passages]
    outside = reported = 0
    for kind, people, dt in steps:
        t += dt
        if kind == "open":
            tally.open()
            openings.append([-1, 0])
        elif kind == "close":
            tally.close(t)
            if openings and openings[-1][0] < 0:
                openings[-1][0] = t
        else:
            where, total = tally.add(people, t, grace)
            reported += people
            last = openings[-1] if openings else None
            if last is not None and last[0] < 0:
                expected = Passages.CURRENT
            elif last is not None and t - last[0] <= grace:
                expected = Passages.LATE
            else:
                expected = Passages.NONE
            assert where is expected
            if where is Passages.NONE:
                outside += people
                assert total == people
            else:
                assert last is not None
                last[1] += people
                assert total == last[1]
    assert outside + sum(o[1] for o in openings) == reported


# --- one door --------------------------------------------------------------------------


def monitor() -> DoorMonitor:
    return DoorMonitor("portillon", "entree", PULSE, HELD, initial=CLOSED)


def test_opening_during_a_pulse_is_not_forced():
    door = monitor()
    assert door.pulse(at(0)) == DoorCommand("portillon", DoorAction.PULSE, PULSE)
    assert door.released(at(1))
    assert door.observe(OPEN, at(1)) == []
    assert door.observe(CLOSED, at(2)) == []
    assert door.tick(at(4)) == [] and not door.released(at(4))


def test_opening_without_a_command_is_forced():
    door = monitor()
    alerts = door.observe(OPEN, at(1))
    assert [a.kind for a in alerts] == [AlertKind.DOOR_FORCED]
    assert alerts[0].door == "portillon"
    # The device may say so itself: still one alert for the opening.
    assert door.observe(DoorState.FORCED, at(2)) == []


def test_open_too_long_is_held_open_once():
    door = monitor()
    door.pulse(at(0))
    door.observe(OPEN, at(1))
    assert door.tick(at(1 + HELD - 1)) == []
    assert [a.kind for a in door.tick(at(1 + HELD))] == [AlertKind.DOOR_HELD_OPEN]
    assert door.tick(at(1 + HELD + 30)) == []
    door.observe(CLOSED, at(60))
    door.pulse(at(61))
    door.observe(OPEN, at(62))
    assert [a.kind for a in door.tick(at(62 + HELD))] == [AlertKind.DOOR_HELD_OPEN]


def test_device_reported_held_open():
    door = monitor()
    door.pulse(at(0))
    door.observe(OPEN, at(1))
    assert [a.kind for a in door.observe(DoorState.HELD_OPEN, at(5))] == [AlertKind.DOOR_HELD_OPEN]


def test_a_failed_pulse_counts_as_released_until_it_would_have_ended():
    door = monitor()
    door.pulse(at(0))
    alert = door.failed(DoorAction.PULSE, at(0), "timeout")
    assert alert.kind is AlertKind.DOOR_FAULT and "timeout" in alert.detail
    assert door.released(at(1))  # a timed-out request may still have reached the relay
    assert not door.released(at(PULSE))


def test_a_lock_counts_once_confirmed_or_when_the_pulse_ends():
    door = monitor()
    door.pulse(at(0))
    door.lock()
    assert door.released(at(1))
    door.failed(DoorAction.LOCK, at(1), "unreachable")
    assert door.released(at(1)) and not door.released(at(PULSE))
    door.pulse(at(10))
    door.lock()
    door.done(DoorAction.LOCK)
    assert not door.released(at(10.5))


def test_a_failed_fire_release_is_locked():
    door = monitor()
    door.release()
    assert door.released(at(1))
    door.failed(DoorAction.RELEASE, at(1), "unreachable")
    assert not door.released(at(1))
    assert [a.kind for a in door.observe(OPEN, at(2))] == [AlertKind.DOOR_FORCED]


def test_unknown_state_is_never_shut():
    door = DoorMonitor("portillon", "entree", PULSE, HELD)
    assert door.observed is DoorState.UNKNOWN and not door.shut(at(0))


def test_monitor_refuses_bad_durations():
    with pytest.raises(ValueError):
        DoorMonitor("portillon", "entree", 0, HELD)


# --- the airlock: scripted paths -----------------------------------------------------


def airlock() -> Airlock:
    lock = Airlock.create("sas", "ext", "int", pulse_s=PULSE, held_open_s=HELD)
    lock.handle(DoorObserved(at(0), OUT, CLOSED))
    lock.handle(DoorObserved(at(0), IN, CLOSED))
    return lock


def confirm(lock: Airlock, step: Step, t: float) -> list[Step]:
    """The doors acknowledge every command of ``step``."""
    return [
        lock.handle(CommandDone(at(t), OUT if c.door == "ext" else IN, c.action))
        for c in step.commands
    ]


def enter(lock: Airlock, t: float = 1) -> None:
    """A person comes in through the outer door, which closes (and locks) behind them."""
    assert actions(lock.handle(EntryRequested(at(t)))) == [("ext", DoorAction.PULSE)]
    assert lock.state is AirlockState.ENTERING
    lock.handle(DoorObserved(at(t + 1), OUT, OPEN))
    step = lock.handle(DoorObserved(at(t + 2), OUT, CLOSED))
    assert actions(step) == [("ext", DoorAction.LOCK)]
    confirm(lock, step, t + 2)


def test_grant_opens_the_inner_door_after_the_outer_closed():
    lock = airlock()
    enter(lock)
    assert lock.state is AirlockState.OCCUPIED
    step = lock.handle(DecisionMade(at(4), Decision.GRANT))
    assert actions(step) == [("int", DoorAction.PULSE)]
    assert lock.state is AirlockState.GRANTED and lock.granted_by == "system"
    lock.handle(DoorObserved(at(5), IN, OPEN))
    step = lock.handle(DoorObserved(at(6), IN, CLOSED))
    assert actions(step) == [("int", DoorAction.LOCK)]
    assert lock.state is AirlockState.IDLE
    # The next person waits for the inner lock to be confirmed.
    assert not lock.handle(EntryRequested(at(6))).handled
    confirm(lock, step, 6)
    assert lock.handle(EntryRequested(at(6.1))).handled


def test_refer_holds_the_person_until_the_agent_grants():
    lock = airlock()
    enter(lock)
    step = lock.handle(DecisionMade(at(4), Decision.REFER))
    assert lock.state is AirlockState.HELD and step.commands == ()
    # Only the agent settles it: a later system decision is ignored.
    assert not lock.handle(DecisionMade(at(5), Decision.GRANT)).handled
    assert lock.state is AirlockState.HELD
    step = lock.handle(AgentDecided(at(30), Decision.GRANT, agent="agent.dupont"))
    assert actions(step) == [("int", DoorAction.PULSE)]
    assert lock.granted_by == "agent.dupont"


def test_agent_deny_sends_the_person_back_out():
    lock = airlock()
    enter(lock)
    lock.handle(DecisionMade(at(4), Decision.REFER))
    step = lock.handle(AgentDecided(at(20), Decision.DENY, agent="agent.dupont"))
    assert actions(step) == [("ext", DoorAction.PULSE)]
    assert lock.state is AirlockState.TURNED_BACK
    lock.handle(DoorObserved(at(21), OUT, OPEN))
    lock.handle(DoorObserved(at(22), OUT, CLOSED))
    assert lock.state is AirlockState.IDLE


def test_agent_refer_is_not_a_decision():
    lock = airlock()
    enter(lock)
    lock.handle(DecisionMade(at(4), Decision.REFER))
    assert not lock.handle(AgentDecided(at(5), Decision.REFER)).handled
    assert lock.state is AirlockState.HELD


def test_deny_releases_the_outer_door_only():
    lock = airlock()
    enter(lock)
    step = lock.handle(DecisionMade(at(4), Decision.DENY))
    assert actions(step) == [("ext", DoorAction.PULSE)]


def test_decision_while_entering_waits_for_the_outer_door():
    lock = airlock()
    lock.handle(EntryRequested(at(1)))
    lock.handle(DoorObserved(at(2), OUT, OPEN))
    assert lock.handle(DecisionMade(at(2.5), Decision.GRANT)).commands == ()
    step = lock.handle(DoorObserved(at(3), OUT, CLOSED))
    assert actions(step) == [("ext", DoorAction.LOCK)]  # the GRANT waits for the lock
    assert lock.state is AirlockState.OCCUPIED
    (done,) = confirm(lock, step, 3)
    assert actions(done) == [("int", DoorAction.PULSE)]


def test_an_unconfirmed_lock_delays_the_grant_until_the_pulse_ends():
    lock = airlock()
    lock.handle(EntryRequested(at(1)))
    lock.handle(DoorObserved(at(2), OUT, OPEN))
    lock.handle(DoorObserved(at(2.5), OUT, CLOSED))
    step = lock.handle(DecisionMade(at(2.6), Decision.GRANT))
    assert step.commands == ()
    lock.handle(CommandFailed(at(2.7), OUT, DoorAction.LOCK, "timeout"))
    assert lock.handle(Tick(at(1 + PULSE - 0.1))).commands == ()
    assert actions(lock.handle(Tick(at(1 + PULSE)))) == [("int", DoorAction.PULSE)]


def test_the_strictest_decision_while_entering_wins():
    lock = airlock()
    lock.handle(EntryRequested(at(1)))
    lock.handle(DoorObserved(at(2), OUT, OPEN))
    lock.handle(DecisionMade(at(2.1), Decision.DENY))
    lock.handle(DecisionMade(at(2.2), Decision.GRANT))
    lock.handle(DoorObserved(at(3), OUT, CLOSED))
    assert lock.state is AirlockState.TURNED_BACK


def test_two_people_in_the_airlock_are_held():
    lock = airlock()
    enter(lock)
    step = lock.handle(OccupancyCounted(at(4), 2))
    assert kinds(step) == [AlertKind.TAILGATING] and lock.state is AirlockState.HELD
    assert not lock.handle(DecisionMade(at(5), Decision.GRANT)).handled


def test_two_people_counted_while_entering_block_a_system_grant():
    lock = airlock()
    lock.handle(EntryRequested(at(1)))
    lock.handle(DoorObserved(at(2), OUT, OPEN))
    lock.handle(OccupancyCounted(at(2.5), 2))
    lock.handle(DecisionMade(at(2.6), Decision.GRANT))
    step = lock.handle(DoorObserved(at(3), OUT, CLOSED))
    assert lock.state is AirlockState.HELD and AlertKind.TAILGATING in kinds(step)
    assert ("int", DoorAction.PULSE) not in actions(step)


def test_entry_is_refused_while_a_door_is_open_or_unknown():
    lock = Airlock.create("sas", "ext", "int")
    step = lock.handle(EntryRequested(at(1)))
    assert not step.handled and "interlock" in step.note  # states never reported
    lock = airlock()
    lock.handle(DoorObserved(at(1), IN, OPEN))  # forced
    step = lock.handle(EntryRequested(at(2)))
    assert not step.handled and step.commands == ()


def test_nobody_entering_returns_to_idle():
    lock = airlock()
    lock.handle(EntryRequested(at(1)))
    lock.handle(Tick(at(1 + PULSE)))
    assert lock.state is AirlockState.IDLE


def test_grant_waits_while_the_outer_door_is_forced_open():
    lock = airlock()
    enter(lock)
    step = lock.handle(DoorObserved(at(4), OUT, OPEN))
    assert kinds(step) == [AlertKind.DOOR_FORCED]
    step = lock.handle(DecisionMade(at(5), Decision.GRANT))
    assert step.commands == () and "interlock" in step.note
    step = lock.handle(DoorObserved(at(6), OUT, CLOSED))
    assert actions(step) == [("int", DoorAction.PULSE)]


def test_inner_not_passed_in_time_goes_to_the_agent():
    lock = airlock()
    enter(lock)
    lock.handle(DecisionMade(at(4), Decision.GRANT))
    step = lock.handle(Tick(at(4 + PULSE)))
    assert kinds(step) == [AlertKind.PASSAGE_TIMEOUT] and lock.state is AirlockState.HELD


def test_a_door_fault_is_an_alert_and_never_a_grant():
    lock = airlock()
    enter(lock)
    lock.handle(DecisionMade(at(4), Decision.GRANT))
    step = lock.handle(CommandFailed(at(4), IN, DoorAction.PULSE, "relay unreachable"))
    assert kinds(step) == [AlertKind.DOOR_FAULT] and lock.state is AirlockState.HELD
    assert lock.inner.released(at(4)) and not lock.inner.released(at(4 + PULSE))
    lock = airlock()
    lock.handle(EntryRequested(at(1)))
    lock.handle(CommandFailed(at(1), OUT, DoorAction.PULSE, "timeout"))
    assert lock.state is AirlockState.IDLE


def test_fire_releases_both_and_is_recorded():
    lock = airlock()
    enter(lock)
    step = lock.handle(FireAlarm(at(5)))
    assert actions(step) == [("ext", DoorAction.RELEASE), ("int", DoorAction.RELEASE)]
    assert kinds(step) == [AlertKind.FIRE_EGRESS] and lock.state is AirlockState.FIRE
    assert lock.both_released(at(5))
    # Doors open freely during fire egress: no forced or held-open alerts.
    assert lock.handle(DoorObserved(at(6), OUT, OPEN)).alerts == ()
    assert lock.handle(DoorObserved(at(6), IN, OPEN)).alerts == ()
    assert lock.handle(Tick(at(100))).alerts == ()
    assert not lock.handle(EntryRequested(at(101))).handled
    step = lock.handle(FireCleared(at(200)))
    assert actions(step) == [("ext", DoorAction.LOCK), ("int", DoorAction.LOCK)]
    assert kinds(step) == [AlertKind.FIRE_CLEARED]
    assert lock.state is AirlockState.RECOVERING
    confirm(lock, step, 200)
    lock.handle(DoorObserved(at(201), OUT, CLOSED))
    assert lock.state is AirlockState.RECOVERING
    lock.handle(DoorObserved(at(202), IN, CLOSED))
    assert lock.state is AirlockState.IDLE


def test_a_failed_lock_after_fire_keeps_recovering():
    lock = airlock()
    lock.handle(FireAlarm(at(1)))
    lock.handle(FireCleared(at(2)))
    lock.handle(CommandDone(at(2), OUT, DoorAction.LOCK))
    step = lock.handle(CommandFailed(at(2), IN, DoorAction.LOCK, "unreachable"))
    assert kinds(step) == [AlertKind.DOOR_FAULT]
    assert lock.state is AirlockState.RECOVERING and lock.inner.released(at(300))
    assert not lock.handle(EntryRequested(at(3))).handled
    step = lock.handle(FireCleared(at(4)))  # the operator clears again: locks are resent
    confirm(lock, step, 4)
    assert lock.state is AirlockState.IDLE


# --- the airlock under random event sequences ----------------------------------------


@dataclass
class World:
    """The physical doors: they open only when unlocked, unless somebody forces them."""

    now: float = 0.0
    unlocked_until: dict[Side, float] = field(default_factory=lambda: {OUT: -1.0, IN: -1.0})
    fire_unlocked: dict[Side, bool] = field(default_factory=lambda: {OUT: False, IN: False})
    is_open: dict[Side, bool] = field(default_factory=lambda: {OUT: False, IN: False})
    opened_at: dict[Side, float] = field(default_factory=dict)
    opened_in_fire: dict[Side, bool] = field(default_factory=lambda: {OUT: False, IN: False})
    held_alerted: dict[Side, bool] = field(default_factory=lambda: {OUT: False, IN: False})
    forced: bool = False
    fire: bool = False
    grant_since_outer_pulse: bool = False

    def unlocked(self, side: Side) -> bool:
        return self.fire_unlocked[side] or self.now < self.unlocked_until[side]

    def apply(self, side: Side, command: DoorCommand) -> None:
        if command.action is DoorAction.PULSE:
            assert command.duration_s is not None
            self.unlocked_until[side] = self.now + command.duration_s
        elif command.action is DoorAction.LOCK:
            self.unlocked_until[side] = -1.0
            self.fire_unlocked[side] = False
        else:
            self.fire_unlocked[side] = True


SIDES = st.sampled_from([OUT, IN])
DECISIONS = st.sampled_from([Decision.GRANT, Decision.GRANT, Decision.REFER, Decision.DENY])
# What can happen, with rough weights. "walk" is the natural next move of a person
# (close an open door, else go through an unlocked one, else ask to enter): it drives
# most sequences through whole passages, while the rest stirs them up.
_MOVES = {
    "walk": (12, st.tuples(st.just("walk"))),
    "wait": (4, st.tuples(st.just("wait"), st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0, 25.0]))),
    "decision": (5, st.tuples(st.just("decision"), DECISIONS)),
    "agent": (3, st.tuples(st.just("agent"), DECISIONS)),
    "entry": (1, st.tuples(st.just("entry"))),
    "push": (1, st.tuples(st.just("push"), SIDES)),
    "close": (1, st.tuples(st.just("close"), SIDES)),
    "count": (1, st.tuples(st.just("count"), st.integers(0, 2))),
    "fire": (1, st.tuples(st.just("fire"))),
    "clear": (1, st.tuples(st.just("clear"))),
}
_WEIGHTED = [name for name, (weight, _) in _MOVES.items() for _ in range(weight)]
ACTION = st.sampled_from(_WEIGHTED).flatmap(lambda name: _MOVES[name][1])
FORCE = st.tuples(st.just("force"), SIDES)


def _event(world: World, action: tuple[object, ...]) -> AirlockEvent | None:
    """The event the airlock sees for one action in the world (None: nothing happens)."""
    t = at(world.now)
    if action == ("walk",):
        action = _walk(world)
    match action:
        case ("wait", float() as dt):
            world.now += dt
            return Tick(at(world.now))
        case ("entry",):
            return EntryRequested(t)
        case ("push", Side() as side) if world.unlocked(side) and not world.is_open[side]:
            return _opened(world, side)
        case ("force", Side() as side) if not world.is_open[side]:
            world.forced = world.forced or not world.unlocked(side)
            return _opened(world, side)
        case ("close", Side() as side) if world.is_open[side]:
            world.is_open[side] = False
            world.opened_in_fire[side] = False
            world.opened_at.pop(side, None)
            return DoorObserved(t, side, CLOSED)
        case ("decision", Decision() as decision):
            world.grant_since_outer_pulse |= decision is Decision.GRANT
            return DecisionMade(t, decision)
        case ("agent", Decision() as decision):
            world.grant_since_outer_pulse |= decision is Decision.GRANT
            return AgentDecided(t, decision, "agent")
        case ("count", int() as people):
            return OccupancyCounted(t, people)
        case ("fire",):
            world.fire = True
            return FireAlarm(t)
        case ("clear",):
            world.fire = False
            return FireCleared(t)
    return None


def _walk(world: World) -> tuple[object, ...]:
    for side in (OUT, IN):
        if world.is_open[side]:
            return ("close", side)
    for side in (OUT, IN):
        if world.unlocked(side):
            return ("push", side)
    return ("entry",)


def _opened(world: World, side: Side) -> DoorObserved:
    world.is_open[side] = True
    world.opened_at[side] = world.now
    world.opened_in_fire[side] = world.unlocked(side) and world.fire_unlocked[side]
    world.held_alerted[side] = False
    return DoorObserved(at(world.now), side, OPEN)


def _run(lock: Airlock, world: World, event: AirlockEvent, failures: int) -> None:
    """Feed one event; carry out its commands (some fail, reported at once); check."""
    # A door opened while locked must be reported as forced, unless a failed command
    # left the controller unsure whether it was unlocked (then it stays quiet).
    should_alert = {
        side: not world.unlocked(side) and not lock.door(side).released(at(world.now))
        for side in (OUT, IN)
    }
    opening = event.side if isinstance(event, DoorObserved) and event.state.is_open else None
    step = lock.handle(event)
    pending = [(step, event)]
    while pending:
        step, cause = pending.pop()
        _check_step(lock, world, step, cause, opening, should_alert)
        for i, command in enumerate(step.commands):
            side = OUT if command.door == "ext" else IN
            _check_command(world, command, cause)
            if command.action is DoorAction.PULSE and side is OUT:
                world.grant_since_outer_pulse = False
            report: AirlockEvent
            if failures >> i & 1:
                report = CommandFailed(at(world.now), side, command.action, "simulated")
            else:
                world.apply(side, command)
                report = CommandDone(at(world.now), side, command.action)
            pending.append((lock.handle(report), report))
        opening = None


def _check_command(world: World, command: DoorCommand, cause: AirlockEvent) -> None:
    """Checked as the command is carried out (the ones before it already applied)."""
    if command.action is not DoorAction.PULSE:
        return
    if command.door == "int":
        # 2. The inner door opens only after a GRANT, with the outer door shut.
        assert world.grant_since_outer_pulse, cause
    # No pulse while the other door is open or unlocked.
    other = IN if command.door == "ext" else OUT
    assert not world.is_open[other] and not world.unlocked(other), cause


def _check_step(lock, world, step, cause, opening, should_alert) -> None:
    now = at(world.now)
    # 1. The controller never has both doors released, outside fire egress and its end.
    if lock.state not in (AirlockState.FIRE, AirlockState.RECOVERING):
        assert not lock.both_released(now), (lock.state, cause)
    # 3. A door opened while locked is reported as forced; never one opened when unlocked.
    if opening is not None:
        alerted = AlertKind.DOOR_FORCED in [a.kind for a in step.alerts]
        assert alerted == should_alert[opening], cause
        assert not (alerted and world.unlocked(opening)), cause
    # 4. Held open is raised once an opening lasts held_open_s (outside fire egress).
    for alert in step.alerts:
        if alert.kind is AlertKind.DOOR_HELD_OPEN:
            side = OUT if alert.door == "ext" else IN
            world.held_alerted[side] = True
    if isinstance(cause, Tick):
        for side, since in world.opened_at.items():
            lasting = world.now - since >= HELD
            if lasting and not world.opened_in_fire[side] and not world.fire_unlocked[side]:
                assert world.held_alerted[side], (side, cause)


def _simulate(plan: list[tuple[tuple[object, ...], int]]) -> World:
    world = World()
    lock = airlock()
    for action, failures in plan:
        event = _event(world, action)
        if event is not None:
            _run(lock, world, event, failures)
        # 5. Outside fire egress, both doors are never physically open together unless
        # somebody forced one (or one is still open from a fire).
        both_open = world.is_open[OUT] and world.is_open[IN]
        if both_open and not world.fire and not world.forced:
            assert world.opened_in_fire[OUT] or world.opened_in_fire[IN]
    return world


# Which commands of a step fail (bit i: the i-th command): mostly none.
FAILURES = st.sampled_from([0] * 12 + [1, 2, 3])
PLAN = st.lists(st.tuples(ACTION, FAILURES), max_size=60)
PLAN_WITH_FORCE = st.lists(st.tuples(ACTION | FORCE, FAILURES), max_size=60)
SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(PLAN)
def test_random_sequences_keep_the_interlock(plan):
    _simulate(plan)


@SETTINGS
@given(PLAN_WITH_FORCE)
def test_random_sequences_with_forcing_keep_the_interlock_and_report_it(plan):
    _simulate(plan)


def test_a_long_happy_day_reaches_every_state():
    """Many people through the airlock in a row: the machine never gets stuck."""
    lock = airlock()
    t = 1.0
    seen = set()
    for n in range(30):
        enter(lock, t)
        decision = [Decision.GRANT, Decision.REFER, Decision.DENY][n % 3]
        lock.handle(DecisionMade(at(t + 3), decision))
        seen.add(lock.state)
        if lock.state is AirlockState.HELD:
            lock.handle(AgentDecided(at(t + 4), Decision.GRANT, "agent"))
        side = IN if lock.state is AirlockState.GRANTED else OUT
        lock.handle(DoorObserved(at(t + 5), side, OPEN))
        confirm(lock, lock.handle(DoorObserved(at(t + 6), side, CLOSED)), t + 6)
        assert lock.state is AirlockState.IDLE
        t += 10
    assert seen == {AirlockState.GRANTED, AirlockState.HELD, AirlockState.TURNED_BACK}
