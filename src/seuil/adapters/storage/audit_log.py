"""The hash-chained audit log, written in the same transaction as the change it records.

``append`` locks the anchor row (the last entry's seq and hash) before chaining: on
PostgreSQL with ``SELECT ... FOR UPDATE``, on SQLite because every writing unit of work
began with ``BEGIN IMMEDIATE``. So two concurrent appenders queue and never both chain
onto the same head. The anchor is updated with each entry; deleting the tail of the log
leaves it ahead, which :func:`verify_audit` reports.

A chain kept in the same database only proves that nobody edited entries *without
recomputing every later hash*; exporting the anchor elsewhere (the hub) from time to
time makes wholesale rewriting detectable too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.audit import GENESIS, AuditEntry, AuditEvent, ChainVerdict, chain, verify_chain
from seuil.domain.errors import AuditChainBrokenError, ConflictError

if TYPE_CHECKING:
    from seuil.adapters.storage.unit_of_work import SqlUnitOfWork

logger = logging.getLogger(__name__)

ANCHOR_ID = 1
VERIFY_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Anchor:
    last_seq: int
    last_hash: str


def _canonical_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details exactly as the JSON column will give them back (so the hash still holds)."""
    text = json.dumps(details, default=str, ensure_ascii=False, allow_nan=False)
    canonical: dict[str, Any] = json.loads(text)
    return canonical


def _entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        reason=row.reason,
        details=dict(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditLog:
    def __init__(self, db: Db) -> None:
        self._db = db

    def append(self, event: AuditEvent, at: datetime) -> AuditEntry:
        """Chain ``event`` after the current head, in the caller's transaction."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("naive datetime: audit times must be timezone-aware")
        at = at.astimezone(UTC)  # the hash covers at.isoformat(): hash what is stored
        event = replace(event, details=_canonical_details(event.details))
        # Locked once per transaction; later appends in it chain from the cached head.
        head = Anchor(*self._db.audit_head) if self._db.audit_head else self._lock_head()
        # chain() needs only the previous entry's seq and hash, which the anchor holds.
        prev = (
            None
            if head.last_seq == 0
            else AuditEntry(head.last_seq, at, "", "", "", "", {}, "", head.last_hash)
        )
        entry = chain(prev, at, event)
        try:
            # The columns are named after AuditEntry's fields.
            self._db.execute(sa.insert(t.audit_log).values(**asdict(entry)))
        except ConflictError:
            raise AuditChainBrokenError(
                f"audit entry {entry.seq} already exists although the anchor ends at "
                f"{head.last_seq}: the anchor was tampered with; run `seuil audit verify`"
            ) from None
        self._db.execute(
            sa.update(t.audit_anchor)
            .where(t.audit_anchor.c.id == ANCHOR_ID)
            .values(last_seq=entry.seq, last_hash=entry.hash)
        )
        self._db.audit_head = (entry.seq, entry.hash)
        return entry

    def entries(self, after_seq: int = 0, limit: int | None = None) -> Sequence[AuditEntry]:
        statement = (
            sa.select(t.audit_log).where(t.audit_log.c.seq > after_seq).order_by(t.audit_log.c.seq)
        )
        if limit is not None:
            statement = statement.limit(limit)
        return [_entry(row) for row in self._db.execute(statement)]

    def latest(self, limit: int = 20, action: str | None = None) -> list[AuditEntry]:
        """The last ``limit`` entries, oldest first; ``action`` is exact, or a prefix
        when it ends with ``*`` (``credential.*``)."""
        c = t.audit_log.c
        statement = sa.select(t.audit_log)
        if action is not None:
            if action.endswith("*"):
                statement = statement.where(c.action.startswith(action[:-1], autoescape=True))
            else:
                statement = statement.where(c.action == action)
        statement = statement.order_by(c.seq.desc()).limit(limit)
        return [_entry(row) for row in self._db.execute(statement)][::-1]

    def anchor(self) -> Anchor | None:
        statement = sa.select(t.audit_anchor).where(t.audit_anchor.c.id == ANCHOR_ID)
        row = self._db.execute(statement).first()
        return Anchor(int(row.last_seq), row.last_hash) if row else None

    def _lock_head(self) -> Anchor:
        statement = (
            sa.select(t.audit_anchor).where(t.audit_anchor.c.id == ANCHOR_ID).with_for_update()
        )
        row = self._db.execute(statement).first()
        if row is None:
            self._create_anchor()
            row = self._db.execute(statement).first()
        if row is None:
            raise AuditChainBrokenError(
                "the audit anchor is missing although the log has entries: run `seuil audit verify`"
            )
        return Anchor(int(row.last_seq), row.last_hash)

    def _create_anchor(self) -> None:
        """Create the anchor row of an empty log (a schema built without the migration).

        One statement, safe against a concurrent first append: the loser waits on the
        winner's row and does nothing. Never creates it beside existing entries.
        """
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        genesis = sa.select(sa.literal(ANCHOR_ID), sa.literal(0), sa.literal(GENESIS)).where(
            ~sa.exists(sa.select(t.audit_log.c.seq))
        )
        self._db.execute(
            insert(t.audit_anchor)
            .from_select(["id", "last_seq", "last_hash"], genesis)
            .on_conflict_do_nothing(index_elements=["id"])
        )


def _paged(log: SqlAuditLog, batch: int, seen: list[AuditEntry]) -> Iterator[AuditEntry]:
    after = 0
    while page := log.entries(after, batch):
        for entry in page:
            seen[:] = [entry]
            yield entry
        after = page[-1].seq


def verify_audit(uow: SqlUnitOfWork, batch: int = VERIFY_BATCH) -> ChainVerdict:
    """Verify every entry's hash and link, then that the anchor matches the last entry.

    Must run inside ``with uow:``; reads in pages, so memory stays flat.
    """
    log = uow.audit
    last: list[AuditEntry] = []
    verdict = verify_chain(_paged(log, batch, last))
    if not verdict.ok:
        return verdict
    anchor = log.anchor()
    last_seq = last[0].seq if last else 0
    last_hash = last[0].hash if last else GENESIS
    if anchor is None:
        if last_seq == 0:
            return verdict
        return ChainVerdict(False, verdict.entries, None, "the audit anchor row was deleted")
    if anchor.last_seq > last_seq:
        return ChainVerdict(
            False, verdict.entries, last_seq + 1,
            f"entries {last_seq + 1} to {anchor.last_seq} were deleted "
            f"(the anchor records {anchor.last_seq} entries)",
        )  # fmt: skip
    if anchor.last_seq < last_seq:
        return ChainVerdict(
            False, verdict.entries, anchor.last_seq + 1,
            f"entries after {anchor.last_seq} were added outside seuil (not in the anchor)",
        )  # fmt: skip
    if anchor.last_hash != last_hash:
        return ChainVerdict(
            False, verdict.entries, last_seq, "the last entry does not match the anchor"
        )
    return verdict
