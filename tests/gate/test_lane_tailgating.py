"""Tailgating on real video: distinct face tracks through one door opening.

One person (``obama.mp4``) walking through a granted opening is one person; the same
frames with a second real person beside him (``biden.mp4``, composed side by side) or
right after him are two people for one credential: REFER tailgating, one event.

A face lost for longer than the tracks' gap (``real2.webm``: she turns her head; here
her face is hidden for a second, which is what a head turned away is to the detector)
comes back as a new track: the lane's :class:`TrackFaces` recognises it as the person
already counted, so one person is one person; Biden after Obama is still two.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from tests.lane_clock import T0, LaneClock

from seuil.adapters.doors.simulated import SimulatedDoor
from seuil.adapters.video_file import iter_video_frames
from seuil.domain.gate import Decision, GateDecision, ReferReason
from seuil.domain.tracks import TrackCounter
from seuil.gate.lane_control import DoorLane
from seuil.gate.track_faces import TrackFaces

GRANT = GateDecision("entree", T0, Decision.GRANT, credential_id="c1", person_ref="P-1")


def _frames(shared, name, n=12, height=360, width=320, folder="video"):
    """The clip at ``height`` px, its centre ``width`` px (two side by side make one
    640x360 frame, the size the gate detector works at)."""
    out = []
    for f in iter_video_frames(shared / folder / name, fps=8, max_frames=n):
        h, w = f.image.shape[:2]
        small = cv2.resize(f.image, (round(w * height / h), height))
        x = (small.shape[1] - width) // 2
        out.append(np.ascontiguousarray(small[:, x : x + width]))
    return out


def _side_by_side(left, right):
    return [np.ascontiguousarray(np.hstack([a, b])) for a, b in zip(left, right, strict=True)]


@pytest.fixture(scope="module")
def clips(shared):
    return _frames(shared, "obama.mp4"), _frames(shared, "biden.mp4")


def _count(detector, frames):
    counter = TrackCounter()
    for frame in frames:
        counter.update(detector.detect(frame))
    return counter.people


def test_track_counter_on_real_faces(gate_engine, clips):
    obama, biden = clips
    side_by_side = _side_by_side(obama, biden)
    assert _count(gate_engine.detector, obama) == 1
    assert _count(gate_engine.detector, side_by_side) == 2
    # One after the other: the first walks out of view (4 empty frames, half a second)
    # before the second steps into the same spot. (A face replacing another in the very
    # same place within max_gap frames is merged: boxes only, no appearance.)
    gap = [np.zeros_like(obama[0])] * 4
    assert _count(gate_engine.detector, obama[:6] + gap + biden[:6]) == 2


def _lane(gate_engine, faces=None):
    clock = LaneClock()
    events: list[GateDecision] = []
    lane = DoorLane("entree", SimulatedDoor("portillon", clock), clock, events.append,
                    pulse_s=3.0, after_s=2.0, detect=gate_engine.detector.detect,
                    faces=faces, monotonic=clock.mono)  # fmt: skip
    return lane, clock, events


def _through(lane, clock, frames):
    lane.open_for(GRANT)
    for frame in frames:
        lane.on_frame(frame)
        lane.tick()
        clock.advance(0.125)  # 8 fps
    clock.advance(5)
    lane.tick()


def test_one_person_one_credential_no_event(gate_engine, clips):
    lane, clock, events = _lane(gate_engine)
    _through(lane, clock, clips[0])
    assert events == [] and lane.openings == [(1, 1)]


def test_second_person_in_the_opening_is_referred_as_tailgating(gate_engine, clips):
    obama, biden = clips
    lane, clock, events = _lane(gate_engine)
    _through(lane, clock, _side_by_side(obama, biden))
    assert [(e.decision, e.reason, e.person_ref) for e in events] == [
        (Decision.REFER, ReferReason.TAILGATING, "P-1")
    ]
    assert lane.openings == [(1, 2)]


def _hide_face(detector, frame):
    """The frame with its face covered (grey, with a margin): what a head turned away
    is to the detector."""
    out = frame.copy()
    for box in detector.detect(frame):
        m = box.width // 3
        out[max(0, box.top - m) : box.bottom + m, max(0, box.left - m) : box.right + m] = 128
    return out


@pytest.fixture(scope="module")
def looking_back(shared, gate_engine):
    """Five seconds of ``real2.webm`` (one opening at 8 fps), her face lost for one
    second (8 frames, longer than the tracks' gap of 3) while she turns her head."""
    frames = _frames(shared, "real2.webm", n=40, folder="spoof")
    hidden = range(10, 18)
    frames = [_hide_face(gate_engine.detector, f) if i in hidden else f
              for i, f in enumerate(frames)]  # fmt: skip
    assert not any(gate_engine.detector.detect(frames[i]) for i in hidden)
    return frames


def test_a_face_lost_and_back_in_one_opening_is_one_person(gate_engine, looking_back):
    # Boxes alone (before TrackFaces): she came back as a second person, a false REFER.
    lane, clock, events = _lane(gate_engine)
    _through(lane, clock, looking_back)
    assert lane.openings == [(1, 2)] and len(events) == 1
    faces = TrackFaces(gate_engine)
    lane, clock, events = _lane(gate_engine, faces)
    _through(lane, clock, looking_back)
    assert events == [] and lane.openings == [(1, 1)]
    assert faces.embeddings == 2  # her first track and the one after the turn, once each


def test_with_faces_compared_two_people_are_still_two(gate_engine, clips):
    obama, biden = clips
    gap = [np.zeros_like(obama[0])] * 4  # Obama gone before Biden steps into his spot
    for frames in (_side_by_side(obama, biden), obama[:6] + gap + biden[:6]):
        faces = TrackFaces(gate_engine)
        lane, clock, events = _lane(gate_engine, faces)
        _through(lane, clock, frames)
        assert [(e.decision, e.reason) for e in events] == [
            (Decision.REFER, ReferReason.TAILGATING)
        ]
        assert lane.openings == [(1, 2)] and faces.embeddings == 2
