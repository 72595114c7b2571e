"""The tamper-evident audit trail: each entry holds the hash of the one before it.

Standard library only. An entry's hash covers its sequence number, time, actor,
action, target, reason, details and the previous entry's hash, so editing or deleting
any entry breaks every hash after it; :func:`verify_chain` finds the first break.
Entries name people only by pseudonymous reference and never hold images, templates
or secrets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seuil.domain.audit_actions import AuditAction

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened, before it is placed in the chain."""

    actor: str  # account name, "system", "roster-sync", a device id
    action: AuditAction  # one of the enumeration: pages give each one words
    target: str = ""  # a pseudonymous ref or an object id
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    reason: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(seq: int, at: datetime, event: AuditEvent | AuditEntry, prev_hash: str) -> str:
    body = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": event.actor,
            "action": event.action,
            "target": event.target,
            "reason": event.reason,
            "details": event.details,
            "prev": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def chain(prev: AuditEntry | None, at: datetime, event: AuditEvent) -> AuditEntry:
    """The next entry after ``prev`` (None for the first entry)."""
    seq = prev.seq + 1 if prev else 1
    prev_hash = prev.hash if prev else GENESIS
    return AuditEntry(
        seq, at, event.actor, str(event.action), event.target, event.reason, dict(event.details),
        prev_hash, entry_hash(seq, at, event, prev_hash),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(
    entries: Iterable[AuditEntry], start_seq: int = 0, start_hash: str = GENESIS
) -> ChainVerdict:
    """Check sequence continuity, links and hashes, in order of ``seq``.

    ``start_seq``/``start_hash`` are the last entry before ``entries`` (a purge
    checkpoint, when retention deleted the oldest entries): the chain resumes there.
    """
    prev_hash = start_hash
    expected = start_seq + 1
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected:
            return ChainVerdict(False, count, expected, f"entry {expected} is missing")
        if entry.prev_hash != prev_hash:
            return ChainVerdict(False, count, entry.seq, "link to the previous entry broken")
        if entry_hash(entry.seq, entry.at, entry, entry.prev_hash) != entry.hash:
            return ChainVerdict(False, count, entry.seq, "entry content was changed")
        prev_hash = entry.hash
        expected += 1
    return ChainVerdict(True, count)
