"""`seuil bench incidents`: device signals per second into a SignalSink.

- SIA DC-09 over loopback TCP: the receiver runs in its own process (as in production);
  a sender with N concurrent connections (panels) builds frames with the independent
  :mod:`seuil.cli.sia_sender`, sends one frame, waits for its ACK, sends the next.
  Measured: messages per second with ACK, ACK latency p50/p99.
- MQTT: events published with QoS 1 to the broker, through the gateway, into the sink.
  Measured: events per second from the first publish to the last signal stored.

The sink is a parameter (:data:`SINKS`: a name -> a function building it in a work
folder, in the receiver's process): ``sqlite`` (a real SQLite table through
SQLAlchemy, fsynced per signal), ``incidents`` (the disk buffer and the real incident
engine on a SQLite site database: the production path) or ``memory`` (the receiver alone).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seuil.domain.incidents import Signal
from seuil.ports.signals import SignalSink

__all__ = ["SINKS", "print_incidents_report", "run_incidents_bench"]


class _CountingSink:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def receive(self, signal: Signal) -> None:
        with self._lock:
            self.count += 1


def _memory_sink(_folder: Path) -> SignalSink:
    return _CountingSink()


def _sqlite_sink(folder: Path) -> SignalSink:
    from seuil.adapters.signal_table import SqlSignalLog
    from seuil.adapters.storage import create_storage_engine

    log = SqlSignalLog(create_storage_engine(f"sqlite:///{folder / 'bench-signals.sqlite3'}"))
    log.create()
    return log


def _incidents_sink(folder: Path) -> SignalSink:
    """The production path: the disk buffer in front of the real incident engine
    (deduplication, correlation, audit, notifications) on a SQLite site database."""
    from seuil.adapters.signal_spool import SpoolingSink
    from seuil.bootstrap import build_site
    from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings

    settings = Settings(
        site=SiteSettings(id="BENCH", name="bench"),
        database=StorageSettings(url=f"sqlite:///{folder / 'bench-site.sqlite3'}"),
        keys=KeySettings(dir=folder / "keys"),
    )
    spool = SpoolingSink(build_site(settings).incidents, folder / "bench.spool", write_ahead=True)
    spool.start(interval_s=1.0)
    return _Applied(spool)


class _Applied:
    """The site's write-ahead spool; the bench counts a signal once it reached the
    incident engine (``count``), not merely the disk."""

    def __init__(self, spool: Any) -> None:
        self.spool = spool

    def receive(self, signal: Signal) -> None:
        self.spool.receive(signal)

    def wait_applied(self, timeout: float = 300.0) -> float:
        """Seconds until every spooled signal reached the incident engine."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while self.spool.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return time.perf_counter() - started

    def close(self) -> None:
        self.spool.close()


SINKS: dict[str, Callable[[Path], SignalSink]] = {
    "memory": _memory_sink,
    "sqlite": _sqlite_sink,
    "incidents": _incidents_sink,
}
_WINDOW = 200  # MQTT events published but not yet stored


# ---------------------------------------------------------------------- SIA receiver


def _serve_sia(sink_name: str, folder: str, accounts: list[str], ports: Any, stop: Any) -> None:
    """The receiver's process: listen, answer, until ``stop`` is set."""
    from seuil.adapters.sia import SiaAccount, SiaReceiver
    from seuil.ports.clock import SystemClock

    sink = SINKS[sink_name](Path(folder))
    receiver = SiaReceiver([SiaAccount(a, "BENCH") for a in accounts], sink.receive, SystemClock())

    async def main() -> None:
        server = await receiver.start_tcp("127.0.0.1", 0)
        ports.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()
        wait = getattr(sink, "wait_applied", None)
        backlog = await asyncio.to_thread(wait) if wait is not None else 0.0
        getattr(sink, "close", lambda: None)()
        ports.put({"rejected": dict(receiver.rejected), "apply_backlog_s": backlog})

    asyncio.run(main())


async def _panel(port: int, account: str, count: int, latencies: list[float]) -> int:
    from seuil.cli.sia_sender import make_body, make_frame

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    acks = 0
    try:
        for seq in range(count):
            body = make_body(
                "ADM-CID", f"#{account}|1130 01 {seq % 1000:03d}", seq=seq, account=account,
                at=datetime.now(UTC),
            )  # fmt: skip
            started = time.perf_counter()
            writer.write(make_frame(body))
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\r"), 10)
            latencies.append(time.perf_counter() - started)
            acks += b'"ACK"' in reply
    finally:
        writer.close()
        await writer.wait_closed()
    return acks


def _bench_sia(sink: str, folder: Path, messages: int, connections: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    accounts = [f"{1000 + i}" for i in range(connections)]
    proc = ctx.Process(target=_serve_sia, args=(sink, str(folder), accounts, ports, stop))
    proc.start()
    try:
        port = ports.get(timeout=60)
        per = max(1, messages // connections)
        latencies: list[float] = []

        async def run() -> list[int]:
            return await asyncio.gather(*(_panel(port, a, per, latencies) for a in accounts))

        started = time.perf_counter()
        acks = sum(asyncio.run(run()))
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        outcome = ports.get(timeout=330) if proc.is_alive() else {}
        proc.join(30)
    rejected = outcome.get("rejected", {})
    backlog = float(outcome.get("apply_backlog_s", 0.0))
    ordered = sorted(latencies)
    return {
        "sink": sink,
        "connections": connections,
        "messages": len(latencies),
        "acked": acks,
        "rejected": rejected,
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "ack_p50_ms": statistics.median(ordered) * 1000,
        "ack_p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        # write-ahead sinks: how long after the last ACK the engine had applied them all
        "apply_backlog_s": backlog,
        "applied_per_second": len(latencies) / (elapsed + backlog),
    }


# ------------------------------------------------------------------------------- MQTT


def _bench_mqtt(
    sink_name: str, folder: Path, events: int, broker: tuple[str, int]
) -> dict[str, Any]:
    import json

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from seuil.adapters.mqtt_devices import GatewayOptions, MqttDeviceGateway, device_topic
    from seuil.ports.clock import SystemClock

    site = f"BENCH{uuid.uuid4().hex[:8].upper()}"
    sink = SINKS[sink_name](folder)
    options = GatewayOptions(host=broker[0], port=broker[1], session_expiry_s=0)
    gateway = MqttDeviceGateway(site, sink, SystemClock(), options)
    gateway.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.max_inflight_messages_set(100)
    publisher.max_queued_messages_set(0)
    publisher.connect(*broker)
    publisher.loop_start()
    try:
        topics = [device_topic(site, f"bouton-{i}", "event") for i in range(20)]
        started = time.perf_counter()
        deadline = time.monotonic() + 120
        infos = []
        for n in range(events):
            # Devices do not burst thousands of events at once: keep at most WINDOW in
            # flight, or the broker's per-client queue (Mosquitto: max_queued_messages,
            # 1000 by default) drops the excess before the gateway sees it.
            while n - gateway.accepted > _WINDOW and time.monotonic() < deadline:
                time.sleep(0.0005)
            payload = json.dumps({"type": "panic", "id": str(n)})
            infos.append(publisher.publish(topics[n % 20], payload, qos=1))
        for info in infos:
            info.wait_for_publish(30)
        while gateway.accepted < events and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        gateway.stop()
        # write-ahead sinks: let the engine apply them before the folder goes away
        wait = getattr(sink, "wait_applied", None)
        backlog = wait() if wait is not None else 0.0
        getattr(sink, "close", lambda: None)()
    return {
        "sink": sink_name,
        "events": events,
        "stored": gateway.accepted,
        "rejected": dict(gateway.rejected),
        "seconds": elapsed,
        "per_second": gateway.accepted / elapsed,
        "applied_per_second": gateway.accepted / (elapsed + backlog),
    }


def run_incidents_bench(
    *,
    sia_messages: int = 5000,
    connections: int = 8,
    mqtt_events: int = 2000,
    sinks: tuple[str, ...] = ("memory", "sqlite"),
    broker: tuple[str, int] | None = ("127.0.0.1", 1883),
) -> dict[str, Any]:
    """Measure every sink; ``broker=None`` skips MQTT."""
    report: dict[str, Any] = {"sia": [], "mqtt": []}
    for sink in sinks:
        if sink not in SINKS:
            raise ValueError(f"unknown sink {sink!r} (known: {', '.join(SINKS)})")
        with tempfile.TemporaryDirectory(prefix="seuil-bench-") as folder:
            report["sia"].append(_bench_sia(sink, Path(folder), sia_messages, connections))
        if broker is not None:
            with tempfile.TemporaryDirectory(prefix="seuil-bench-") as folder:
                report["mqtt"].append(_bench_mqtt(sink, Path(folder), mqtt_events, broker))
    return report


def print_incidents_report(report: dict[str, Any], echo: Callable[[str], None]) -> None:
    echo("SIA DC-09 over loopback TCP (one frame, then its ACK, per connection)")
    head = ("sink", "conn.", "messages", "ACK", "msg/s", "p50 ms", "p99 ms", "applied/s")
    echo("{:<9} {:>5} {:>8} {:>6} {:>8} {:>7} {:>7} {:>9}".format(*head))
    for r in report["sia"]:
        echo(
            f"{r['sink']:<9} {r['connections']:>5} {r['messages']:>8} {r['acked']:>6} "
            f"{r['per_second']:>8.0f} {r['ack_p50_ms']:>7.2f} {r['ack_p99_ms']:>7.2f} "
            f"{r['applied_per_second']:>9.0f}"
        )
    echo("targets: >= 500 msg/s with ACK, ACK p99 <= 50 ms")
    if report["mqtt"]:
        echo("")
        echo("MQTT events (QoS 1) through Mosquitto and the gateway into the sink")
        title = f"{'sink':<9} {'events':>7} {'stored':>7} {'events/s':>9} {'seconds':>8}"
        echo(f"{title} {'applied/s':>9}")
        for r in report["mqtt"]:
            echo(
                f"{r['sink']:<9} {r['events']:>7} {r['stored']:>7} {r['per_second']:>9.0f} "
                f"{r['seconds']:>8.2f} {r['applied_per_second']:>9.0f}"
            )
