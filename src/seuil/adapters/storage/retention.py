"""SQL side of retention: what is past its period, and the statements that remove it.

Every removal flags the unit of work (``erased_blobs``) so the commit truncates SQLite's
WAL; SQLite's ``secure_delete`` has already zeroed the freed bytes in the file itself.
On PostgreSQL deleted row versions stay in the table's file until it is rewritten:
:func:`compact_tables` runs ``VACUUM FULL`` on the tables a purge touched.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.adapters.storage.engine import truncate_wal
from seuil.domain.incidents import IncidentStatus
from seuil.domain.people import PersonStatus
from seuil.domain.retention import DataKind

logger = logging.getLogger(__name__)

# The tables that hold each kind (what compact_tables rewrites after a purge).
TABLES: dict[DataKind, tuple[str, ...]] = {
    DataKind.TEMPLATE: ("templates",),
    DataKind.ENROLMENT_PHOTO: ("photos",),
    DataKind.GATE_EVENT_IDENTIFIED: ("gate_events",),
    DataKind.GATE_EVENT_STATISTICS: ("gate_events",),
    DataKind.AUDIT_ENTRY: ("audit_log",),
    DataKind.DEPARTED_PERSON: ("people", "consents", "credentials", "gate_events"),
    DataKind.INCIDENT: ("incidents", "incident_signals", "incident_transitions", "notifications"),
    DataKind.DEVICE_LOG: ("notifications",),
}


def pseudonym() -> str:
    """A random stand-in for a person in old gate events; the mapping is never kept."""
    return PSEUDONYM_PREFIX + secrets.token_hex(6).upper()


PSEUDONYM_PREFIX = "X-"


def _real_person(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    return sa.and_(column.is_not(None), ~column.startswith(PSEUDONYM_PREFIX))


class SqlRetentionStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _unused_since(self, table: sa.Table, cutoff: datetime) -> list[str]:
        """Refs whose blob is older than ``cutoff`` and whose credentials all ended before
        it (expired or revoked); a person with no credential at all counts too."""
        c = t.credentials.c
        ended = sa.func.coalesce(c.revoked_at, c.valid_until)
        still_used = sa.exists().where(c.person_ref == table.c.person_ref, ended >= cutoff)
        statement = (
            sa.select(table.c.person_ref)
            .where(table.c.created_at < cutoff, ~still_used)
            .order_by(table.c.person_ref)
        )
        return list(self._db.execute(statement).scalars())

    def templates_unused_since(self, cutoff: datetime) -> list[str]:
        return self._unused_since(t.templates, cutoff)

    def photos_unused_since(self, cutoff: datetime) -> list[str]:
        return self._unused_since(t.photos, cutoff)

    def identified_gate_events(self, before: datetime) -> int:
        c = t.gate_events.c
        named = sa.or_(_real_person(c.person_ref), c.credential_id.is_not(None))
        statement = sa.select(sa.func.count()).where(c.at < before, named)
        return int(self._db.execute(statement).scalar_one())

    def pseudonymise_gate_events(self, before: datetime) -> int:
        """Old events keep gate, time, decision and scores; the person becomes a random
        pseudonym (one per person and run, never stored elsewhere) and the credential
        goes. Counts per person stay possible, linking them back does not."""
        c = t.gate_events.c
        refs = self._db.execute(
            sa.select(c.person_ref).where(c.at < before, _real_person(c.person_ref)).distinct()
        ).scalars()
        changed = 0
        for ref in list(refs):
            result = self._db.execute(
                sa.update(t.gate_events)
                .where(c.at < before, c.person_ref == ref)
                .values(person_ref=pseudonym(), credential_id=None)
            )
            changed += result.rowcount
        result = self._db.execute(
            sa.update(t.gate_events)
            .where(c.at < before, c.credential_id.is_not(None))
            .values(credential_id=None)
        )
        changed += result.rowcount
        self._db.erased_blobs |= changed > 0
        return changed

    def gate_events_before(self, before: datetime) -> int:
        statement = sa.select(sa.func.count()).where(t.gate_events.c.at < before)
        return int(self._db.execute(statement).scalar_one())

    def delete_gate_events(self, before: datetime) -> int:
        result = self._db.execute(sa.delete(t.gate_events).where(t.gate_events.c.at < before))
        self._db.erased_blobs |= result.rowcount > 0
        return int(result.rowcount)

    def inventory(self, now: datetime) -> dict[str, int]:
        """How much is held, for the impact assessment: counts only."""
        counts: dict[str, int] = {}

        def count(key: str, statement: sa.Select[Any]) -> None:
            counts[key] = int(self._db.execute(statement).scalar_one())

        n = sa.func.count()
        p = t.people.c
        for row in self._db.execute(
            sa.select(p.kind, p.status, n.label("n")).group_by(p.kind, p.status)
        ):
            counts[f"people.{row.kind}.{row.status}"] = int(row.n)
        s = t.templates.c
        for row in self._db.execute(sa.select(s.storage, n.label("n")).group_by(s.storage)):
            counts[f"templates.{row.storage}"] = int(row.n)
        count("photos", sa.select(n).select_from(t.photos))
        c = t.credentials.c
        live = sa.and_(c.revoked_at.is_(None), c.valid_until > now)
        count("credentials.live", sa.select(n).where(live))
        count("gate_events", sa.select(n).select_from(t.gate_events))
        count("audit_entries", sa.select(n).select_from(t.audit_log))
        # The consent in force is each person's latest record.
        latest: dict[str, str] = {}
        k = t.consents.c
        for row in self._db.execute(sa.select(k.person_ref, k.state).order_by(k.recorded_at, k.id)):
            latest[row.person_ref] = row.state
        for state in ("given", "refused", "withdrawn"):
            counts[f"consents.{state}"] = sum(1 for s in latest.values() if s == state)
        return counts

    # -- incidents ----------------------------------------------------------------------
    def incidents_naming(self, needles: Sequence[str]) -> list[tuple[str, bool]]:
        """(incident id, still open) of the incidents whose signals or notes contain one of
        ``needles`` (a person's ref, their name), case-insensitively."""
        wanted = [n for n in needles if n.strip()]
        if not wanted:
            return []
        sig, tr, inc = t.incident_signals.c, t.incident_transitions.c, t.incidents.c

        def mentions(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
            # SQLite's lower() folds ASCII only: also look for the text as typed and in
            # capitals ("Œuvrard", "ŒUVRARD").
            tests = [sa.func.lower(column).contains(n.casefold(), autoescape=True) for n in wanted]
            tests += [column.contains(v, autoescape=True) for n in wanted for v in (n, n.upper())]
            return sa.or_(*tests)

        in_signals = sa.select(sig.incident_id).where(mentions(sig.raw))
        in_notes = sa.select(tr.incident_id).where(mentions(tr.note))
        statement = (
            sa.select(inc.id, inc.status)
            .where(sa.or_(inc.id.in_(in_signals), inc.id.in_(in_notes)))
            .order_by(inc.opened_at, inc.id)
        )
        return [
            (row.id, row.status != IncidentStatus.RESOLVED.value)
            for row in self._db.execute(statement)
        ]

    def resolved_incidents_before(self, cutoff: datetime) -> list[str]:
        """Resolved incidents whose last step (the resolution) is older than ``cutoff``."""
        inc, tr = t.incidents.c, t.incident_transitions.c
        last_step = (
            sa.select(tr.incident_id, sa.func.max(tr.at).label("closed_at"))
            .group_by(tr.incident_id)
            .subquery()
        )
        statement = (
            sa.select(inc.id)
            .join(last_step, last_step.c.incident_id == inc.id)
            .where(inc.status == IncidentStatus.RESOLVED.value, last_step.c.closed_at < cutoff)
            .order_by(inc.id)
        )
        return list(self._db.execute(statement).scalars())

    def delete_incidents(self, ids: Sequence[str]) -> int:
        """An incident with its signals, history and notifications."""
        deleted = 0
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            for table in (t.incident_transitions, t.incident_signals):
                self._db.execute(sa.delete(table).where(table.c.incident_id.in_(chunk)))
            self._db.execute(
                sa.delete(t.notifications).where(t.notifications.c.incident_id.in_(chunk))
            )
            result = self._db.execute(sa.delete(t.incidents).where(t.incidents.c.id.in_(chunk)))
            deleted += int(result.rowcount)
        self._db.erased_blobs |= deleted > 0
        return deleted

    def site_messages_before(self, before: datetime, *, delete: bool) -> int:
        """Technical records outside any incident: site-wide notifications (PPMS), older
        than ``before``: counted, or deleted. (Device signals belong to their incident
        and go with it; device health is one row per device, overwritten.)"""
        c = t.notifications.c
        where = sa.and_(c.incident_id == "", c.created_at < before)
        if not delete:
            return int(self._db.execute(sa.select(sa.func.count()).where(where)).scalar_one())
        result = self._db.execute(sa.delete(t.notifications).where(where))
        self._db.erased_blobs |= result.rowcount > 0
        return int(result.rowcount)

    def departed_before(self, day: date) -> list[str]:
        """People who left before ``day`` (by leave date, else by their last update)."""
        c = t.people.c
        left_on = sa.func.coalesce(c.leave_date, sa.cast(c.updated_at, sa.Date))
        statement = (
            sa.select(c.ref)
            .where(c.status == PersonStatus.LEFT.value, left_on < day)
            .order_by(c.ref)
        )
        return list(self._db.execute(statement).scalars())


_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")


def compact_tables(
    engine: sa.Engine, kinds: Collection[DataKind], lock_timeout_s: float = 5.0
) -> set[DataKind]:
    """Make removed rows unrecoverable from the database files; returns the kinds whose
    tables could not be fully compacted this time (the purge retries them next run).

    SQLite: ``secure_delete`` already zeroed them; checkpoint and truncate the WAL.
    PostgreSQL: ``VACUUM FULL`` rewrites each touched table, since a plain VACUUM leaves
    the old bytes in place. It needs an exclusive lock: it waits at most
    ``lock_timeout_s`` (the gates keep writing events meanwhile) and otherwise gives up
    until the next run; row versions that a running transaction can still see are
    kept by PostgreSQL, and also retried.
    """
    names = sorted({name for kind in kinds for name in TABLES.get(kind, ())})
    if not names:
        return set()
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            if truncate_wal(conn):
                return set()
            logger.warning("purge: WAL not truncated (readers were active); retried next run")
            return set(kinds)
        return _vacuum_full(conn, names, kinds, lock_timeout_s)


def _vacuum_full(
    conn: sa.Connection, names: list[str], kinds: Collection[DataKind], lock_timeout_s: float
) -> set[DataKind]:
    auto = conn.execution_options(isolation_level="AUTOCOMMIT")
    driver: Any = auto.connection.driver_connection
    notes: list[str] = []

    def collect(diagnostic: Any) -> None:
        notes.append(str(diagnostic.message_detail or ""))

    driver.add_notice_handler(collect)
    preparer = conn.dialect.identifier_preparer
    unfinished: set[str] = set()
    try:
        auto.exec_driver_sql(f"SET lock_timeout = {max(1, int(lock_timeout_s * 1000))}")
        for name in names:
            notes.clear()
            try:
                auto.exec_driver_sql(f"VACUUM (FULL, VERBOSE) {preparer.quote(name)}")
            except sa.exc.OperationalError:  # lock timeout: the table is busy
                logger.warning("purge: %s busy, compaction retried next run", name)
                unfinished.add(name)
                continue
            kept = sum(int(m.group(1)) for note in notes for m in _KEPT.finditer(note))
            if kept:
                logger.warning("purge: %d old row versions of %s still visible to a running "
                               "transaction; compaction retried next run", kept, name)  # fmt: skip
                unfinished.add(name)
    finally:
        driver.remove_notice_handler(collect)
        auto.exec_driver_sql("RESET lock_timeout")
    return {kind for kind in kinds if unfinished & set(TABLES.get(kind, ()))}
