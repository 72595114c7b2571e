"""The hub link's tables on the site: the outbox, its state row and the inbox.

:class:`SqlOutbox` is what use cases see as ``uow.outbox`` (the port
:class:`~seuil.ports.hub_link.Outbox`), plus what the forwarder needs: the pending
events in order, marking them sent on the hub's acknowledgement, the backlog, and the
gate-count intervals. Sequence numbers come from ``hub_link_state.last_seq`` updated
in the writer's own transaction: the row lock makes them gap-free and in commit order
(a rolled-back transaction gives its number back), so "in order" on the wire is the
order in which the site committed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.hub import (
    Envelope,
    EventKind,
    HubMessage,
    Pseudonymizer,
    gate_counts_body,
    new_idempotency_key,
)

logger = logging.getLogger(__name__)
_INSERT_EVENT = sa.insert(t.hub_outbox)  # built once, values bound at execution: compiled once


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    """Set when the site has a hub link: who we are, how people are pseudonymised."""

    site_id: str
    pseudonymizer: Pseudonymizer
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def _dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(dict(body), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _floor(at: datetime, interval_s: int) -> datetime:
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % interval_s, UTC)


class SqlOutbox:
    def __init__(self, db: Db, config: OutboxConfig | None) -> None:
        self._db = db
        self._config = config

    # -- the port ------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._config is not None

    def pseudonym(self, value: str) -> str:
        if self._config is None:
            raise RuntimeError("no hub link: nothing is pseudonymised for it")
        return self._config.pseudonymizer(value)

    def add(
        self, kind: EventKind, occurred_at: datetime, body: Mapping[str, Any]
    ) -> Envelope | None:
        if self._config is None:
            return None
        envelope = Envelope(
            self._config.site_id, self._next_seq(), new_idempotency_key(), kind, occurred_at,
            body,
        )  # fmt: skip  # the envelope checks the body against the allow-list
        self._db.execute(_INSERT_EVENT, [{
            "seq": envelope.seq, "key": envelope.key, "kind": envelope.kind.value,
            "occurred_at": occurred_at, "body": _dumps(envelope.body),
            "created_at": self._config.now(), "sent_at": None,
        }])  # fmt: skip
        return envelope

    # -- the forwarder's side ----------------------------------------------------------

    def pending(self, limit: int) -> list[Envelope]:
        """The oldest unsent events, in sequence order."""
        if self._config is None:
            return []
        o = t.hub_outbox
        rows = self._db.execute(
            sa.select(o).where(o.c.sent_at.is_(None)).order_by(o.c.seq).limit(limit)
        )
        return [
            Envelope(self._config.site_id, row.seq, row.key, EventKind(row.kind),
                     row.occurred_at, json.loads(row.body))
            for row in rows
        ]  # fmt: skip

    def mark_sent(self, seqs: Sequence[int], at: datetime) -> int:
        if not seqs:
            return 0
        o = t.hub_outbox
        done = 0
        for start in range(0, len(seqs), 500):
            chunk = list(seqs[start : start + 500])
            result = self._db.execute(
                sa.update(o).where(o.c.seq.in_(chunk), o.c.sent_at.is_(None)).values(sent_at=at)
            )
            done += result.rowcount
        return done

    def backlog(self) -> int:
        o = t.hub_outbox
        return int(
            self._db.execute(
                sa.select(sa.func.count()).select_from(o).where(o.c.sent_at.is_(None))
            ).scalar_one()
        )

    def purge_sent(self, before: datetime) -> int:
        """Forget events the hub acknowledged before ``before`` (retention)."""
        o = t.hub_outbox
        return self._db.execute(
            sa.delete(o).where(o.c.sent_at.is_not(None), o.c.sent_at < before)
        ).rowcount

    def add_gate_counts(self, now: datetime, interval_s: int = 60) -> int:
        """Report every closed interval of gate decisions not reported yet: one
        ``gate.counts`` event per gate and interval, in this same transaction."""
        if self._config is None:
            return 0
        state = self._state(lock=True)
        until = _floor(now, interval_s)
        since = state.counts_until if state is not None else None
        g = t.gate_events
        if since is None:
            first = self._db.execute(sa.select(sa.func.min(g.c.at))).scalar_one()
            if first is None:
                self._set_state(counts_until=until)
                return 0
            since = _floor(first if first.tzinfo else first.replace(tzinfo=UTC), interval_s)
        if since >= until:
            return 0
        rows = self._db.execute(
            sa.select(g.c.gate_id, g.c.at, g.c.decision)
            .where(g.c.at >= since, g.c.at < until)
            .order_by(g.c.at)
        )
        counts: dict[tuple[datetime, str], dict[str, int]] = {}
        for row in rows:
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
            slot = counts.setdefault(
                (_floor(at, interval_s), row.gate_id), {"grant": 0, "deny": 0, "refer": 0}
            )
            slot[row.decision] += 1
        for (start, gate_id), c in sorted(counts.items()):
            body = gate_counts_body(gate_id, start, interval_s, c["grant"], c["deny"], c["refer"])
            self.add(EventKind.GATE_COUNTS, start + timedelta(seconds=interval_s), body)
        self._set_state(counts_until=until)
        return len(counts)

    # -- state row -----------------------------------------------------------------------

    def _ensure_state(self) -> None:  # also used by the inbox
        values = {"id": 1, "last_seq": 0, "counts_until": None, "last_message_id": 0}
        insert: Any = (postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert)(
            t.hub_link_state
        )
        self._db.execute(insert.values(**values).on_conflict_do_nothing())

    def _state(self, *, lock: bool = False) -> sa.Row[Any] | None:
        query = sa.select(t.hub_link_state).where(t.hub_link_state.c.id == 1)
        if lock and self._db.dialect == "postgresql":
            self._ensure_state()
            query = query.with_for_update()
        return self._db.execute(query).first()

    def _set_state(self, **values: Any) -> None:
        self._ensure_state()
        self._db.execute(
            sa.update(t.hub_link_state).where(t.hub_link_state.c.id == 1).values(**values)
        )

    def _next_seq(self) -> int:
        s = t.hub_link_state
        bump = (
            sa.update(s).where(s.c.id == 1).values(last_seq=s.c.last_seq + 1)
            .returning(s.c.last_seq)
        )  # fmt: skip
        seq = self._db.execute(bump).scalar()
        if seq is None:
            self._ensure_state()
            seq = self._db.execute(bump).scalar_one()
        return int(seq)


class SqlHubInbox:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, messages: Sequence[HubMessage], received_at: datetime) -> int:
        """Store the messages not seen yet; returns how many were new."""
        known = {
            row[0]
            for row in self._db.execute(
                sa.select(t.hub_inbox.c.id).where(t.hub_inbox.c.id.in_([m.id for m in messages]))
            )
        } if messages else set()  # fmt: skip
        new = [m for m in messages if m.id not in known]
        for m in new:
            self._db.execute(
                sa.insert(t.hub_inbox).values(
                    id=m.id, kind=m.kind.value, site=m.site, at=m.at, body=_dumps(m.body),
                    received_at=received_at,
                )
            )  # fmt: skip
        if messages:
            top = max(m.id for m in messages)
            SqlOutbox(self._db, None)._ensure_state()
            s = t.hub_link_state
            self._db.execute(
                sa.update(s).where(s.c.id == 1, s.c.last_message_id < top)
                .values(last_message_id=top)
            )  # fmt: skip
        return len(new)

    def last_id(self) -> int:
        s = t.hub_link_state
        value = self._db.execute(sa.select(s.c.last_message_id).where(s.c.id == 1)).scalar()
        return int(value or 0)

    def recent(self, limit: int = 50) -> list[HubMessage]:
        i = t.hub_inbox
        rows = self._db.execute(sa.select(i).order_by(i.c.id.desc()).limit(limit))
        return [
            HubMessage(row.id, row.kind, row.site, row.at, json.loads(row.body)) for row in rows
        ]
