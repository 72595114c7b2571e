"""SQL log of gate decisions (events): what the dashboards, incidents and hub read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.adapters.storage.retention import pseudonym
from seuil.domain.errors import DataFormatError
from seuil.domain.gate import Decision, DenyReason, GateDecision, GateMode, ReferReason
from seuil.domain.hub import EventKind, gate_denial_body
from seuil.ports.hub_link import Outbox


def _reason(value: str | None) -> DenyReason | ReferReason | None:
    if value is None:
        return None
    try:
        return DenyReason(value)
    except ValueError:
        return ReferReason(value)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def _cursor(text: str | None) -> tuple[datetime | None, int] | None:
    """``"<id>"`` or ``"<id>.<microseconds since 1970>"`` (exact integers) -> (time or
    None, id); a malformed cursor is a client error."""
    if text is None:
        return None
    ident, _, stamp = text.partition(".")
    try:
        at = EPOCH + int(stamp) * US if stamp else None
        key = int(ident)
        if not 0 <= key < 2**63:  # a BIGINT; beyond, the driver itself would overflow
            raise ValueError(ident)
        return at, key
    except (ValueError, OverflowError):
        raise DataFormatError(f"curseur de pagination invalide : {text!r} (bad cursor)") from None


def _event(row: sa.Row[Any]) -> GateDecision:
    return GateDecision(
        gate_id=row.gate_id, at=row.at, decision=Decision(row.decision),
        reason=_reason(row.reason), credential_id=row.credential_id,
        person_ref=row.person_ref, match_score=row.match_score,
        liveness_score=row.liveness_score, latency_ms=row.latency_ms,
        mode=GateMode(row.mode), decided_by=row.decided_by,
    )  # fmt: skip


class SqlGateEventLog:
    def __init__(self, db: Db, outbox: Outbox | None = None) -> None:
        self._db = db
        self._outbox = outbox

    def add(self, decision: GateDecision) -> None:
        """Store the decision; a DENY also goes to the hub outbox, same transaction
        (GRANT and REFER reach the hub as counts per interval)."""
        values = decision.to_dict()
        values["at"] = decision.at
        self._db.execute(sa.insert(t.gate_events).values(**values))
        outbox = self._outbox
        if outbox is not None and outbox.enabled and decision.decision is Decision.DENY:
            body = gate_denial_body(decision, outbox.pseudonym)
            outbox.add(EventKind.GATE_DENIAL, decision.at, body)

    def recent(
        self, gate_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[GateDecision]:
        c = t.gate_events.c
        query = sa.select(t.gate_events).order_by(c.id.desc()).limit(limit).offset(offset)
        if gate_id is not None:
            # by time within the gate: the (gate_id, at) index answers it without a scan
            query = (sa.select(t.gate_events).where(c.gate_id == gate_id)
                     .order_by(c.at.desc(), c.id.desc()).limit(limit).offset(offset))  # fmt: skip
        return [_event(row) for row in self._db.execute(query)]

    def page(
        self, gate_id: str | None = None, limit: int = 50, after: str | None = None
    ) -> tuple[list[GateDecision], str | None]:
        """Keyset pages in the order of :meth:`recent` (by id; by time then id within a
        gate): the cursor is the last row's key, so a deep page reads ``limit`` rows
        through the index instead of skipping ``offset`` rows one by one."""
        c = t.gate_events.c
        query = sa.select(t.gate_events)
        key = _cursor(after)
        if gate_id is None:
            if key is not None:
                query = query.where(c.id < key[1])
            query = query.order_by(c.id.desc())
        else:
            query = query.where(c.gate_id == gate_id)
            if key is not None and key[0] is not None:
                # ``at <= t`` (redundant) lets the (gate_id, at) index do a range scan
                query = query.where(c.at <= key[0],
                                    sa.or_(c.at < key[0], c.id < key[1]))  # fmt: skip
            query = query.order_by(c.at.desc(), c.id.desc())
        rows = list(self._db.execute(query.limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more and rows:
            last = rows[-1]
            cursor = f"{last.id}" if gate_id is None else f"{last.id}.{(last.at - EPOCH) // US}"
        return [_event(row) for row in rows], cursor

    def count(self, gate_id: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(t.gate_events)
        if gate_id is not None:
            query = query.where(t.gate_events.c.gate_id == gate_id)
        return int(self._db.execute(query).scalar_one())

    def for_person(self, person_ref: str, limit: int = 10_000) -> list[GateDecision]:
        """A person's events, oldest first (subject access)."""
        c = t.gate_events.c
        query = sa.select(t.gate_events).where(c.person_ref == person_ref)
        query = query.order_by(c.at, c.id).limit(limit)
        return [_event(row) for row in self._db.execute(query)]

    def pseudonymise_person(self, person_ref: str) -> int:
        """Erasure: the person's events keep their statistics under a random pseudonym."""
        c = t.gate_events.c
        result = self._db.execute(
            sa.update(t.gate_events)
            .where(c.person_ref == person_ref)
            .values(person_ref=pseudonym(), credential_id=None)
        )
        self._db.erased_blobs |= result.rowcount > 0
        return int(result.rowcount)
