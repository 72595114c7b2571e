"""Door adapters: the simulated door, an HTTP relay (local stdlib server) and MQTT.

The MQTT tests talk to the real Mosquitto at 127.0.0.1:1883 (``SEUIL_TEST_MQTT``
overrides host:port) with a simulated door device subscribed to the command topic.
Where the broker is unreachable they skip, or fail when ``CI`` or
``SEUIL_REQUIRE_SERVICES`` is set.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from tests.local_http import LocalHTTPServer

from seuil.adapters.doors.http_relay import BasicAuth, BearerAuth, HttpRelayDoor, redact_url
from seuil.adapters.doors.simulated import SimulatedDoor
from seuil.domain.errors import DeviceError
from seuil.domain.gate import Decision
from seuil.domain.lane import (
    Airlock,
    AirlockEvent,
    AirlockState,
    CommandDone,
    CommandFailed,
    DecisionMade,
    DoorAction,
    DoorObserved,
    DoorState,
    EntryRequested,
    Side,
    Step,
)
from seuil.ports.doors import Door

SERVICES_REQUIRED = bool(os.environ.get("CI") or os.environ.get("SEUIL_REQUIRE_SERVICES"))
T0 = datetime(2025, 9, 2, 7, 50, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = T0

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


# --- simulated ---------------------------------------------------------------------------


def test_simulated_door_pulses_then_relocks():
    clock = FakeClock()
    door = SimulatedDoor("portillon", clock, held_open_s=20)
    assert isinstance(door, Door)
    assert door.state() is DoorState.CLOSED and not door.unlocked
    door.pulse(3)
    assert door.unlocked
    assert door.push() is DoorState.OPEN
    door.close()
    clock.advance(3)
    assert not door.unlocked
    assert [(c.action, c.duration_s, c.ok) for c in door.history] == [(DoorAction.PULSE, 3, True)]


def test_simulated_door_forced_and_held_open():
    clock = FakeClock()
    door = SimulatedDoor("portillon", clock, held_open_s=20)
    assert door.push() is DoorState.FORCED
    door.close()
    door.pulse(3)
    door.push()
    clock.advance(20)
    assert door.state() is DoorState.HELD_OPEN


def test_simulated_door_release_and_lock():
    door = SimulatedDoor("portillon", FakeClock())
    door.release()
    assert door.unlocked
    door.lock()
    assert not door.unlocked
    assert [c.action for c in door.calls()] == [DoorAction.RELEASE, DoorAction.LOCK]


def test_simulated_door_unreachable_raises_and_records():
    door = SimulatedDoor("portillon", FakeClock())
    door.unreachable = True
    with pytest.raises(DeviceError, match="unreachable") as err:
        door.pulse(3)
    assert err.value.device == "portillon" and err.value.code == "device_error"
    with pytest.raises(DeviceError):
        door.state()
    assert [c.ok for c in door.calls(DoorAction.PULSE)] == [False]
    assert not door.unlocked


@pytest.mark.parametrize("duration", [0, -1, 31, float("nan")])
def test_simulated_door_refuses_silly_pulses(duration):
    with pytest.raises(DeviceError, match="pulse"):
        SimulatedDoor("portillon", FakeClock()).pulse(duration)


def test_airlock_drives_two_simulated_doors():
    """The controller loop: commands to the doors, results and states back to the lane."""
    clock = FakeClock()
    doors = {Side.OUTER: SimulatedDoor("ext", clock), Side.INNER: SimulatedDoor("int", clock)}
    lock = Airlock.create("sas", "ext", "int", pulse_s=3.0)
    side_of = {"ext": Side.OUTER, "int": Side.INNER}

    def feed(event: AirlockEvent) -> Step:
        step = lock.handle(event)
        for command in step.commands:
            side = side_of[command.door]
            door = doors[side]
            try:
                if command.action is DoorAction.PULSE:
                    assert command.duration_s is not None
                    door.pulse(command.duration_s)
                elif command.action is DoorAction.LOCK:
                    door.lock()
                else:
                    door.release()
            except DeviceError as exc:
                feed(CommandFailed(clock.now(), side, command.action, exc.message))
            else:
                feed(CommandDone(clock.now(), side, command.action))
        return step

    def observe(side: Side) -> None:
        feed(DoorObserved(clock.now(), side, doors[side].state()))

    observe(Side.OUTER)
    observe(Side.INNER)
    feed(EntryRequested(clock.now()))
    assert doors[Side.OUTER].unlocked and not doors[Side.INNER].unlocked
    doors[Side.OUTER].push()
    observe(Side.OUTER)
    clock.advance(1)
    doors[Side.OUTER].close()
    observe(Side.OUTER)
    assert lock.state is AirlockState.OCCUPIED and not doors[Side.OUTER].unlocked
    doors[Side.INNER].unreachable = True
    step = feed(DecisionMade(clock.now(), Decision.GRANT))
    assert lock.state is AirlockState.HELD  # the inner door did not answer: never a grant
    assert step.commands and doors[Side.INNER].calls()[-1].ok is False


# --- HTTP relay --------------------------------------------------------------------------


@dataclass
class RelayBehaviour:
    status: int = 200
    delay_s: float = 0.0
    basic: tuple[str, str] | None = None
    bearer: str | None = None
    state_body: Any = field(default_factory=lambda: {"state": "closed"})


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Relay:
    """A local relay board: records requests, answers as told."""

    def __init__(self) -> None:
        self.behaviour = RelayBehaviour()
        self.requests: list[Received] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                relay.requests.append(
                    Received(self.command, self.path, dict(self.headers.items()), body)
                )
                b = relay.behaviour
                if b.delay_s:
                    time.sleep(b.delay_s)
                if not relay.authorised(self.headers.get("Authorization", "")):
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(b.status)
                payload = json.dumps(b.state_body if "state" in self.path else {"ok": True})
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload.encode())

            do_GET = _handle
            do_POST = _handle

        self.server = LocalHTTPServer(Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def authorised(self, header: str) -> bool:
        b = self.behaviour
        if b.basic is not None:
            token = base64.b64encode(f"{b.basic[0]}:{b.basic[1]}".encode()).decode()
            return header == f"Basic {token}"
        if b.bearer is not None:
            return header == f"Bearer {b.bearer}"
        return True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = Relay()
    yield server
    server.stop()


def test_http_pulse_post_with_basic_auth(relay):
    relay.behaviour.basic = ("seuil", "s3cret")
    door = HttpRelayDoor(
        "portillon", relay.url("/api/door/pulse"), auth=BasicAuth("seuil", "s3cret")
    )
    with door:
        assert isinstance(door, Door)
        door.pulse(3)
    (request,) = relay.requests
    assert (request.method, request.path) == ("POST", "/api/door/pulse")
    assert json.loads(request.body) == {"door": "portillon", "action": "pulse", "duration_s": 3}
    assert "s3cret" not in repr(BasicAuth("seuil", "s3cret"))


def test_http_pulse_get_with_duration_in_the_url_and_bearer(relay):
    relay.behaviour.bearer = "tok-123"
    with HttpRelayDoor(
        "portillon", relay.url("/relay/0?turn=on&timer={duration_s}&ms={duration_ms}"),
        lock_url=relay.url("/relay/0?turn=off"), method="GET", auth=BearerAuth("tok-123"),
    ) as door:  # fmt: skip
        door.pulse(2.5)
        door.lock()
    assert [(r.method, r.path) for r in relay.requests] == [
        ("GET", "/relay/0?turn=on&timer=2.5&ms=2500"),
        ("GET", "/relay/0?turn=off"),
    ]
    assert relay.requests[0].headers["Authorization"] == "Bearer tok-123"


def test_http_wrong_credentials_are_a_clear_error(relay):
    relay.behaviour.basic = ("seuil", "s3cret")
    door = HttpRelayDoor("portillon", relay.url("/pulse"), auth=BasicAuth("seuil", "wrong"))
    with door, pytest.raises(DeviceError, match=r"refused the credentials \(HTTP 401\)") as err:
        door.pulse(3)
    assert "wrong" not in err.value.message and err.value.device == "portillon"


def test_http_server_error_is_not_retried(relay):
    relay.behaviour.status = 500
    url = relay.url("/pulse?token=TOP-SECRET")
    with HttpRelayDoor("portillon", url) as door, pytest.raises(DeviceError) as err:
        door.pulse(3)
    assert "HTTP 500" in err.value.message
    assert "TOP-SECRET" not in err.value.message  # the query is never shown
    assert len(relay.requests) == 1


def test_http_timeout_is_not_retried(relay):
    relay.behaviour.delay_s = 0.6
    with HttpRelayDoor("portillon", relay.url("/pulse"), timeout_s=0.2) as door:
        started = time.monotonic()
        with pytest.raises(DeviceError, match=r"no answer .* within 0\.2 s") as err:
            door.pulse(3)
        assert time.monotonic() - started < 0.55
    assert "not retried" in err.value.message
    time.sleep(0.7)
    assert len(relay.requests) == 1


def test_http_unreachable_relay():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    door = HttpRelayDoor("portillon", f"http://127.0.0.1:{port}/pulse", timeout_s=1)
    with door, pytest.raises(DeviceError, match=r"cannot reach http://127\.0\.0\.1:\d+/pulse"):
        door.pulse(3)


@pytest.mark.parametrize(
    ("body", "field_name", "expected"),
    [
        ({"state": "open"}, "state", DoorState.OPEN),
        ({"state": "CLOSED"}, "state", DoorState.CLOSED),
        ({"input": {"contact": True}}, "input.contact", DoorState.OPEN),
        ({"input": {"contact": 0}}, "input.contact", DoorState.CLOSED),
    ],
)
def test_http_state(relay, body, field_name, expected):
    relay.behaviour.state_body = body
    with HttpRelayDoor(
        "portillon", relay.url("/pulse"), state_url=relay.url("/state"), state_field=field_name
    ) as door:
        assert door.reports_state
        assert door.state() is expected


@pytest.mark.parametrize("body", [{"state": "ajar"}, {"other": 1}, [1, 2], "closed?"])
def test_http_unreadable_state(relay, body):
    relay.behaviour.state_body = body
    door = HttpRelayDoor("portillon", relay.url("/p"), state_url=relay.url("/state"))
    with door, pytest.raises(DeviceError, match="state"):
        door.state()


def test_http_without_state_or_lock_url(relay):
    with HttpRelayDoor("portillon", relay.url("/pulse")) as door:
        assert door.state() is DoorState.UNKNOWN and not door.reports_state
        with pytest.raises(DeviceError, match="no lock URL"):
            door.lock()
        with pytest.raises(DeviceError, match="no release URL"):
            door.release()
        with pytest.raises(DeviceError, match="pulse"):
            door.pulse(60)
    assert relay.requests == []


def test_redact_url():
    assert redact_url("http://u:p@relay.local:8080/x/y?token=abc") == "http://relay.local:8080/x/y"


# --- MQTT --------------------------------------------------------------------------------

MQTT_HOST, _, MQTT_PORT = os.environ.get("SEUIL_TEST_MQTT", "127.0.0.1:1883").partition(":")


@pytest.fixture(scope="module")
def broker() -> tuple[str, int]:
    port = int(MQTT_PORT or 1883)
    try:
        socket.create_connection((MQTT_HOST, port), timeout=1).close()
    except OSError as exc:
        message = f"MQTT broker not reachable at {MQTT_HOST}:{port} ({exc})"
        if SERVICES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return MQTT_HOST, port


class DeviceSim:
    """A door device on the broker: answers commands on the state topic as told."""

    def __init__(self, host: str, port: int, site: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.site = site
        self.mode = "ack"  # "ack", "refuse", "silent"
        self.state = "closed"
        self.received: list[dict[str, Any]] = []
        self.expiry: list[int | None] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(f"seuil/{site}/doors/+/command", 1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._ready.wait(5), "the simulated device could not subscribe"

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        data = json.loads(msg.payload)
        self.received.append(data)
        self.expiry.append(getattr(msg.properties, "MessageExpiryInterval", None))
        topic = msg.topic.rsplit("/", 1)[0] + "/state"
        if self.mode == "silent":
            return
        if self.mode == "refuse":
            answer = {"ack": data["id"], "ok": False, "error": "jammed"}
        else:
            if data["command"] == "pulse":
                self.state = "closed"  # nobody pushes it in this test
            answer = {"ack": data["id"], "ok": True, "state": self.state}
        client.publish(topic, json.dumps(answer), qos=1)

    def announce(self, door: str, state: str) -> None:
        topic = f"seuil/{self.site}/doors/{door}/state"
        self.client.publish(topic, json.dumps({"state": state}), qos=1).wait_for_publish(5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def device(broker) -> Iterator[DeviceSim]:
    sim = DeviceSim(*broker, site=f"T{uuid.uuid4().hex[:8].upper()}")
    yield sim
    sim.stop()


def mqtt_door(broker, device, **kwargs):  # type: ignore[no-untyped-def]
    from seuil.adapters.doors.mqtt_door import MqttDoor, MqttOptions

    options = MqttOptions(host=broker[0], port=broker[1], ack_timeout_s=kwargs.pop("ack", 2.0))
    return MqttDoor("portillon", device.site, options, **kwargs)


def test_mqtt_pulse_is_acknowledged(broker, device):
    with mqtt_door(broker, device) as door:
        assert isinstance(door, Door)
        door.pulse(3)
        door.lock()
        assert door.command_topic == f"seuil/{device.site}/doors/portillon/command"
    pulse, lock = device.received
    assert (pulse["command"], pulse["duration_s"], lock["command"]) == ("pulse", 3, "lock")
    sent = datetime.fromisoformat(pulse["sent_at"])
    assert datetime.fromisoformat(pulse["expires_at"]) - sent == timedelta(seconds=2)
    assert device.expiry[0] == 2  # the broker drops a late pulse too
    assert pulse["id"] != lock["id"]


def test_mqtt_state_query(broker, device):
    device.state = "held_open"
    with mqtt_door(broker, device) as door:
        assert door.state() is DoorState.HELD_OPEN
        assert door.last_state is DoorState.HELD_OPEN


def test_mqtt_refusal_is_an_error(broker, device):
    device.mode = "refuse"
    with mqtt_door(broker, device) as door, pytest.raises(DeviceError, match=r"refused \(jammed\)"):
        door.release()


def test_mqtt_no_acknowledgement_in_time(broker, device):
    device.mode = "silent"
    with mqtt_door(broker, device, ack=0.3) as door:
        started = time.monotonic()
        with pytest.raises(DeviceError, match=r"no acknowledgement of pulse within 0\.3 s"):
            door.pulse(3)
        assert time.monotonic() - started < 2
    assert len(device.received) == 1  # sent once, never again


def test_mqtt_unsolicited_state_changes_reach_the_lane(broker, device):
    seen: list[DoorState] = []
    got = threading.Event()

    def on_state(state: DoorState) -> None:
        seen.append(state)
        got.set()

    with mqtt_door(broker, device, on_state=on_state) as door:
        door.connect()
        device.announce("portillon", "forced")
        assert got.wait(5)
        assert seen == [DoorState.FORCED] and door.last_state is DoorState.FORCED


def test_mqtt_broker_unreachable():
    from seuil.adapters.doors.mqtt_door import MqttDoor, MqttOptions

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    door = MqttDoor("portillon", "0830042X", MqttOptions(port=port, connect_timeout_s=1))
    with pytest.raises(DeviceError, match=r"cannot reach the MQTT broker at 127\.0\.0\.1"):
        door.pulse(3)
    door.close()
