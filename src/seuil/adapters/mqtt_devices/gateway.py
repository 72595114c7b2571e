"""The MQTT device gateway: panic buttons, emergency call posts and sensors.

Topics (see ``docs/mqtt.md``), for site ``S`` and device ``D``:

* ``seuil/S/devices/D/event`` (device publishes, QoS 1): one JSON event
  (``event.schema.json``); each valid one becomes a :class:`Signal` for the sink;
* ``seuil/S/devices/D/state`` (device publishes, RETAINED, also its last will): its
  health (``state.schema.json``), passed to ``on_state(device_id, state, at)``;
* ``seuil/S/gateway/rejected`` (gateway publishes): every refused payload with its
  reason, so the installer sees why a device is not heard;
* ``seuil/S/gateway/status`` (gateway publishes, RETAINED, last will ``offline``).

Delivery: QoS 1 subscriptions with manual acknowledgement, and a persistent session
(fixed client id, session expiry): a message is acknowledged to the broker only once
the sink took it (or once it was rejected for good), so an event published while the
gateway was away or whose hand-over failed is delivered again after the next
(automatic, backed-off) reconnection. Put a
:class:`~seuil.adapters.signal_spool.SpoolingSink` in front of the incident service so a
database outage never makes the sink fail. Nothing a device sends can crash the gateway.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from seuil.adapters.mqtt_broker import BrokerOptions, apply_credentials
from seuil.adapters.mqtt_devices.payloads import PayloadError, parse_event, parse_state
from seuil.domain.errors import DeviceError
from seuil.ports.clock import Clock
from seuil.ports.signals import SignalSink

__all__ = ["GatewayOptions", "MqttDeviceGateway", "device_topic", "gateway_topic"]

log = logging.getLogger(__name__)

StateCallback = Callable[[str, dict[str, Any], datetime], None]


def device_topic(site: str, device_id: str, leaf: str) -> str:
    """``seuil/<site>/devices/<device_id>/<leaf>`` (leaf: ``event`` or ``state``)."""
    return f"seuil/{site}/devices/{device_id}/{leaf}"


def gateway_topic(site: str, leaf: str) -> str:
    """``seuil/<site>/gateway/<leaf>`` (leaf: ``status`` or ``rejected``)."""
    return f"seuil/{site}/gateway/{leaf}"


@dataclass(frozen=True, slots=True, repr=False)
class GatewayOptions(BrokerOptions):
    client_id: str | None = None  # default: seuil-gateway-<site> (persistent session)
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    session_expiry_s: int = 86_400  # the broker keeps our queued events this long
    connect_timeout_s: float = 5.0


class MqttDeviceGateway:
    """Subscribes to a site's device topics and hands valid events to ``sink``.

    ``devices``: when given, the known device ids and their zones (used when an event
    names none); an event or state from any other device is rejected. Callbacks (the
    sink, ``on_state``) run on paho's network thread, one message at a time.
    """

    def __init__(
        self,
        site: str,
        sink: SignalSink,
        clock: Clock,
        options: GatewayOptions | None = None,
        *,
        devices: Mapping[str, str] | None = None,
        on_state: StateCallback | None = None,
    ) -> None:
        if not site or any(c in site for c in "/+#"):
            raise ValueError("a site id is one MQTT topic level (no '/', '+' or '#')")
        self.site = site
        self._sink = sink
        self._clock = clock
        self._options = options or GatewayOptions()
        self._devices = dict(devices) if devices is not None else None
        self._on_state = on_state
        self._client: mqtt.Client | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.accepted = 0
        self.states = 0
        self.connections = 0  # successful (re)connections
        self.rejected: Counter[str] = Counter()  # reason -> count
        self.sink_failures = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def start(self, *, wait: bool = True) -> None:
        """Connect in the background (retrying with backoff until ``stop``).

        With ``wait``, block until connected and subscribed, or raise DeviceError after
        ``connect_timeout_s`` (the gateway keeps retrying in the background).
        """
        if self._client is not None:
            return
        opts = self._options
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=opts.client_id or f"seuil-gateway-{self.site}",
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        apply_credentials(client, opts)
        client.reconnect_delay_set(opts.reconnect_min_s, opts.reconnect_max_s)
        client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = opts.session_expiry_s
        self._client = client
        client.connect_async(
            opts.host,
            opts.port,
            keepalive=opts.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        client.loop_start()
        if wait and not self._ready.wait(opts.connect_timeout_s):
            raise DeviceError(
                f"MQTT gateway: no connection to the broker at {opts.host}:{opts.port} "
                f"within {opts.connect_timeout_s:g} s (still retrying)",
                "mqtt-gateway",
            )

    def stop(self) -> None:
        """Say ``offline`` (retained) and disconnect cleanly."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._ready.is_set():
            info = client.publish(self._status_topic, self._status("offline"), qos=1, retain=True)
            info.wait_for_publish(2.0)
        client.disconnect()
        client.loop_stop()
        self._ready.clear()

    def __enter__(self) -> MqttDeviceGateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- topics ---------------------------------------------------------------------------

    @property
    def _status_topic(self) -> str:
        return gateway_topic(self.site, "status")

    def _status(self, status: str) -> str:
        return json.dumps({"status": status, "at": self._clock.now().isoformat()})

    def _subscriptions(self) -> list[tuple[str, int]]:
        return [(device_topic(self.site, "+", leaf), 1) for leaf in ("event", "state")]

    # -- paho callbacks (network thread) -----------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT gateway %s: connection refused (%s)", self.site, reason)
            return
        client.subscribe(self._subscriptions())
        client.publish(self._status_topic, self._status("online"), qos=1, retain=True)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("MQTT gateway %s: subscription refused (%s)", self.site, reasons)
            return
        self.connections += 1
        self._ready.set()
        log.info("MQTT gateway %s: connected and subscribed", self.site)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._ready.clear()
        if reason.is_failure or self._client is not None:
            log.warning("MQTT gateway %s: connection lost (%s), reconnecting", self.site, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            handled = self._handle(msg.topic, bytes(msg.payload))
        except Exception:  # a bug must cost one message's ack, never the gateway
            log.exception(
                "MQTT gateway %s: message on %s crashed the handler", self.site, msg.topic
            )
            handled = False
        if handled:
            client.ack(msg.mid, msg.qos)

    # -- one message ----------------------------------------------------------------------

    def _handle(self, topic: str, payload: bytes) -> bool:
        """Process one message; False when it must stay unacknowledged (redelivered)."""
        parts = topic.split("/")
        if len(parts) != 5 or parts[2] != "devices" or parts[4] not in ("event", "state"):
            self._reject(topic, "", PayloadError("bad_topic", topic[:120]))
            return True
        device_id, leaf = parts[3], parts[4]
        now = self._clock.now()
        if leaf == "state" and not payload:
            return True  # a retained state being cleared (device removed): nothing to say
        try:
            if self._devices is not None and device_id not in self._devices:
                raise PayloadError("unknown_device", device_id[:70])
            if leaf == "state":
                state = parse_state(device_id, payload)
            else:
                zone = self._devices.get(device_id, "") if self._devices else ""
                signal = parse_event(
                    device_id, payload, site=self.site, received_at=now, default_zone=zone
                )
        except PayloadError as exc:
            self._reject(topic, device_id, exc)
            return True
        if leaf == "state":
            self.states += 1
            if self._on_state is not None:
                try:
                    self._on_state(device_id, state, now)
                except Exception:  # the state is retained: the next connection brings it again
                    log.exception("MQTT gateway %s: on_state failed for %s", self.site, device_id)
            return True
        try:
            self._sink.receive(signal)
        except Exception:
            self.sink_failures += 1
            log.exception(
                "MQTT gateway %s: the sink refused an event of %s; left unacknowledged "
                "for redelivery",
                self.site,
                device_id,
            )
            return False
        self.accepted += 1
        return True

    def _reject(self, topic: str, device_id: str, error: PayloadError) -> None:
        self.rejected[error.reason] += 1
        log.warning(
            "MQTT gateway %s: payload on %s refused: %s", self.site, topic[:120], error.reason
        )
        client = self._client
        if client is None:
            return
        notice = {
            "topic": topic[:200],
            "device": device_id[:70],
            "reason": error.reason,
            "detail": error.detail[:200],
            "at": self._clock.now().isoformat(),
        }
        client.publish(gateway_topic(self.site, "rejected"), json.dumps(notice), qos=1)
