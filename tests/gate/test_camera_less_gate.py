"""A camera-less gate (badge reader + door, a staff door) built from the site file and
driven through the badge endpoint, on a real site (SQLite and PostgreSQL).

The lane has no camera and no face engine: a badge posted to the endpoint is decided on
the lane's next tick (credential-only: a valid badge is referred to the gate agent's
visual check, a revoked or unknown one refused); nothing opens by itself. Each reader
keeps its own rate limit.
"""

from __future__ import annotations

import json
import threading
import time

from seuil.adapters.doors.simulated import SimulatedDoor
from seuil.bootstrap import build_badge_endpoint, build_gate_lanes
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.domain.gate import Decision, DenyReason, GateDecision, GateMode, ReferReason
from seuil.domain.lane import DoorAction
from seuil.domain.people import PersonKind
from seuil.gate.lane_control import DoorLane
from seuil.site_config import parse_site_config

SITE = """
[[readers]]
id = "badge-parking"
kind = "wiegand-http"
token = "${TOKEN_PARKING}"
max_per_minute = 2

[[readers]]
id = "badge-cour"
kind = "wiegand-http"
token = "${TOKEN_COUR}"
max_per_minute = 5

[[doors]]
id = "porte-personnel"
kind = "simulated"
pulse_s = 2

[[gates]]
id = "personnel"
name = "Porte du personnel"
mode = "credential_only"
readers = ["badge-parking", "badge-cour"]
door = "porte-personnel"
storage = ["site_database", "none"]
"""
ENV = {"TOKEN_PARKING": "tok-parking", "TOKEN_COUR": "tok-cour"}
ACTOR = "cpe"


def _badge(site, number: str, *, revoked: bool = False) -> None:
    person = site.people.create(ACTOR, PersonKind.STAFF, "Durand", "Claire", group="ADM")
    issued = site.credentials.issue_badge(ACTOR, person.ref, number, TemplateStorage.NONE)
    if revoked:
        site.credentials.revoke(ACTOR, issued.credential.id, RevocationReason.LOST)


def _post(endpoint, number: str, token: str = "Bearer tok-parking"):
    return endpoint.handle_badge("personnel", token, json.dumps({"number": number}).encode())


def _built(site):
    config = parse_site_config(SITE, environ=ENV)
    decisions: list[GateDecision] = []
    lanes, skipped = build_gate_lanes(site, config, decisions.append, site_mode=lambda: "normal")
    assert skipped == []
    (lane,) = lanes
    return config, lanes, lane, decisions


def test_a_camera_less_gate_runs_on_its_badges(site):
    config, lanes, lane, decisions = _built(site)
    assert lane.source is None and lane.pipeline._engine is None
    assert lane.pipeline.options.mode is GateMode.CREDENTIAL_ONLY
    assert isinstance(lane.doors, DoorLane) and lane.doors._detect is None
    door = lane.doors.door
    assert isinstance(door, SimulatedDoor)
    _badge(site, "70001")
    endpoint = build_badge_endpoint(config, lanes)
    assert _post(endpoint, "70001").status == 202

    stop = threading.Event()
    runner = threading.Thread(target=lane.run, args=(stop, 10.0))
    runner.start()  # the real loop: no camera, the lane ticks by itself
    try:
        deadline = time.monotonic() + 5
        while not decisions and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        runner.join(5)
    assert not runner.is_alive()
    (decided,) = decisions
    # Credential-only: a valid badge goes to the gate agent's visual check (the
    # enrolment photo on the gate screen); the lane opens nothing by itself.
    assert (decided.gate_id, decided.mode) == ("personnel", GateMode.CREDENTIAL_ONLY)
    assert (decided.decision, decided.reason) == (Decision.REFER, ReferReason.NON_BIOMETRIC)
    assert decided.credential_id is not None and decided.person_ref is not None
    assert door.calls(DoorAction.PULSE) == []


def test_the_door_of_a_camera_less_lane_is_pulsed_on_grant(site):
    _config, _lanes, lane, _decisions = _built(site)
    doors = lane.doors
    assert isinstance(doors, DoorLane)
    # The pipeline's door control is the lane's door: a GRANT reaching it pulses the door
    # for the configured time (what an agent's decision or a future policy would send).
    assert lane.pipeline._door is doors
    grant = GateDecision("personnel", site.clock.now(), Decision.GRANT, credential_id="c")
    doors.open_for(grant)
    assert [c.duration_s for c in doors.door.calls(DoorAction.PULSE)] == [2.0]


def test_a_revoked_or_unknown_badge_opens_nothing(site):
    config, lanes, lane, decisions = _built(site)
    _badge(site, "70002", revoked=True)
    endpoint = build_badge_endpoint(config, lanes)
    assert _post(endpoint, "70002").status == 202
    lane.step(None)
    assert _post(endpoint, "99999", "Bearer tok-cour").status == 202
    lane.step(None)
    assert [d.reason for d in decisions] == [DenyReason.REVOKED, DenyReason.UNKNOWN_BADGE]
    assert all(d.decision is Decision.DENY for d in decisions)
    assert lane.doors.door.calls(DoorAction.PULSE) == []
    assert _post(endpoint, "1", "Bearer wrong").status == 401


def test_each_reader_of_the_gate_keeps_its_own_rate_limit(site):
    config, lanes, _lane, _decisions = _built(site)
    endpoint = build_badge_endpoint(config, lanes)
    parking = [_post(endpoint, str(100 + i)).status for i in range(3)]
    cour = [_post(endpoint, str(200 + i), "Bearer tok-cour").status for i in range(6)]
    assert parking == [202, 202, 429]  # its own 2 a minute, not the gate's highest (5)
    assert cour[:5] == [202] * 5 and cour[5] in (429, 503)  # 5 a minute (inbox holds 8)
