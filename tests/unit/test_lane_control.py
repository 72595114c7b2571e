"""The lane's doors driven: one door with its tailgating watch, and the airlock (sas).

Simulated doors (a strike that relocks by itself, a contact that reports open/closed)
and a fake clock; the people are played by hand (``push``/``close``) and by face boxes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.lane_clock import LaneClock

from seuil.adapters.doors.simulated import SimulatedDoor
from seuil.domain.errors import DeviceError
from seuil.domain.faces import FaceBox
from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.lane import AirlockState, AlertKind, DoorAction
from seuil.domain.tracks import TrackCounter
from seuil.gate.lane_control import AirlockLane, DoorLane

T0 = datetime(2026, 11, 30, 7, 50, tzinfo=UTC)
GRANT = GateDecision("sas", T0, Decision.GRANT, credential_id="c1", person_ref="P-1")


def _box(x: int, y: int = 100, w: int = 80) -> FaceBox:
    return FaceBox(x, y, x + w, y + w)


# -- the track counter --------------------------------------------------------------------


def test_one_person_walking_is_one_track():
    counter = TrackCounter()
    for x in range(100, 500, 30):  # walks across the frame, 30 px per frame
        counter.update([_box(x)])
    assert counter.people == 1


def test_two_faces_in_one_frame_are_two_people():
    counter = TrackCounter()
    for x in range(100, 200, 20):
        counter.update([_box(x), _box(x + 400)])
    assert counter.people == 2


def test_one_after_the_other_is_two_people_and_a_stray_box_is_nobody():
    counter = TrackCounter(min_hits=2, max_gap=2)
    for x in (100, 120, 140):
        counter.update([_box(x)])
    counter.update([])
    counter.update([_box(900, 400)])  # a stray detection, once
    for _ in range(3):
        counter.update([])
    for x in (600, 580, 560):  # a second person, far from where the first was
        counter.update([_box(x)])
    assert counter.people == 2


def test_a_lost_then_found_face_is_still_one_person():
    counter = TrackCounter(max_gap=3)
    counter.update([_box(100)])
    counter.update([_box(110)])
    counter.update([])
    counter.update([])
    counter.update([_box(130)])
    assert counter.people == 1


# -- a face that comes back: same person or not -------------------------------------------


def _signed(counter, frames, faces):
    """Play ``frames`` (lists of boxes); ``faces`` maps a box's left edge to whose face
    it is (None: too small to sign). Returns the boxes signed, in order."""
    asked = []

    def sign(box):
        asked.append(box.left)
        return faces[box.left]

    for boxes in frames:
        counter.update(boxes, sign)
    return asked


def _same(a, b):
    return a == b


def test_a_face_lost_longer_than_the_gap_and_back_is_the_same_person():
    counter = TrackCounter(max_gap=2, same=_same)
    gone = [[]] * 5  # she looks back over her shoulder for longer than max_gap
    asked = _signed(counter, [[_box(100)], [_box(101)], [_box(102)], *gone,
                              [_box(300)], [_box(301)], [_box(302)]],
                    {101: "anna", 301: "anna"})  # fmt: skip
    assert counter.people == 1 and counter.rejoined == 1
    assert asked == [101, 301]  # once per track, on the frame it is confirmed


def test_a_second_person_in_the_same_spot_is_counted():
    counter = TrackCounter(max_gap=2, same=_same)
    _signed(counter, [[_box(100)], [_box(100)], *[[]] * 5, [_box(100)], [_box(100)]],
            {100: "anna"})  # fmt: skip
    assert counter.people == 1  # same face, same spot: one
    counter = TrackCounter(max_gap=2, same=_same)
    faces = iter(["anna", "bruno"])
    for boxes in [[_box(100)], [_box(100)], *[[]] * 5, [_box(100)], [_box(100)]]:
        counter.update(boxes, lambda box: next(faces))
    assert counter.people == 2 and counter.rejoined == 0


def test_a_face_that_cannot_be_signed_is_counted():
    counter = TrackCounter(max_gap=2, same=_same)
    _signed(counter, [[_box(100)], [_box(101)], *[[]] * 5, [_box(300)], [_box(301)]],
            {101: "anna", 301: None})  # fmt: skip
    assert counter.people == 2 and counter.unsigned == 1


def test_two_faces_in_view_together_are_two_people_however_alike():
    counter = TrackCounter(max_gap=2, same=_same)
    _signed(counter, [[_box(100), _box(600)]] * 3, {100: "twin", 600: "twin"})
    assert counter.people == 2 and counter.rejoined == 0
    # A face taken for someone who had left, then that someone is back beside it: two.
    counter = TrackCounter(max_gap=3, same=_same)
    frames = [[_box(100)], [_box(100)], [], [_box(600)], [_box(600)], [_box(100), _box(600)]]
    _signed(counter, frames, {100: "anna", 600: "anna"})
    assert counter.rejoined == 1 and counter.people == 2


def test_a_merged_face_does_not_widen_whom_the_person_matches():
    """Signatures 0, 1, 2 on a line, "same" within 1: the face back (1) is the first
    person (0); the next face (2) is like the face back but not like the person as
    counted, so it is someone new. Comparing with every merged face would chain them."""
    counter = TrackCounter(max_gap=2, same=lambda a, b: abs(a - b) <= 1)
    gone = [[]] * 4
    _signed(counter, [[_box(100)], [_box(100)], *gone, [_box(300)], [_box(300)], *gone,
                      [_box(500)], [_box(500)]], {100: 0, 300: 1, 500: 2})  # fmt: skip
    assert counter.rejoined == 1 and counter.people == 2


def test_counter_refuses_bad_settings():
    with pytest.raises(ValueError):
        TrackCounter(min_hits=0)
    with pytest.raises(ValueError):
        TrackCounter(min_iou=0)


# -- one door -----------------------------------------------------------------------------


def _door_lane(boxes_per_frame=None, **kwargs):
    clock = LaneClock(T0)
    door = SimulatedDoor("portillon", clock)
    events: list[GateDecision] = []
    frames = iter(boxes_per_frame or [])
    lane = DoorLane("entree", door, clock, events.append, pulse_s=3.0, after_s=2.0,
                    detect=lambda image: next(frames, []), monotonic=clock.mono,
                    **kwargs)  # fmt: skip
    return lane, door, clock, events


def _play(lane, clock, frames: int, step=0.1):
    for _ in range(frames):
        lane.on_frame(None)
        lane.tick()
        clock.advance(step)


def test_one_person_through_one_opening_raises_nothing():
    lane, door, clock, events = _door_lane([[_box(100 + 10 * i)] for i in range(20)])
    lane.open_for(GRANT)
    assert [c.action for c in door.calls()] == [DoorAction.PULSE]
    _play(lane, clock, 60)
    assert events == [] and lane.openings == [(1, 1)] and lane.window is None


def test_a_second_person_through_the_same_opening_is_tailgating():
    frames = [[_box(100 + 10 * i)] for i in range(5)]
    frames += [[_box(150 + 10 * i), _box(600 - 10 * i)] for i in range(10)]
    lane, _, clock, events = _door_lane(frames)
    lane.open_for(GRANT)
    _play(lane, clock, 60)
    assert len(events) == 1  # one event per opening, not one per frame
    e = events[0]
    assert e.decision is Decision.REFER and e.reason is ReferReason.TAILGATING
    assert e.person_ref == "P-1" and e.credential_id == "c1"
    assert [a.kind for a in lane.raised] == [AlertKind.TAILGATING]
    assert lane.openings == [(1, 2)]


def test_a_detector_that_fails_costs_its_frames_not_the_lane():
    """The tailgating watch's detection raising (a broken engine): the lane keeps its
    door, closes its opening and counts the frames it could read."""
    clock = LaneClock(T0)
    door = SimulatedDoor("portillon", clock)
    events: list[GateDecision] = []
    calls = iter(range(1000))

    def detect(image):
        n = next(calls)
        if n % 2:
            raise RuntimeError("onnxruntime: session lost")
        return [_box(100 + n)]

    lane = DoorLane("entree", door, clock, events.append, pulse_s=3.0, after_s=2.0,
                    detect=detect, monotonic=clock.mono)  # fmt: skip
    lane.open_for(GRANT)
    _play(lane, clock, 60)
    assert events == [] and lane.openings == [(1, 1)] and lane.window is None


def test_a_face_the_engine_cannot_compare_is_counted_not_raised():
    from seuil.gate.track_faces import TrackFaces

    class BrokenEngine:
        def analyse(self, image, boxes, profile):
            raise RuntimeError("landmarks: model file unreadable")

    faces = TrackFaces(BrokenEngine())  # type: ignore[arg-type]
    counter = faces.counter()
    gone = [[]] * 5
    for boxes in [[_box(100)], [_box(100)], *gone, [_box(100)], [_box(100)]]:
        counter.update(boxes, lambda box: faces.signature(None, box))  # type: ignore[arg-type]
    assert counter.people == 2 and counter.unsigned == 2  # towards a REFER, never an error


def test_two_credentials_for_two_people_is_no_tailgating():
    frames = [[_box(150 + 10 * i), _box(600 - 10 * i)] for i in range(10)]
    lane, _, clock, events = _door_lane(frames)
    lane.open_for(GRANT)
    lane.open_for(GRANT)  # the second pupil showed a card within the same opening
    _play(lane, clock, 60)
    assert events == [] and lane.openings == [(2, 2)]


def test_a_beam_sensor_count_is_enough_without_a_camera():
    lane, _, _clock, events = _door_lane()
    lane._detect = None
    lane.open_for(GRANT)
    lane.people_counted(1)
    assert events == []
    lane.people_counted(2)
    assert events[0].reason is ReferReason.TAILGATING


def test_people_after_the_opening_are_not_counted():
    frames = [[_box(100)] for _ in range(10)] + [[_box(100), _box(600)] for _ in range(30)]
    lane, _, clock, events = _door_lane(frames)
    lane.open_for(GRANT)
    _play(lane, clock, 10, step=0.6)  # 6 s: the window (3 + 2 s) is over before the 2nd
    assert events == [] and lane.openings == [(1, 1)]


def test_door_lane_pulse_failure_raises_and_alerts_without_a_second_event():
    lane, door, _, events = _door_lane()
    door.unreachable = True
    with pytest.raises(DeviceError):
        lane.open_for(GRANT)
    assert events == [] and [a.kind for a in lane.raised] == [AlertKind.DOOR_FAULT]
    assert lane.window is None


def test_door_lane_follows_the_site_mode():
    mode = {"now": "normal"}
    lane, door, clock, _ = _door_lane(site_mode=lambda: mode["now"])
    mode["now"] = "evacuation"
    lane.tick()
    assert door.unlocked and AlertKind.FIRE_EGRESS in [a.kind for a in lane.raised]
    lane.open_for(GRANT)  # nothing to pulse: already released
    mode["now"] = "confinement"
    lane.tick()
    assert not door.unlocked
    lane.open_for(GRANT)
    clock.advance(1)
    assert not door.unlocked
    assert [c.action for c in door.calls()] == [DoorAction.RELEASE, DoorAction.LOCK]


def test_door_lane_watches_a_forced_door():
    lane, door, _clock, events = _door_lane(watch_state=True)
    lane.tick()
    door.push()  # opened while locked
    lane.tick()
    assert [a.kind for a in lane.raised] == [AlertKind.DOOR_FORCED] and events == []


# -- the airlock -----------------------------------------------------------------------------


def _airlock(**kwargs):
    clock = LaneClock(T0)
    outer, inner = SimulatedDoor("sas-ext", clock), SimulatedDoor("sas-int", clock)
    events: list[GateDecision] = []
    lane = AirlockLane("sas", outer, inner, clock, events.append, outer_pulse_s=3.0,
                       inner_pulse_s=3.0, monotonic=clock.mono, **kwargs)  # fmt: skip
    lane.tick()  # first reading of both doors
    return lane, outer, inner, clock, events


def _never_both(outer, inner):
    assert not (outer.unlocked and inner.unlocked), "both doors unlocked at once"


def _walk(lane, clock, outer, inner, door, seconds=1.0):
    """Someone opens ``door``, walks through for ``seconds`` and closes it."""
    door.push()
    lane.tick()
    _never_both(outer, inner)
    clock.advance(seconds)
    door.close()
    lane.tick()
    _never_both(outer, inner)


def test_airlock_grant_outer_then_inner_after_the_outer_is_closed():
    lane, outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    assert outer.unlocked and not inner.unlocked and lane.state is AirlockState.ENTERING
    _walk(lane, clock, outer, inner, outer)
    assert inner.unlocked and not outer.unlocked and lane.state is AirlockState.GRANTED
    _walk(lane, clock, outer, inner, inner)
    assert lane.state is AirlockState.IDLE and events == []
    assert [c.action for c in outer.calls()] == [DoorAction.PULSE, DoorAction.LOCK]
    assert [c.action for c in inner.calls()] == [DoorAction.PULSE, DoorAction.LOCK]


def test_airlock_inner_waits_while_the_outer_stays_open():
    lane, outer, inner, clock, _ = _airlock()
    lane.open_for(GRANT)
    outer.push()
    for _ in range(50):  # the outer door held open 5 s: the inner never opens
        clock.advance(0.1)
        lane.tick()
        assert not inner.calls(DoorAction.PULSE)
    outer.close()
    lane.tick()
    assert inner.calls(DoorAction.PULSE)


def test_airlock_nobody_enters_times_out_back_to_idle():
    lane, _outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    clock.advance(3.5)
    lane.tick()
    assert lane.state is AirlockState.IDLE and not inner.calls() and events == []


def test_airlock_two_people_inside_are_held_for_the_agent():
    lane, outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    lane.people_counted(2)
    _walk(lane, clock, outer, inner, outer)
    assert lane.state is AirlockState.HELD and not inner.calls(DoorAction.PULSE)
    assert [(e.decision, e.reason) for e in events] == [(Decision.REFER, ReferReason.TAILGATING)]
    lane.agent_decided(Decision.GRANT, "agent:dupont")
    assert inner.unlocked


def test_airlock_faces_counted_in_frames_hold_a_tailgater():
    frames = iter([[_box(100), _box(500)]] * 5)
    lane, outer, inner, clock, events = _airlock(detect=lambda image: next(frames, []))
    lane.open_for(GRANT)
    for _ in range(5):
        lane.on_frame(None)
    _walk(lane, clock, outer, inner, outer)
    assert lane.state is AirlockState.HELD and events[0].reason is ReferReason.TAILGATING


def test_airlock_outer_fault_fails_closed():
    lane, outer, inner, _, _events = _airlock()
    outer.unreachable = True
    with pytest.raises(DeviceError):
        lane.open_for(GRANT)
    assert lane.state is AirlockState.IDLE and not inner.calls()
    assert AlertKind.DOOR_FAULT in [a.kind for a in lane.raised]


def test_airlock_inner_fault_holds_the_person_and_records_a_fault_event():
    lane, outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    inner.unreachable = True
    _walk(lane, clock, outer, inner, outer)
    assert lane.state is AirlockState.HELD
    faults = [e for e in events if e.reason is DenyReason.DEVICE_FAULT]
    assert faults and faults[0].person_ref == "P-1" and faults[0].decision is Decision.DENY


def test_airlock_unreadable_door_state_blocks_the_inner_door():
    lane, outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    outer.push()
    lane.tick()
    outer.close()
    outer.unreachable = True  # the contact cannot be read: never taken as closed
    for _ in range(10):
        clock.advance(0.5)
        lane.tick()
    assert not inner.calls(DoorAction.PULSE)
    assert len([e for e in events if e.reason is DenyReason.DEVICE_FAULT]) == 1  # once


def test_airlock_busy_refuses_the_next_grant():
    lane, _outer, _inner, _clock, _ = _airlock()
    lane.open_for(GRANT)
    with pytest.raises(DeviceError, match="airlock"):
        lane.open_for(GRANT)


def test_airlock_evacuation_releases_both_and_recovers():
    mode = {"now": "normal"}
    lane, outer, inner, _clock, _ = _airlock(site_mode=lambda: mode["now"])
    mode["now"] = "evacuation"
    lane.tick()
    assert outer.unlocked and inner.unlocked and lane.state is AirlockState.FIRE
    mode["now"] = "normal"
    lane.tick()
    assert not outer.unlocked and not inner.unlocked
    lane.tick()
    assert lane.state is AirlockState.IDLE


def test_airlock_confinement_locks_and_holds_whoever_is_inside():
    mode = {"now": "normal"}
    lane, outer, inner, clock, _ = _airlock(site_mode=lambda: mode["now"])
    lane.open_for(GRANT)
    outer.push()
    lane.tick()
    mode["now"] = "confinement"
    lane.tick()
    outer.close()
    for _ in range(10):
        clock.advance(0.5)
        lane.tick()
    assert not inner.calls(DoorAction.PULSE) and lane.state is AirlockState.HELD
    lane.open_for(GRANT)  # the pipeline never calls it in confinement; harmless anyway
    assert len(outer.calls(DoorAction.PULSE)) == 1


# -- a people counter's passages (turnstile, beam) ------------------------------------------


def _events(events):
    return [(e.decision, e.reason, e.credential_id, e.person_ref) for e in events]


UNAUTHORISED = (Decision.REFER, ReferReason.UNAUTHORISED_PASSAGE, None, None)
TAILGATING = (Decision.REFER, ReferReason.TAILGATING, "c1", "P-1")


def _close_window(lane, clock, seconds=5.0):
    """Let the opening run out (pulse 3 s + 2 s to walk through) and close it."""
    clock.advance(seconds)
    lane.tick()
    assert lane.window is None


def test_a_passage_with_no_opening_is_an_alert_and_an_anonymous_event():
    lane, _, clock, events = _door_lane()
    lane.open_for(GRANT)  # an earlier, finished opening must not lend its credential
    _close_window(lane, clock)
    clock.advance(60)
    lane.people_passed(1)  # someone jumped the turnstile
    (alert,) = lane.raised
    assert alert.kind is AlertKind.UNAUTHORISED_PASSAGE and alert.door == "portillon"
    assert alert.detail == "1 passage(s) with no opening"
    assert _events(events) == [UNAUTHORISED]
    lane.people_passed(2)  # each passage with no opening is seen
    assert len(lane.raised) == 2 and lane.raised[1].detail.startswith("2 passage(s)")
    with pytest.raises(ValueError, match="negative"):
        lane.people_passed(-1)


def test_a_late_report_counts_for_the_opening_that_just_closed():
    lane, _, clock, events = _door_lane()
    lane.open_for(GRANT)
    lane.people_passed(1)
    _close_window(lane, clock)
    clock.advance(1.0)
    lane.people_passed(1)  # the second person's count arrives 1 s after the close
    assert _events(events) == [TAILGATING] and lane.openings == [(1, 2)]
    lane.people_passed(1)  # one alert per opening, even late
    assert [a.kind for a in lane.raised] == [AlertKind.TAILGATING] and lane.openings == [(1, 3)]


def test_one_late_passage_for_one_credential_is_nothing():
    lane, _, clock, events = _door_lane()
    lane.open_for(GRANT)
    _close_window(lane, clock)
    clock.advance(1.9)
    lane.people_passed(1)  # the only person, counted late
    assert events == [] and lane.raised == [] and lane.openings == [(1, 1)]


def test_after_the_grace_a_passage_is_unauthorised_and_each_counter_has_its_own():
    lane, _, clock, events = _door_lane()
    lane.open_for(GRANT)
    lane.people_passed(1)
    _close_window(lane, clock)
    clock.advance(2.5)
    lane.people_passed(1, grace_s=3.0)  # a slow counter declared with a longer grace
    assert _events(events) == [TAILGATING]
    lane.people_passed(1)  # the default 2 s are over
    assert _events(events) == [TAILGATING, UNAUTHORISED] and lane.openings == [(1, 2)]


def test_the_grace_runs_on_the_openings_monotonic_time_not_the_wall_clock():
    lane, _, clock, events = _door_lane()
    lane.open_for(GRANT)
    lane.people_passed(1)
    _close_window(lane, clock)
    clock.jump(3600)  # the wall clock is put forward an hour right after the close
    clock.advance(1.0)
    lane.people_passed(1)  # still 1 s after the close: late, for that opening
    assert _events(events) == [TAILGATING] and lane.openings == [(1, 2)]
    lane.open_for(GRANT)
    _close_window(lane, clock)
    clock.jump(-7200)  # then set back two hours
    clock.advance(2.5)
    lane.people_passed(1)  # 2.5 s after the close: the grace is over
    assert _events(events) == [TAILGATING, UNAUTHORISED] and lane.openings[-1] == (1, 0)


def test_passages_follow_the_site_mode():
    mode = {"now": "evacuation"}
    lane, _, _clock, events = _door_lane(site_mode=lambda: mode["now"])
    lane.tick()
    lane.people_passed(5)  # fire egress: everyone leaves through the released door
    assert events == [] and [a.kind for a in lane.raised] == [AlertKind.FIRE_EGRESS]
    mode["now"] = "confinement"
    lane.tick()
    lane.people_passed(1)  # a locked-down door, yet someone went through
    alert = lane.raised[-1]
    assert alert.kind is AlertKind.UNAUTHORISED_PASSAGE and "confinement" in alert.detail
    assert _events(events) == [UNAUTHORISED]


def _enter(lane, clock, outer, inner):
    lane.open_for(GRANT)
    _walk(lane, clock, outer, inner, outer)


def test_airlock_counter_passages_while_entering_hold_a_tailgater_once():
    lane, outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    lane.people_passed(1)
    lane.people_passed(1)  # two passages in one cycle: two people inside
    _walk(lane, clock, outer, inner, outer)
    assert lane.state is AirlockState.HELD and not inner.calls(DoorAction.PULSE)
    lane.people_passed(1)
    assert _events(events) == [TAILGATING] and lane.airlock.people == 3


def test_airlock_counter_late_passages_are_tailgating_once_per_cycle():
    lane, outer, inner, clock, events = _airlock()
    _enter(lane, clock, outer, inner)
    assert lane.state is AirlockState.GRANTED
    lane.people_passed(1)
    assert events == []  # one person for one credential
    _walk(lane, clock, outer, inner, inner)
    assert lane.state is AirlockState.IDLE
    clock.advance(1.0)
    lane.people_passed(1)  # a second person, counted late: the inner door already closed
    assert _events(events) == [TAILGATING]
    assert lane.raised[-1].detail == "2 people through the airlock"
    lane.people_passed(1)
    assert len(events) == 1
    clock.advance(2.0)
    lane.people_passed(1)  # the grace is over: nobody let this one in
    assert _events(events)[1:] == [UNAUTHORISED] and lane.raised[-1].door is None


def test_airlock_grace_is_not_moved_by_a_wall_clock_jump():
    lane, outer, inner, clock, events = _airlock()
    _enter(lane, clock, outer, inner)
    lane.people_passed(1)
    _walk(lane, clock, outer, inner, inner)
    assert lane.state is AirlockState.IDLE
    clock.jump(-3600)  # set back an hour: a wall-clock grace would last an hour more
    clock.advance(2.5)
    lane.people_passed(1)
    assert _events(events) == [UNAUTHORISED]


def test_airlock_counter_while_granted_more_than_one_is_tailgating():
    lane, outer, inner, clock, events = _airlock()
    _enter(lane, clock, outer, inner)
    lane.people_passed(2)
    assert _events(events) == [TAILGATING] and inner.unlocked  # already let through


def test_airlock_someone_turned_back_crossing_the_counter_again_is_no_alert():
    lane, outer, inner, clock, events = _airlock()
    lane.open_for(GRANT)
    lane.people_passed(1)
    _walk(lane, clock, outer, inner, outer)
    clock.advance(3.5)  # the inner door released, but the person stays: the agent decides
    lane.tick()
    assert lane.state is AirlockState.HELD
    lane.agent_decided(Decision.DENY, "agent:dupont")  # and sends them back out
    assert lane.state is AirlockState.TURNED_BACK
    lane.people_passed(1)  # going back out through the counter
    _walk(lane, clock, outer, inner, outer)
    assert lane.state is AirlockState.IDLE
    lane.people_passed(1)  # or counted late
    assert events == [] and [a.kind for a in lane.raised] == [AlertKind.PASSAGE_TIMEOUT]


def test_airlock_counter_with_no_cycle_follows_the_site_mode():
    mode = {"now": "normal"}
    lane, _outer, _inner, _clock, events = _airlock(site_mode=lambda: mode["now"])
    lane.people_passed(1)
    assert _events(events) == [UNAUTHORISED]
    mode["now"] = "evacuation"
    lane.tick()
    lane.people_passed(3)
    assert len(events) == 1 and lane.state is AirlockState.FIRE
    mode["now"] = "confinement"
    lane.tick()
    lane.people_passed(1)
    assert _events(events) == [UNAUTHORISED] * 2 and "confinement" in lane.raised[-1].detail
