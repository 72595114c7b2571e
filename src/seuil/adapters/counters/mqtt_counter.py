"""A people counter on MQTT: a beam or door counter reports each passage.

Topic, for site ``S`` and counter ``C`` (the reader id in the site file):
``seuil/S/counters/C`` (the counter publishes, QoS 0 or 1)::

    {"passed": 1}      # people through since the previous message, 1 to 100
    1                  # the same, as a bare number

Each valid message calls ``on_passed(n)`` (from paho's network thread: the lane's
``people_passed``). A count is only meaningful when it arrives: retained messages and
messages left from an earlier session are ignored (clean start), and so is anything
that is not a count (logged, never raised). The subscription runs in the background,
reconnecting with a backoff until :meth:`MqttPeopleCounter.stop`; a counter that is
unreachable never stops its gate.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from seuil.adapters.mqtt_broker import BrokerOptions, apply_credentials

__all__ = ["CounterOptions", "MqttPeopleCounter", "counter_topic", "parse_passed"]

logger = logging.getLogger(__name__)

MAX_PASSED = 100  # more in one message is a broken counter, not a crowd


def counter_topic(site_id: str, counter_id: str) -> str:
    return f"seuil/{site_id}/counters/{counter_id}"


def parse_passed(payload: bytes | bytearray) -> int | None:
    """The number of passages a message reports, or None when it is not a count."""
    try:
        data: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and set(data) == {"passed"}:
        data = data["passed"]
    if type(data) is not int or not 1 <= data <= MAX_PASSED:
        return None
    return data


@dataclass(frozen=True, slots=True, repr=False)
class CounterOptions(BrokerOptions):
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30


class MqttPeopleCounter:
    """Subscribes to one counter's topic and hands each count to ``on_passed``."""

    def __init__(
        self,
        counter_id: str,
        site_id: str,
        on_passed: Callable[[int], None],
        options: CounterOptions | None = None,
    ) -> None:
        self.counter_id = counter_id
        self.topic = counter_topic(site_id, counter_id)
        self._on_passed = on_passed
        self._options = options or CounterOptions()
        self._client: mqtt.Client | None = None
        self._ready = threading.Event()
        self.passed = 0  # passages handed over
        self.rejected = 0  # messages that were not a count

    @property
    def ready(self) -> bool:
        """Connected and subscribed (counts published from now on are heard)."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def start(self) -> None:
        """Connect in the background; never raises for an unreachable broker."""
        if self._client is not None:
            return
        opts = self._options
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"seuil-counter-{self.counter_id}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        apply_credentials(client, opts)
        client.reconnect_delay_set(opts.reconnect_min_s, opts.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        client.connect_async(opts.host, opts.port, keepalive=opts.keepalive_s, clean_start=True)
        client.loop_start()

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._ready.clear()

    # -- paho callbacks (network thread) ------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            logger.warning("counter %s: broker refused us (%s)", self.counter_id, reason)
            return
        client.subscribe(self.topic, qos=1)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._ready.clear()
        if reason.is_failure:
            logger.warning("counter %s: MQTT connection lost (%s)", self.counter_id, reason)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if all(not r.is_failure for r in reasons):
            self._ready.set()
        else:
            logger.warning("counter %s: subscription refused", self.counter_id)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:  # an old count replayed by the broker: not a passage now
            return
        passed = parse_passed(msg.payload)
        if passed is None:
            self.rejected += 1
            logger.warning("counter %s: message that is not a count ignored", self.counter_id)
            return
        self.passed += passed
        try:
            self._on_passed(passed)
        except Exception:  # the lane failing must not kill the network thread
            logger.exception("counter %s: count not handed over", self.counter_id)
