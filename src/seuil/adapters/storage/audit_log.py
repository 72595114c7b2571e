"""The hash-chained audit log, written in the same transaction as the change it records.

``append`` locks the anchor row (the last entry's seq and hash) before chaining: on
PostgreSQL with ``SELECT ... FOR UPDATE``, on SQLite because every writing unit of work
began with ``BEGIN IMMEDIATE``. So two concurrent appenders queue and never both chain
onto the same head. The lock holds until the transaction ends, so later appends in the
same transaction chain from a cached head, and the anchor row is written once, by the
unit of work's commit (:meth:`SqlAuditLog.flush`). Deleting the tail of the log leaves
the anchor ahead of it, which :func:`verify_audit` reports.

Retention deletes the oldest entries (:meth:`SqlAuditLog.purge_before`): the last
deleted entry's seq and hash become the *checkpoint* where verification resumes, and
the purge appends an ``audit.purge`` entry carrying the same seq and hash, so the
checkpoint is itself part of the chain (a forged one does not match it). Entries are
verified before they are deleted: a broken chain is never purged out of sight.

A chain kept in the same database only proves that nobody edited entries *without
recomputing every later hash*; the head exported to the regional hub from time to time
(``audit.anchor`` events, checked by :func:`verify_anchors`) makes wholesale rewriting
detectable too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.audit import (
    GENESIS,
    AnchorVerdict,
    AuditEntry,
    AuditEvent,
    AuditHead,
    ChainVerdict,
    chain,
    check_anchors,
    verify_chain,
)
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import AuditChainBrokenError, ConflictError

if TYPE_CHECKING:
    from seuil.adapters.storage.unit_of_work import SqlUnitOfWork

logger = logging.getLogger(__name__)

ANCHOR_ID = 1
CHECKPOINT_ID = 1
VERIFY_BATCH = 1000
PURGE_ACTION = AuditAction.AUDIT_PURGE
# One statement object, values bound at execution: SQLAlchemy compiles it once (a
# ``.values(...)`` statement per entry was compiled again for every entry).
_INSERT_ENTRY = sa.insert(t.audit_log)
_ENTRY_FIELDS = tuple(f.name for f in fields(AuditEntry))  # the columns are named after them


@dataclass(frozen=True, slots=True)
class Anchor:
    last_seq: int
    last_hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The last entry deleted by retention: verification resumes after it."""

    through_seq: int
    through_hash: str


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
            self._db.execute(_INSERT_ENTRY, [{f: getattr(entry, f) for f in _ENTRY_FIELDS}])
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

    def about(
        self, person_ref: str, other_targets: Collection[str] = (), limit: int = 10_000
    ) -> list[AuditEntry]:
        """Entries about a person, oldest first (subject access): those whose target is
        the person or one of ``other_targets`` (their credential ids), and those that
        name the person in their details (``{"person": ref}``)."""
        c = t.audit_log.c
        refs = sorted({person_ref, *other_targets})
        by_target = sa.select(t.audit_log).where(c.target.in_(refs))
        in_details = sa.select(t.audit_log).where(c.details.cast(sa.String).contains(person_ref))
        found: dict[int, AuditEntry] = {}
        for statement in (by_target, in_details):
            for row in self._db.execute(statement.order_by(c.seq).limit(limit)):
                found.setdefault(int(row.seq), _entry(row))
        return [found[seq] for seq in sorted(found)][:limit]

    def anchor(self) -> Anchor | None:
        self.flush()
        statement = sa.select(t.audit_anchor).where(t.audit_anchor.c.id == ANCHOR_ID)
        row = self._db.execute(statement).first()
        return Anchor(int(row.last_seq), row.last_hash) if row else None

    def head(self) -> AuditHead:
        """The head as committed (the anchor row) and the number of entries kept."""
        anchor = self.anchor() or Anchor(0, GENESIS)
        count = self._db.execute(sa.select(sa.func.count()).select_from(t.audit_log)).scalar()
        return AuditHead(anchor.last_seq, anchor.last_hash, int(count or 0))

    def hashes(self, seqs: Collection[int]) -> dict[int, str]:
        """The stored hash of each of ``seqs`` that exists."""
        c = t.audit_log.c
        wanted = sorted(seqs)
        found: dict[int, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.execute(sa.select(c.seq, c.hash).where(c.seq.in_(chunk)))
            found.update({int(row.seq): row.hash for row in rows})
        return found

    def checkpoint(self) -> Checkpoint | None:
        c = t.audit_checkpoint.c
        row = self._db.execute(
            sa.select(c.through_seq, c.through_hash).where(c.id == CHECKPOINT_ID)
        ).first()
        return Checkpoint(int(row.through_seq), row.through_hash) if row else None

    def last_purge(self) -> AuditEntry | None:
        """The newest ``audit.purge`` entry (the one that attests the checkpoint)."""
        found = self.latest(1, PURGE_ACTION)
        return found[0] if found else None

    def purgeable(self, cutoff: datetime) -> tuple[int, int]:
        """(how many, through which seq): the oldest entries written before ``cutoff``.

        Only an unbroken run from the oldest entry is purged, so the chain stays one
        chain; the run stops at the first entry written at or after ``cutoff``.
        """
        c = t.audit_log.c
        first_kept = self._db.execute(sa.select(sa.func.min(c.seq)).where(c.at >= cutoff)).scalar()
        bound = c.seq < first_kept if first_kept is not None else sa.true()
        statement = sa.select(sa.func.count().label("n"), sa.func.max(c.seq).label("last"))
        row = self._db.execute(statement.where(bound)).one()
        return int(row.n), int(row.last or 0)

    def purge_before(self, cutoff: datetime, actor: str, at: datetime) -> int:
        """Delete the entries :meth:`purgeable` names, after verifying them; move the
        checkpoint and record it in the chain. Returns how many were deleted."""
        count, through = self.purgeable(cutoff)
        if count == 0:
            return 0
        self._lock_head()  # purges and appends queue behind each other
        start = self.checkpoint() or Checkpoint(0, GENESIS)
        last = self._verify_range(start, through)
        self._db.execute(sa.delete(t.audit_log).where(t.audit_log.c.seq <= through))
        values = {"through_seq": last.seq, "through_hash": last.hash, "purged_at": at}
        c = t.audit_checkpoint.c
        updated = self._db.execute(
            sa.update(t.audit_checkpoint).where(c.id == CHECKPOINT_ID).values(**values)
        )
        if updated.rowcount == 0:
            self._db.execute(sa.insert(t.audit_checkpoint).values(id=CHECKPOINT_ID, **values))
        self._db.erased_blobs = True  # the deleted entries must leave SQLite's WAL too
        self.append(
            AuditEvent(actor, PURGE_ACTION, "", "retention",
                       {"deleted": count, "through_seq": last.seq, "through_hash": last.hash}),
            at,
        )  # fmt: skip
        return count

    def _verify_range(self, start: Checkpoint, through: int) -> AuditEntry:
        state = _Walk()
        seen: list[AuditEntry] = []

        def upto() -> Iterator[AuditEntry]:
            for entry in _walk(self, VERIFY_BATCH, state):
                if entry.seq > through:
                    return
                seen[:] = [entry]
                yield entry

        verdict = verify_chain(upto(), start.through_seq, start.through_hash)
        broken = state.unreadable_seq is not None and state.unreadable_seq <= through
        if not verdict.ok or broken or not seen or seen[0].seq != through:
            raise AuditChainBrokenError(
                f"the audit entries to purge do not verify (entry "
                f"{verdict.first_bad_seq or state.unreadable_seq}: "
                f"{verdict.problem or 'unreadable or missing'}); nothing was purged: "
                "run `seuil audit verify`"
            )
        return seen[0]

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
    checkpoint = log.checkpoint() or Checkpoint(0, GENESIS)
    verdict = verify_chain(_walk(log, batch, walk), checkpoint.through_seq, checkpoint.through_hash)
    if not verdict.ok:
        return verdict
    last_seq = walk.last.seq if walk.last else checkpoint.through_seq
    last_hash = walk.last.hash if walk.last else checkpoint.through_hash
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
    return _attested(log, checkpoint, verdict)


def _attested(log: SqlAuditLog, checkpoint: Checkpoint, verdict: ChainVerdict) -> ChainVerdict:
    """A purge checkpoint must be the one the newest ``audit.purge`` entry records."""
    if checkpoint.through_seq == 0:
        return verdict
    purge = log.last_purge()
    recorded = (
        (purge.details.get("through_seq"), purge.details.get("through_hash")) if purge else None
    )
    if recorded != (checkpoint.through_seq, checkpoint.through_hash):
        return ChainVerdict(
            False, verdict.entries, checkpoint.through_seq + 1,
            "the purge checkpoint is not the one recorded in the chain (entries before it "
            "were deleted outside the retention purge)",
        )  # fmt: skip
    return verdict


def verify_anchors(
    uow: SqlUnitOfWork,
    anchors: Iterable[tuple[int, str, datetime]],
    purgeable_before: datetime | None = None,
) -> AnchorVerdict:
    """The chain against heads exported earlier (the hub's anchors, ``(seq, hash, at)``):
    each anchored entry must still hash to its anchored value; anchors before the purge
    checkpoint are counted as purged, unless one was sent after ``purgeable_before``
    (a purge that early is forged: see :func:`check_anchors`). Run it with
    :func:`verify_audit`: the anchors catch a chain that was rewritten wholesale (every
    hash recomputed), which verifies on its own."""
    log = uow.audit
    checkpoint = log.checkpoint() or Checkpoint(0, GENESIS)
    return check_anchors(anchors, log.hashes, checkpoint.through_seq, checkpoint.through_hash,
                         purgeable_before)  # fmt: skip
