"""A door driven through MQTT: a JSON command, then an acknowledgement within a timeout.

Topics, for site ``S`` and door ``D``:

* ``seuil/S/doors/D/command`` (seuil publishes, QoS 1)::

      {"id": "9f1c...", "command": "pulse", "duration_s": 3.0,
       "sent_at": "2025-09-02T07:55:00+00:00", "expires_at": "2025-09-02T07:55:02+00:00"}

  ``command`` is ``pulse``, ``lock``, ``release`` or ``state``. QoS 1 may deliver a
  message twice: the device must act once per ``id``, and must drop a command received
  after ``expires_at`` (MQTT 5's message expiry is also set, so the broker drops it
  too): a pulse never arrives late.
* ``seuil/S/doors/D/state`` (the device publishes)::

      {"ack": "9f1c...", "ok": true, "state": "closed"}   # answer to a command
      {"ack": "9f1c...", "ok": false, "error": "jammed"}  # refused
      {"state": "open"}                                   # a change on its own

Every failure (broker unreachable, no acknowledgement in time, refusal) raises
DeviceError. Unsolicited state changes update :attr:`MqttDoor.last_state` and call
``on_state`` (from paho's network thread) so the lane can follow the door;
:meth:`MqttDoor.pushed_state` is the state known on the live connection (a lane reads
it instead of sending a ``state`` command at every poll; None after a disconnection
until the door is heard again).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from seuil.adapters.mqtt_broker import BrokerOptions, apply_credentials
from seuil.domain.errors import DeviceError
from seuil.domain.lane import DoorAction, DoorState
from seuil.ports.clock import Clock, SystemClock

__all__ = ["MqttDoor", "MqttOptions", "command_topic", "state_topic"]

logger = logging.getLogger(__name__)

MAX_PULSE_S = 30.0


def command_topic(site_id: str, door: str) -> str:
    return f"seuil/{site_id}/doors/{door}/command"


def state_topic(site_id: str, door: str) -> str:
    return f"seuil/{site_id}/doors/{door}/state"


@dataclass(frozen=True, slots=True, repr=False)
class MqttOptions(BrokerOptions):
    ack_timeout_s: float = 2.0
    connect_timeout_s: float = 3.0


class _Waiter:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.answer: dict[str, Any] = {}


class MqttDoor:
    def __init__(
        self,
        name: str,
        site_id: str,
        options: MqttOptions | None = None,
        *,
        clock: Clock | None = None,
        on_state: Callable[[DoorState], None] | None = None,
    ) -> None:
        self._name = name
        self._options = options or MqttOptions()
        self._clock = clock or SystemClock()
        self.on_state = on_state
        self.command_topic = command_topic(site_id, name)
        self.state_topic = state_topic(site_id, name)
        self.last_state = DoorState.UNKNOWN
        self._heard = threading.Event()  # a state was heard on the current connection
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._connect_error = ""
        self._waiters: dict[str, _Waiter] = {}
        self._commands = threading.Lock()  # one command at a time
        self._waiters_lock = threading.Lock()  # short: shared with the network thread

    @property
    def name(self) -> str:
        return self._name

    # -- connection -----------------------------------------------------------------------

    def connect(self) -> None:
        """Connect and subscribe to the state topic (done by the first command too)."""
        if self._client is not None and self._connected.is_set() and self._subscribed.is_set():
            return
        self.close()
        opts = self._options
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"seuil-door-{self._name}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        client.connect_timeout = opts.connect_timeout_s
        apply_credentials(client, opts)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._connected.clear()
        self._subscribed.clear()
        self._connect_error = ""
        self._client = client
        where = f"{opts.host}:{opts.port}"
        try:
            client.connect(opts.host, opts.port, keepalive=opts.keepalive_s)
        except (OSError, ValueError) as exc:
            self._client = None
            raise DeviceError(
                f"door {self._name}: cannot reach the MQTT broker at {where} ({exc})", self._name
            ) from None
        client.loop_start()
        if not self._connected.wait(opts.connect_timeout_s) or not self._subscribed.wait(
            opts.connect_timeout_s
        ):
            detail = self._connect_error or "no answer in time"
            self.close()
            raise DeviceError(
                f"door {self._name}: the MQTT broker at {where} did not accept us ({detail})",
                self._name,
            )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._connected.clear()
        self._subscribed.clear()
        self._heard.clear()

    def __enter__(self) -> MqttDoor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the port -------------------------------------------------------------------------

    def pulse(self, duration_s: float) -> None:
        if not (math.isfinite(duration_s) and 0 < duration_s <= MAX_PULSE_S):
            raise DeviceError(
                f"door {self._name}: a pulse lasts more than 0 and at most {MAX_PULSE_S:g} s",
                self._name,
            )
        self._command(DoorAction.PULSE.value, duration_s=duration_s)

    def lock(self) -> None:
        self._command(DoorAction.LOCK.value)

    def release(self) -> None:
        self._command(DoorAction.RELEASE.value)

    def state(self) -> DoorState:
        answer = self._command("state")
        return self._parse_state(answer.get("state"))

    def pushed_state(self) -> DoorState | None:
        """The last state heard (pushed or acknowledged) on the live connection, or None."""
        live = self._connected.is_set() and self._subscribed.is_set() and self._heard.is_set()
        return self.last_state if live else None

    # -- a command and its acknowledgement ---------------------------------------------------

    def _command(self, command: str, **fields: Any) -> dict[str, Any]:
        with self._commands:
            return self._send(command, fields)

    def _send(self, command: str, fields: dict[str, Any]) -> dict[str, Any]:
        self.connect()
        client = self._client
        assert client is not None
        timeout = self._options.ack_timeout_s
        now = self._clock.now().astimezone(UTC)
        ident = uuid.uuid4().hex
        message = {
            "id": ident,
            "command": command,
            **fields,
            "sent_at": now.isoformat(),
            "expires_at": (now + timedelta(seconds=timeout)).isoformat(),
        }
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = max(1, math.ceil(timeout))
        waiter = _Waiter()
        with self._waiters_lock:
            self._waiters[ident] = waiter
        try:
            info = client.publish(
                self.command_topic, json.dumps(message), qos=1, properties=properties
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise DeviceError(
                    f"door {self._name}: {command} not sent ({mqtt.error_string(info.rc)})",
                    self._name,
                )
            if not waiter.event.wait(timeout):
                raise DeviceError(
                    f"door {self._name}: no acknowledgement of {command} within {timeout:g} s "
                    "(not retried)",
                    self._name,
                )
        finally:
            with self._waiters_lock:
                self._waiters.pop(ident, None)
        answer = waiter.answer
        if answer.get("ok") is not True:
            error = str(answer.get("error") or "refused")[:80]
            raise DeviceError(f"door {self._name}: {command} refused ({error})", self._name)
        logger.info("door %s: %s acknowledged", self._name, command)
        return answer

    # -- paho callbacks (network thread) -------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._heard.clear()  # what was heard before may have changed meanwhile
        if reason.is_failure:
            self._connect_error = str(reason)
            return
        self._connected.set()
        client.subscribe(self.state_topic, qos=1)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self._heard.clear()
        if reason.is_failure:
            logger.warning("door %s: MQTT connection lost (%s)", self._name, reason)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if all(not r.is_failure for r in reasons):
            self._subscribed.set()
        else:
            self._connect_error = "subscription to the state topic refused"

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            data = json.loads(msg.payload)
        except (ValueError, UnicodeDecodeError):
            logger.warning("door %s: unreadable state message ignored", self._name)
            return
        if not isinstance(data, dict):
            return
        ack = data.get("ack")
        if isinstance(ack, str):
            with self._waiters_lock:
                waiter = self._waiters.get(ack)
            if waiter is not None:
                waiter.answer = data
                waiter.event.set()
        if "state" in data:
            state = self._parse_state(data["state"])
            self.last_state = state
            self._heard.set()
            if ack is None and self.on_state is not None:
                self.on_state(state)

    @staticmethod
    def _parse_state(value: object) -> DoorState:
        try:
            return DoorState(str(value).strip().lower())
        except ValueError:
            return DoorState.UNKNOWN
