"""The hash-chained audit log, written in the same transaction as the change it records.

``append`` locks the anchor row (the last entry's seq and hash) before chaining: on
PostgreSQL with ``SELECT ... FOR UPDATE``, on SQLite because every writing unit of work
began with ``BEGIN IMMEDIATE``. So two concurrent appenders queue and never both chain
onto the same head. The lock holds until the transaction ends, so later appends in the
same transaction chain from a cached head, and the anchor row is written once, by the
unit of work's commit (:meth:`SqlAuditLog.flush`). Deleting the tail of the log leaves
the anchor ahead of it, which :func:`verify_audit` reports.

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
        self._db.audit_head = (entry.seq, entry.hash)
        self._db.anchor_stale = True  # written once, by flush() at commit
        return entry

    def flush(self) -> None:
        """Write the cached head to the anchor row (the unit of work does, at commit)."""
        if self._db.anchor_stale and self._db.audit_head is not None:
            last_seq, last_hash = self._db.audit_head
            self._db.execute(
                sa.update(t.audit_anchor)
                .where(t.audit_anchor.c.id == ANCHOR_ID)
                .values(last_seq=last_seq, last_hash=last_hash)
            )
            self._db.anchor_stale = False

    def entries(self, after_seq: int = 0, limit: int | None = None) -> Sequence[AuditEntry]:
        statement = (
            sa.select(t.audit_log).where(t.audit_log.c.seq > after_seq).order_by(t.audit_log.c.seq)
        )
        if limit is not None:
            statement = statement.limit(limit)
        return [_entry(row) for row in self._db.execute(statement)]

    def seqs(self, after_seq: int, limit: int) -> list[int]:
        """Just the sequence numbers after ``after_seq`` (reading damaged entries)."""
        c = t.audit_log.c
        statement = sa.select(c.seq).where(c.seq > after_seq).order_by(c.seq).limit(limit)
        return [int(seq) for seq in self._db.execute(statement).scalars()]

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
        self.flush()
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


@dataclass(slots=True)
class _Walk:
    """What the paged walk over the log has seen so far."""

    last: AuditEntry | None = None
    count: int = 0
    unreadable_seq: int | None = None


_UNREADABLE = (ValueError, TypeError, KeyError)  # a field altered into garbage


def _read_page(log: SqlAuditLog, after: int, batch: int) -> tuple[list[AuditEntry], int | None]:
    """A page of entries, and the seq of an entry that cannot even be decoded (if any)."""
    try:
        return list(log.entries(after, batch)), None
    except _UNREADABLE:
        pass
    readable: list[AuditEntry] = []
    for seq in log.seqs(after, batch):  # slow path: find the culprit one by one
        try:
            readable.extend(log.entries(seq - 1, 1))
        except _UNREADABLE:
            return readable, seq
    return readable, None


def _walk(log: SqlAuditLog, batch: int, state: _Walk) -> Iterator[AuditEntry]:
    after = 0
    while True:
        page, unreadable = _read_page(log, after, batch)
        for entry in page:
            state.last = entry
            state.count += 1
            yield entry
        if unreadable is not None:
            state.unreadable_seq = unreadable
            return
        if not page:
            return
        after = page[-1].seq


def verify_audit(uow: SqlUnitOfWork, batch: int = VERIFY_BATCH) -> ChainVerdict:
    """Verify every entry's hash and link, then that the anchor matches the last entry.

    Must run inside ``with uow:``; reads in pages, so memory stays flat.
    """
    log = uow.audit
    walk = _Walk()
    verdict = verify_chain(_walk(log, batch, walk))
    if not verdict.ok:
        return verdict
    last_seq = walk.last.seq if walk.last else 0
    last_hash = walk.last.hash if walk.last else GENESIS
    if walk.unreadable_seq is not None:
        if walk.unreadable_seq > last_seq + 1:
            return ChainVerdict(False, walk.count + 1, last_seq + 1, "entry is missing")
        return ChainVerdict(
            False, walk.count + 1, walk.unreadable_seq, "entry cannot be read: a field was altered"
        )
    anchor = log.anchor()
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
