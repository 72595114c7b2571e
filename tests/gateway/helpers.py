"""Small real parts for gateway tests: a clock, sinks, an MQTT device, a waiting loop."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from seuil.domain.incidents import Signal

NOW = datetime(2026, 3, 2, 8, 15, 30, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class ListSink:
    """A sink that keeps signals in a list (thread-safe); ``fail`` makes it refuse."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.fail: Callable[[Signal], Exception | None] = lambda _s: None
        self._lock = threading.Lock()

    def receive(self, signal: Signal) -> None:
        error = self.fail(signal)
        if error is not None:
            raise error
        with self._lock:
            self.signals.append(signal)


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")


class Device:
    """An MQTT client playing a device (or an installer watching a topic)."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        will: tuple[str, dict[str, Any]] | None = None,
        watch: str | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-device-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if will is not None:
            self.client.will_set(will[0], json.dumps(will[1]), qos=1, retain=True)
        self._watch = watch

        def on_connect(client: mqtt.Client, *_: Any) -> None:
            if watch is None:
                self._ready.set()
            else:
                client.subscribe(watch, 1)

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, m.payload, bool(m.retain))
        )
        self.client.connect(*address, keepalive=5)
        self.client.loop_start()
        assert self._ready.wait(5), "the test device could not connect"

    def publish(
        self, topic: str, payload: bytes | str | dict[str, Any], *, retain: bool = False
    ) -> None:
        data = json.dumps(payload) if isinstance(payload, dict) else payload
        self.client.publish(topic, data, qos=1, retain=retain).wait_for_publish(5)

    def json_messages(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _r in list(self.messages) if t == topic]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
