"""Per-signal cost of the incident engine, with and without the committed-incident cache.

A panel repeating one alarm folds every signal into one incident; before the cache each
new signal reloaded every stored signal of the open incidents. Both variants run side by
side in one process on fresh SQLite site databases, same signals, same machine load:

    python benchmarks/incident_signal_path.py --signals 600
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seuil.adapters.storage import unit_of_work
from seuil.bootstrap import build_site
from seuil.domain.incidents import IncidentType, Signal
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings


def run(signals: int, cached: bool) -> list[float]:
    folder = Path(tempfile.mkdtemp(prefix="seuil-bench-"))
    settings = Settings(
        site=SiteSettings(id="BENCH"),
        database=StorageSettings(url=f"sqlite:///{folder / 'site.sqlite3'}"),
        keys=KeySettings(dir=folder / "keys"),
    )
    original = unit_of_work.cache_for
    if not cached:
        unit_of_work.cache_for = lambda engine: None  # type: ignore[assignment,return-value]
    try:
        site = build_site(settings)
        engine = site.incidents
        t0 = datetime.now(UTC)
        per_100: list[float] = []
        started = time.perf_counter()
        for n in range(signals):
            at = t0 + timedelta(milliseconds=n)
            engine.receive(Signal(f"sia:{n % 8}", "BENCH", "", "E130", f"frame {n}", at,
                                  IncidentType.INTRUSION))  # fmt: skip
            if (n + 1) % 100 == 0:
                now = time.perf_counter()
                per_100.append((now - started) * 10)  # ms per signal over those 100
                started = now
        site.close()
        return per_100
    finally:
        unit_of_work.cache_for = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=600)
    args = parser.parse_args()
    without = run(args.signals, cached=False)
    with_cache = run(args.signals, cached=True)
    print("signals   no cache ms/signal   cache ms/signal   ratio")
    for i, (a, b) in enumerate(zip(without, with_cache, strict=True)):
        print(f"{(i + 1) * 100:>7}   {a:>18.2f}   {b:>15.2f}   {a / b:>5.1f}x")


if __name__ == "__main__":
    main()
