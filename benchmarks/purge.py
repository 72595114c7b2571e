"""Time one retention purge over 100,000 gate events spread over 400 days (2,000 people).

    python benchmarks/purge.py                                  # SQLite (a temp file)
    python benchmarks/purge.py postgresql+psycopg://postgres@127.0.0.1:5432/DBNAME

Use a database of its own on PostgreSQL: the purge compacts tables (VACUUM FULL).
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.bootstrap import build_site
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings

NOW = datetime(2026, 11, 1, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    folder = Path(tempfile.mkdtemp(prefix="seuil-bench-"))
    database = StorageSettings(url=url or f"sqlite:///{folder / 'purge.sqlite3'}")
    site = build_site(Settings(site=SiteSettings(id="0830042X"), database=database,
                               keys=KeySettings(dir=folder / "keys")))  # fmt: skip
    site.set_clock(FixedClock())
    refs = [f"P-{secrets.token_hex(6).upper()}" for _ in range(2000)]
    rows = [
        {
            "gate_id": "g1",
            "at": NOW - timedelta(minutes=i * 5.76),
            "decision": "grant",
            "reason": None,
            "credential_id": secrets.token_hex(16),
            "person_ref": refs[i % 2000],
            "match_score": 0.9,
            "liveness_score": 0.9,
            "latency_ms": 50.0,
            "mode": "verification",
            "decided_by": "system",
        }
        for i in range(100_000)
    ]
    with site.db.begin() as conn:
        conn.execute(sa.insert(t.gate_events), rows)
    started = time.perf_counter()
    report = site.purge.run()
    elapsed = time.perf_counter() - started
    counts = {k: v for k, v in report.counts.items() if v}
    print(f"{site.db.dialect.name}: {counts} in {elapsed:.2f} s")
    site.close()


if __name__ == "__main__":
    main()
