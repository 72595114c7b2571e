"""Lanes against the real Mosquitto (127.0.0.1:1883, ``SEUIL_TEST_MQTT`` overrides).

* the airlock with two MQTT doors, end to end: a GRANT opens the outer door; the inner
  door is commanded only once the outer door has reported itself closed (pushed state);
* door states pushed by the doors are what the lanes follow: after the first read, no
  ``state`` command goes out while the link is up;
* a people counter (``counter-mqtt`` reader of the site file) publishing passages feeds
  the tailgating watch of a door or an airlock, and a passage with no opening (or after
  the counter's grace) is an unauthorised passage.

Without the broker these tests skip, or fail when ``CI`` or ``SEUIL_REQUIRE_SERVICES``
is set (the ``broker`` fixture).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tests.gateway.conftest import broker  # noqa: F401 (fixture: the real Mosquitto)
from tests.lane_clock import LaneClock

from seuil.adapters.doors.mqtt_door import MqttDoor, MqttOptions
from seuil.bootstrap import build_gate_lanes
from seuil.domain.gate import Decision, GateDecision, ReferReason
from seuil.domain.incidents import IncidentType
from seuil.domain.lane import AirlockState, AlertKind, DoorAction, DoorState, LaneAlert, Side
from seuil.gate.lane_control import AirlockLane, DoorLane
from seuil.services.gate_signals import signal_from_lane_alert
from seuil.site_config import parse_site_config


def _wait(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Devices:
    """Door devices of one site on the broker: they acknowledge every command with
    their state and push their changes (``set``), like the firmware docs/mqtt.md asks."""

    def __init__(self, host: str, port: int, site: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.site = site
        self.states: dict[str, str] = {}
        self.log: list[tuple[str, str]] = []  # (door, command) in order
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(f"seuil/{site}/doors/+/command", 1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert ready.wait(5), "the simulated doors could not subscribe"

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        data = json.loads(msg.payload)
        door = msg.topic.split("/")[-2]
        with self._lock:
            self.log.append((door, data["command"]))
            state = self.states.setdefault(door, "closed")
        answer = {"ack": data["id"], "ok": True, "state": state}
        client.publish(f"seuil/{self.site}/doors/{door}/state", json.dumps(answer), qos=1)

    def commands(self, door: str, command: str | None = None) -> list[str]:
        with self._lock:
            return [c for d, c in self.log if d == door and command in (None, c)]

    def set(self, door: str, state: str) -> None:
        """The door changes on its own (someone pushes it) and says so."""
        with self._lock:
            self.states[door] = state
        topic = f"seuil/{self.site}/doors/{door}/state"
        self.client.publish(topic, json.dumps({"state": state}), qos=1).wait_for_publish(5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def devices(broker) -> Iterator[Devices]:  # noqa: F811
    sim = Devices(*broker, site=f"T{uuid.uuid4().hex[:10].upper()}")
    yield sim
    sim.stop()


def _door(broker, devices, name):  # noqa: F811
    return MqttDoor(name, devices.site, MqttOptions(host=broker[0], port=broker[1]))


def test_airlock_on_mqtt_doors_inner_opens_only_after_outer_reports_closed(broker, devices):  # noqa: F811
    clock = LaneClock()
    events: list[GateDecision] = []
    outer, inner = _door(broker, devices, "sas-ext"), _door(broker, devices, "sas-int")
    lane = AirlockLane("sas", outer, inner, clock, events.append, outer_pulse_s=2.0,
                       inner_pulse_s=2.0)  # fmt: skip
    lane.poll_s = 0.5
    try:
        lane.tick()  # first look: one state read per door, then the pushes take over
        assert lane.round_trips == 2 and lane.state is AirlockState.IDLE
        lane.open_for(GateDecision("sas", clock.now(), Decision.GRANT, credential_id="c1"))
        assert devices.commands("sas-ext", "pulse") == ["pulse"]
        assert devices.commands("sas-int", "pulse") == []
        assert lane.state is AirlockState.ENTERING

        devices.set("sas-ext", "open")  # the person walks in
        assert _wait(lambda: outer.last_state is DoorState.OPEN)
        for _ in range(5):
            clock.advance(0.5)  # the outer pulse runs out; the outer door is still open
            lane.tick()
        assert devices.commands("sas-int", "pulse") == []  # never both open
        assert lane.state is AirlockState.ENTERING

        devices.set("sas-ext", "closed")  # the outer door shuts behind the person
        assert _wait(lambda: outer.last_state is DoorState.CLOSED)
        clock.advance(0.5)
        lane.tick()
        assert devices.commands("sas-int", "pulse") == ["pulse"]
        assert lane.state is AirlockState.GRANTED
        ext_pulse = devices.log.index(("sas-ext", "pulse"))
        int_pulse = devices.log.index(("sas-int", "pulse"))
        assert ext_pulse < int_pulse
        # Everything after the first look came from the pushes: no state round trip.
        assert lane.round_trips == 2
        assert [c for _, c in devices.log].count("state") == 2

        # The inner door already said "closed" when it acknowledged its pulse: wait for
        # each push, or the ticks below may run before the "open" one arrives.
        devices.set("sas-int", "open")
        assert _wait(lambda: inner.last_state is DoorState.OPEN)
        devices.set("sas-int", "closed")
        assert _wait(lambda: inner.last_state is DoorState.CLOSED)
        for _ in range(6):
            clock.advance(0.5)
            lane.tick()
        assert lane.state is AirlockState.IDLE
        assert not [a for a in lane.raised if a.kind is AlertKind.DOOR_FORCED]
    finally:
        outer.close()
        inner.close()


def test_door_lane_follows_pushes_and_reads_again_after_the_link_drops(broker, devices):  # noqa: F811
    clock = LaneClock()
    door = _door(broker, devices, "portillon")
    lane = DoorLane("entree", door, clock, lambda d: None, watch_state=True)
    lane.poll_s = 0.0  # a round trip would be allowed at every tick: pushes spare them
    try:
        lane.tick()
        assert lane.round_trips == 1 and door.pushed_state() is DoorState.CLOSED
        devices.set("portillon", "forced")
        assert _wait(lambda: door.last_state is DoorState.FORCED)
        devices.set("portillon", "closed")  # forced and shut again between two ticks
        assert _wait(lambda: door.last_state is DoorState.CLOSED)
        lane.tick()
        lane.tick()
        forced = [a for a in lane.raised if a.kind is AlertKind.DOOR_FORCED]
        assert len(forced) == 1  # the brief change was not lost between two polls
        assert lane.round_trips == 1 and devices.commands("portillon", "state") == ["state"]
        door.close()  # the link drops: what was pushed may be stale now
        assert door.pushed_state() is None
        lane.tick()  # so the lane asks the door again (and reconnects)
        assert lane.round_trips == 2 and devices.commands("portillon", "state") == ["state"] * 2
    finally:
        door.close()


COUNTER_SITE = """
[[readers]]
id = "badge"
kind = "wiegand-http"
token = "${{TOKEN}}"

[[readers]]
id = "{counter}"
kind = "counter-mqtt"
host = "{host}"
port = {port}

[[doors]]
id = "porte-personnel"
kind = "simulated"

[[gates]]
id = "personnel"
mode = "credential_only"
readers = ["badge", "{counter}"]
door = "porte-personnel"
storage = ["site_database", "none"]
"""


@contextmanager
def _counting(site, broker, text: str, counter_id: str):  # noqa: F811
    """Build the site file's one gate, run it (its counter subscribes) and hand back the
    lane, the counter, a publisher on the counter's topic, the events and the alerts."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    config = parse_site_config(text, environ={"TOKEN": "tok"})
    events: list[GateDecision] = []
    alerts: list[LaneAlert] = []
    (lane,), _ = build_gate_lanes(site, config, events.append, alerts=alerts.append)
    (counter,) = lane.sensors
    topic = f"seuil/{site.settings.site.id}/counters/{counter_id}"
    assert counter.topic == topic  # type: ignore[attr-defined]

    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect(*broker)
    publisher.loop_start()

    def publish(payload: str, retain: bool = False) -> None:
        publisher.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    stop = threading.Event()
    runner = threading.Thread(target=lane.run, args=(stop, 20.0))
    runner.start()  # the lane starts its counter's subscription
    try:
        assert _wait(lambda: counter.ready)  # type: ignore[attr-defined]
        yield lane, counter, publish, events, alerts
    finally:
        stop.set()
        runner.join(5)
        publisher.publish(topic, b"", retain=True)  # clear any retained message
        publisher.disconnect()
        publisher.loop_stop()
    assert not runner.is_alive() and not counter.ready  # type: ignore[attr-defined]


def _seen(events: list[GateDecision]) -> list[tuple[Decision, object, str | None]]:
    return [(e.decision, e.reason, e.credential_id) for e in events]


@pytest.mark.parametrize("site", ["sqlite"], indirect=True)
def test_a_people_counter_on_mqtt_feeds_the_tailgating_watch(site, broker):  # noqa: F811
    counter_id = f"compteur-{uuid.uuid4().hex[:8]}"
    text = COUNTER_SITE.format(counter=counter_id, host=broker[0], port=broker[1])
    with _counting(site, broker, text, counter_id) as (lane, counter, publish, events, alerts):
        doors = lane.doors
        assert isinstance(doors, DoorLane) and lane.source is None
        publish('{"passed": 1}')  # someone through the shut door: the turnstile jumped
        publish("not a count")
        publish('{"passed": 1000}')  # a broken counter
        assert _wait(lambda: counter.rejected == 2 and bool(alerts))  # type: ignore[attr-defined]
        (alert,) = alerts
        assert alert.kind is AlertKind.UNAUTHORISED_PASSAGE and alert.door == "porte-personnel"
        assert _seen(events) == [(Decision.REFER, ReferReason.UNAUTHORISED_PASSAGE, None)]
        signal = signal_from_lane_alert(alert, site.settings.site.id)
        assert signal is not None and signal.type is IncidentType.DOOR_FORCED

        granted = GateDecision("personnel", site.clock.now(), Decision.GRANT, credential_id="c")
        doors.open_for(granted)  # one credential, one opening
        publish('{"passed": 1}')
        assert _wait(lambda: counter.passed == 2)  # type: ignore[attr-defined]
        assert len(alerts) == 1  # one person for one credential
        publish("1")  # a second person in the same opening
        assert _wait(lambda: len(alerts) == 2)
        assert alerts[1].kind is AlertKind.TAILGATING and alerts[1].lane == "personnel"
        assert _seen(events)[1:] == [(Decision.REFER, ReferReason.TAILGATING, "c")]


COUNTER_AIRLOCK_SITE = """
[[readers]]
id = "badge"
kind = "wiegand-http"
token = "${{TOKEN}}"

[[readers]]
id = "{counter}"
kind = "counter-mqtt"
host = "{host}"
port = {port}
grace_s = 5.0

[[doors]]
id = "sas-ext"
kind = "simulated"

[[doors]]
id = "sas-int"
kind = "simulated"

[[airlocks]]
id = "sas"
outer = "sas-ext"
inner = "sas-int"

[[gates]]
id = "personnel"
mode = "credential_only"
readers = ["badge", "{counter}"]
airlock = "sas"
storage = ["site_database", "none"]
"""


@pytest.mark.parametrize("site", ["sqlite"], indirect=True)
def test_a_people_counter_on_mqtt_watches_an_airlock(site, broker):  # noqa: F811
    counter_id = f"compteur-{uuid.uuid4().hex[:8]}"
    text = COUNTER_AIRLOCK_SITE.format(counter=counter_id, host=broker[0], port=broker[1])
    with _counting(site, broker, text, counter_id) as (lane, counter, publish, events, alerts):
        doors = lane.doors
        assert isinstance(doors, AirlockLane)
        publish("1")  # both doors locked, yet someone went through
        assert _wait(lambda: bool(alerts))
        assert [(a.kind, a.door) for a in alerts] == [(AlertKind.UNAUTHORISED_PASSAGE, None)]

        granted = GateDecision("personnel", site.clock.now(), Decision.GRANT, credential_id="c")
        doors.open_for(granted)
        assert doors.state is AirlockState.ENTERING
        publish("1")
        publish('{"passed": 1}')  # two people came in on one credential
        assert _wait(lambda: doors.airlock.people == 2)
        outer = doors.doors[Side.OUTER]
        outer.push()  # type: ignore[attr-defined]
        assert _wait(lambda: doors.airlock.outer.observed.is_open)
        outer.close()  # type: ignore[attr-defined]
        assert _wait(lambda: doors.state is AirlockState.HELD)  # the inner door stays shut
        assert [a.kind for a in alerts][1:] == [AlertKind.TAILGATING]
        assert _seen(events) == [
            (Decision.REFER, ReferReason.UNAUTHORISED_PASSAGE, None),
            (Decision.REFER, ReferReason.TAILGATING, "c"),
        ]
        inner = doors.doors[Side.INNER]
        assert not inner.calls(DoorAction.PULSE)  # type: ignore[attr-defined]

        doors.agent_decided(Decision.GRANT, "agent:dupont")  # the agent lets both in
        assert inner.calls(DoorAction.PULSE)  # type: ignore[attr-defined]
        inner.push()  # type: ignore[attr-defined]
        assert _wait(lambda: doors.airlock.inner.observed.is_open)
        inner.close()  # type: ignore[attr-defined]
        assert _wait(lambda: doors.state is AirlockState.IDLE)
        publish("1")  # counted late (within the counter's 5 s): still that cycle's
        assert _wait(lambda: counter.passed == 4)  # type: ignore[attr-defined]
        counted = time.monotonic()  # the cycle closed (its grace started) before this
        assert len(alerts) == 2  # and its tailgating was already raised
        time.sleep(max(0.0, counted + 5.1 - time.monotonic()))
        publish("1")  # the grace is over: nobody let this one in
        assert _wait(lambda: len(alerts) >= 3, 10)  # handled in order after the late one
        assert [a.kind for a in alerts] == [
            AlertKind.UNAUTHORISED_PASSAGE, AlertKind.TAILGATING, AlertKind.UNAUTHORISED_PASSAGE,
        ]  # fmt: skip
