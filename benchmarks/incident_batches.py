"""Per-signal cost of the incident engine by batch size (``receive`` vs ``receive_many``).

Each batch size runs on a fresh SQLite site database with the same signals (8 panels,
one zone, 1 ms apart: one growing incident, as in ``seuil bench incidents``):

    python benchmarks/incident_batches.py --signals 2000 --batches 1,10,50,200
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seuil.bootstrap import build_site
from seuil.domain.incidents import IncidentType, Signal
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings


def run(signals: int, batch: int) -> float:
    """Milliseconds per signal."""
    with tempfile.TemporaryDirectory(prefix="seuil-bench-") as name:
        folder = Path(name)
        site = build_site(
            Settings(
                site=SiteSettings(id="BENCH"),
                database=StorageSettings(url=f"sqlite:///{folder / 'site.sqlite3'}"),
                keys=KeySettings(dir=folder / "keys"),
            )
        )
        t0 = datetime.now(UTC)
        items = [
            Signal(
                f"sia:{n % 8}",
                "BENCH",
                "01",
                "E130",
                f"frame {n}",
                t0 + timedelta(milliseconds=n),
                IncidentType.INTRUSION,
            )
            for n in range(signals)
        ]
        engine = site.incidents
        started = time.perf_counter()
        for start in range(0, signals, batch):
            if batch == 1:
                engine.receive(items[start])
            else:
                engine.receive_many(items[start : start + batch])
        elapsed = time.perf_counter() - started
        site.close()
    return elapsed / signals * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signals", type=int, default=2000)
    parser.add_argument("--batches", default="1,10,50,200")
    args = parser.parse_args()
    print("batch   ms/signal   signals/s")
    for batch in (int(b) for b in args.batches.split(",")):
        ms = run(args.signals, batch)
        print(f"{batch:>5} {ms:>11.3f} {1000 / ms:>11.0f}")


if __name__ == "__main__":
    main()
