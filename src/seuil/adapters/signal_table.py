"""A stand-in SignalSink: each signal appended to one SQL table, nothing more.

For benchmarks and tests of the device gateways until the incident service (which
implements the same port) is wired in. Database failures become
:class:`~seuil.domain.errors.StorageUnavailableError`, as the port requires.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from seuil.adapters.storage.errors import storage_errors
from seuil.domain.incidents import IncidentType, Signal, SignalKind

__all__ = ["SqlSignalLog"]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


class SqlSignalLog:
    def __init__(self, engine: sa.Engine, table: str = "signal_log") -> None:
        self._engine = engine
        # Writers of this process queue here, not in SQLite's busy handler (which sleeps
        # up to 100 ms between tries): callers may be several threads (the SIA receiver).
        self._write_lock = threading.Lock()
        self._metadata = sa.MetaData()
        self.table = sa.Table(
            table,
            self._metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("source", sa.String(100), nullable=False),
            sa.Column("site", sa.String(64), nullable=False),
            sa.Column("zone", sa.String(64), nullable=False),
            sa.Column("code", sa.String(32), nullable=False),
            sa.Column("raw", sa.Text, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("type", sa.String(32), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
        )

    def create(self) -> None:
        with storage_errors(self._engine.url, connecting=True):
            self._metadata.create_all(self._engine)

    def receive(self, signal: Signal) -> None:
        row = {
            "source": signal.source,
            "site": signal.site,
            "zone": signal.zone,
            "code": signal.code,
            "raw": signal.raw,
            "at": signal.at.astimezone(UTC),  # SQLite keeps no offset: store UTC
            "type": signal.type.value,
            "kind": signal.kind.value,
        }
        with self._write_lock, storage_errors(self._engine.url), self._engine.begin() as conn:
            conn.execute(self.table.insert(), row)

    def signals(self) -> list[Signal]:
        """Every stored signal, in insertion order (times as the database returns them)."""
        with storage_errors(self._engine.url), self._engine.connect() as conn:
            rows = conn.execute(sa.select(self.table).order_by(self.table.c.id)).mappings()
            return [
                Signal(
                    r["source"],
                    r["site"],
                    r["zone"],
                    r["code"],
                    r["raw"],
                    _utc(r["at"]),
                    IncidentType(r["type"]),
                    SignalKind(r["kind"]),
                )
                for r in rows
            ]

    def count(self) -> int:
        with storage_errors(self._engine.url), self._engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one()
            )
