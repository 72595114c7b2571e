"""Live notices across hub processes: publish -> delivered to a subscriber of another hub.

Two ``Hub`` objects on one throwaway PostgreSQL schema stand for two uvicorn workers.
A notice published by the first (``Hub.live.publish``, what ingestion calls after its
commit) travels by ``pg_notify`` to the second's listener thread and into its local
bus, where an asyncio subscription (what a server-sent-event stream reads) receives it.
Reference, in the same run: a ``MemoryLiveBus`` publishing to its own subscriber (one
process, what the hub did before). One notice at a time (the next once the previous is
delivered), then a burst of the same count published back to back:

    python benchmarks/hub_live_fanout.py --notices 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from seuil.adapters.live import MemoryLiveBus
from seuil.hub.runtime import Hub
from seuil.hub.settings import HubSettings

Publish = Callable[[str, Mapping[str, object]], None]
DEFAULT_URL = os.environ.get(
    "SEUIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def throwaway_schema(url: str) -> Iterator[str]:
    schema = f"seuil_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


async def one_at_a_time(publish: Publish, bus: MemoryLiveBus, notices: int) -> list[float]:
    """Seconds from publish to the subscriber's ``get``, one notice in flight."""
    latencies = []
    async with bus.subscribe(["board"]) as sub:
        for n in range(notices):
            started = time.perf_counter()
            publish("board", {"site": "0830042X", "n": n})
            event = await sub.get(timeout=5)
            assert event is not None and event.payload["n"] == n, f"notice {n} lost"
            latencies.append(time.perf_counter() - started)
    return latencies


def burst(publish: Publish, bus: MemoryLiveBus, notices: int) -> tuple[float, list[float]]:
    """Publish ``notices`` back to back from one thread; returns the seconds until the
    last is delivered (a synchronous listener on the receiving bus) and each latency."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def heard(topic: str, payload: Mapping[str, object]) -> None:
        n = payload.get("burst")
        if isinstance(n, int):
            latencies.append(time.perf_counter() - sent[n])
            if len(latencies) == notices:
                done.set()

    remove = bus.listen(heard)
    try:
        started = time.perf_counter()
        for n in range(notices):
            sent[n] = time.perf_counter()
            publish("board", {"site": "0830042X", "burst": n})
        assert done.wait(30), f"{len(latencies)}/{notices} delivered"
        return time.perf_counter() - started, latencies
    finally:
        remove()


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def report(name: str, seq: list[float], total: float, spread: list[float]) -> None:
    print(f"{name:<32} {ms(seq, 50):>7.3f} {ms(seq, 95):>7.3f} {max(seq) * 1000:>7.2f}"
          f"   {len(spread) / total:>9,.0f} {ms(spread, 95):>8.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--database", default=DEFAULT_URL, help="PostgreSQL URL")
    args = parser.parse_args()
    memory = MemoryLiveBus(queue_size=args.notices + 10)
    with throwaway_schema(args.database) as url:
        first = Hub(HubSettings(database_url=url))
        second = Hub(HubSettings(database_url=url))
        try:
            for hub in (first, second):
                assert hub.live is not hub.bus and hub.live.listening.wait(10)  # type: ignore[attr-defined]
            asyncio.run(one_at_a_time(first.live.publish, second.bus, 50))  # warm-up
            pg_seq = asyncio.run(one_at_a_time(first.live.publish, second.bus, args.notices))
            mem_seq = asyncio.run(one_at_a_time(memory.publish, memory, args.notices))
            pg_total, pg_burst = burst(first.live.publish, second.bus, args.notices)
            mem_total, mem_burst = burst(memory.publish, memory, args.notices)
        finally:
            first.close()
            second.close()
    print(f"{args.notices} notices; one at a time: latency ms; burst: notices/s and p95 ms")
    print(f"{'path':<32} {'p50':>7} {'p95':>7} {'max':>7}   {'burst/s':>9} {'p95':>8}")
    report("LISTEN/NOTIFY, other hub", pg_seq, pg_total, pg_burst)
    report("MemoryLiveBus, same process", mem_seq, mem_total, mem_burst)
    print(f"ratio p50 {ms(pg_seq, 50) / ms(mem_seq, 50):.0f}x, "
          f"p95 {ms(pg_seq, 95) / ms(mem_seq, 95):.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
