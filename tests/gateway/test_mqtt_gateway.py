"""The MQTT device gateway against the real Mosquitto (a TCP proxy simulates outages)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from tests.gateway.helpers import NOW, Device, FixedClock, ListSink, wait_until
from tests.gateway.tcp_proxy import TcpProxy

from seuil.adapters.mqtt_devices import (
    MAX_PAYLOAD,
    GatewayOptions,
    MqttDeviceGateway,
    device_topic,
    gateway_topic,
)
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.incidents import IncidentType, SignalKind


@pytest.fixture
def proxy(broker: tuple[str, int]) -> Iterator[TcpProxy]:
    p = TcpProxy(broker)
    yield p
    p.close()


def make_gateway(
    address: tuple[str, int], site: str, sink: ListSink, **kw: Any
) -> MqttDeviceGateway:
    options = GatewayOptions(host=address[0], port=address[1], reconnect_max_s=2, keepalive_s=5)
    return MqttDeviceGateway(site, sink, FixedClock(), options, **kw)


def test_events_flow_into_the_sink(broker: tuple[str, int], site_id: str) -> None:
    sink = ListSink()
    device = Device(broker)
    try:
        with make_gateway(broker, site_id, sink, devices={"bouton-cdi": "CDI"}) as gateway:
            at = (NOW - timedelta(seconds=3)).isoformat()
            topic = device_topic(site_id, "bouton-cdi", "event")
            device.publish(topic, {"type": "panic", "at": at})
            device.publish(topic, {"type": "panic", "restore": True, "zone": "CDI étage 1"})
            device.publish(topic, {"type": "vandalism"})
            wait_until(lambda: len(sink.signals) == 3, what="three signals")
            assert gateway.accepted == 3 and not gateway.rejected
    finally:
        device.stop()
    first, restore, odd = sink.signals
    assert (first.source, first.site, first.zone, first.code) == (
        "mqtt:bouton-cdi",
        site_id,
        "CDI",  # the device's configured zone
        "panic",
    )
    assert (first.type, first.kind, first.at) == (
        IncidentType.PANIC,
        SignalKind.EVENT,
        NOW - timedelta(seconds=3),
    )
    assert json.loads(first.raw) == {"type": "panic", "at": at}
    assert (restore.kind, restore.zone, restore.at) == (SignalKind.RESTORE, "CDI étage 1", NOW)
    assert (odd.type, odd.code) == (IncidentType.UNKNOWN, "vandalism")  # kept, never dropped


def test_retained_state_is_read_at_connect_and_last_will_says_offline(
    broker: tuple[str, int], proxy: TcpProxy, site_id: str
) -> None:
    states: list[tuple[str, dict[str, Any]]] = []
    topic = device_topic(site_id, "borne-1", "state")
    device = Device(proxy.address, will=(topic, {"status": "offline"}))
    device.publish(topic, {"status": "online", "battery": 87, "firmware": "2.4.1"}, retain=True)
    gateway = make_gateway(
        broker, site_id, ListSink(), on_state=lambda d, s, _at: states.append((d, s))
    )
    gateway.start()
    try:
        wait_until(lambda: states, what="the retained state")
        assert states == [("borne-1", {"status": "online", "battery": 87, "firmware": "2.4.1"})]
        proxy.cut()  # the post is unplugged: the broker publishes its last will
        wait_until(lambda: len(states) == 2, timeout=15, what="the last will")
        assert states[1] == ("borne-1", {"status": "offline"})
    finally:
        device.stop()
        gateway.stop()
    cleaner = Device(broker)  # leave no retained message behind
    cleaner.publish(topic, b"", retain=True)
    cleaner.stop()


def test_bad_payloads_are_rejected_counted_and_published(
    broker: tuple[str, int], site_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    sink = ListSink()
    installer = Device(broker, watch=gateway_topic(site_id, "rejected"))
    device = Device(broker)
    known = {"bouton-1": "", "capteur-2": ""}
    try:
        with make_gateway(broker, site_id, sink, devices=known) as gateway:
            event = device_topic(site_id, "bouton-1", "event")
            device.publish(event, b"not json{")
            device.publish(event, {"type": "panic", "colour": "red"})
            device.publish(event, {"type": "panic", "zone": "x" * MAX_PAYLOAD})
            device.publish(event, b"\xff\xfe")
            device.publish(event, b"[" * 3000)
            device.publish(event, {"type": "panic", "at": "yesterday"})
            device.publish(device_topic(site_id, "intrus", "event"), {"type": "panic"})
            device.publish(device_topic(site_id, "capteur-2", "state"), {"status": "maybe"})
            device.publish(event, {"type": "fire"})  # still working afterwards
            wait_until(lambda: sink.signals, what="the good event")
            wait_until(lambda: len(installer.messages) == 8, what="8 rejection notices")
            assert gateway.rejected == {
                "not_json": 2,
                "schema": 3,
                "too_large": 1,
                "not_utf8": 1,
                "unknown_device": 1,
            }
    finally:
        device.stop()
        installer.stop()
    assert [s.type for s in sink.signals] == [IncidentType.FIRE]
    notices = installer.json_messages(gateway_topic(site_id, "rejected"))
    assert [n["reason"] for n in notices] == [
        "not_json",
        "schema",
        "too_large",
        "not_utf8",
        "not_json",
        "schema",
        "unknown_device",
        "schema",
    ]
    assert "colour" in notices[1]["detail"]
    assert notices[6]["device"] == "intrus"
    assert "refused: unknown_device" in caplog.text


def test_gateway_status_is_retained_with_a_last_will(broker: tuple[str, int], site_id: str) -> None:
    status = gateway_topic(site_id, "status")
    gateway = make_gateway(broker, site_id, ListSink())
    gateway.start()
    watcher = Device(broker, watch=status)
    try:
        wait_until(lambda: watcher.json_messages(status), what="the retained status")
        assert watcher.json_messages(status)[0]["status"] == "online"
        assert watcher.messages[0][2] is True  # retained
        gateway.stop()
        wait_until(lambda: len(watcher.json_messages(status)) == 2, what="offline")
        assert watcher.json_messages(status)[1]["status"] == "offline"
    finally:
        gateway.stop()
        watcher.stop()
    cleaner = Device(broker)
    cleaner.publish(status, b"", retain=True)
    cleaner.stop()


def _outage_round(broker: tuple[str, int], site_id: str) -> list[str]:
    """One outage: an event before, one while the gateway is cut off (queued by the
    broker for its persistent session), one after. The ids the sink got, in order."""
    sink = ListSink()
    proxy = TcpProxy(broker)
    device = Device(broker)
    status = gateway_topic(site_id, "status")
    watcher = Device(broker, watch=status)
    event = device_topic(site_id, "bouton-1", "event")
    gateway = make_gateway(proxy.address, site_id, sink)
    gateway.start()
    try:
        device.publish(event, {"type": "panic", "id": "before"})
        wait_until(lambda: len(sink.signals) == 1, what="the first event")
        proxy.cut()
        wait_until(lambda: not gateway.connected, what="the gateway to notice")
        # ... and the broker: its last will says so; from then on the session is
        # offline and an event for it is queued, not sent down the dead connection.
        wait_until(lambda: [m["status"] for m in watcher.json_messages(status)][-1:]
                   == ["offline"], what="the broker to notice")  # fmt: skip
        device.publish(event, {"type": "fire", "id": "during"})  # queued by the broker
        proxy.restore()
        wait_until(lambda: gateway.connected and gateway.connections >= 2, timeout=15,
                   what="the reconnection")  # fmt: skip
        with contextlib.suppress(AssertionError):
            wait_until(lambda: len(sink.signals) == 2, timeout=5, what="the queued event")
        device.publish(event, {"type": "tamper", "id": "after"})
        wait_until(lambda: json.loads(sink.signals[-1].raw)["id"] == "after",
                   what="the next event")  # fmt: skip
    finally:
        device.stop()
        watcher.stop()
        gateway.stop()
        proxy.close()
    return [json.loads(s.raw)["id"] for s in sink.signals]


def test_reconnects_after_an_outage_and_gets_what_was_sent_meanwhile(
    broker: tuple[str, int], site_id: str
) -> None:
    """The gateway resumes its broker session after an outage and gets the event sent
    meanwhile. Under load, Mosquitto 2.0.11 (this machine's) loses that queued event in
    about one outage in twelve (the gateway reconnects, subscribed, and never receives
    it; seen with the broker's will already published, so the session was offline):
    the scenario runs up to three times, on fresh sessions, and must succeed once; a
    gateway that did not resume its session (clean start, another client id) fails all
    three. Every round must keep the events before and after, in order, each once."""
    rounds = []
    for attempt in range(3):
        ids = _outage_round(broker, f"{site_id}{attempt}")
        rounds.append(ids)
        assert ids in (["before", "during", "after"], ["before", "after"]), rounds
        if ids == ["before", "during", "after"]:
            break
    assert rounds[-1] == ["before", "during", "after"], rounds


def test_an_event_the_sink_refused_is_delivered_again_after_reconnection(
    broker: tuple[str, int], proxy: TcpProxy, site_id: str
) -> None:
    sink = ListSink()
    refusals = [StorageUnavailableError("database down")]
    sink.fail = lambda _s: refusals.pop() if refusals else None
    device = Device(broker)
    gateway = make_gateway(proxy.address, site_id, sink)
    gateway.start()
    try:
        device.publish(device_topic(site_id, "bouton-1", "event"), {"type": "panic"})
        wait_until(lambda: gateway.sink_failures == 1, what="the refusal")
        assert sink.signals == []
        proxy.cut()
        proxy.restore()
        wait_until(lambda: len(sink.signals) == 1, timeout=15, what="the redelivery")
    finally:
        device.stop()
        gateway.stop()
    assert sink.signals[0].type is IncidentType.PANIC
