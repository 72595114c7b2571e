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
from collections.abc import Callable, Collection, Iterable, Mapping
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


# -- anchors kept off the site (the regional hub) ------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The chain's head: the last entry's seq and hash, and how many entries are kept."""

    seq: int
    hash: str
    entries: int


@dataclass(frozen=True, slots=True)
class AnchorVerdict:
    """The chain against the heads it had when they were sent off the site.

    ``rewritten_seq``: the first anchored entry that no longer hashes to the anchored
    value (or no longer exists): the chain was rewritten or cut since. ``purged``:
    anchors older than the retention checkpoint, whose entries are gone (not checkable,
    not tampering). ``purged_too_early``: the checkpoint lies past an anchor sent within
    the shortest lawful audit retention period, so the "purge" is a forgery (then
    ``rewritten_seq`` is that anchor's seq). ``unavailable``: why the anchors could not
    be read (no check done).
    """

    checked: int = 0
    purged: int = 0
    rewritten_seq: int | None = None
    anchored_hash: str = ""
    unavailable: str = ""
    purged_too_early: bool = False

    @property
    def rewritten(self) -> bool:
        return self.rewritten_seq is not None


def check_anchors(
    anchors: Iterable[tuple[int, str, datetime]],
    hashes: Callable[[Collection[int]], Mapping[int, str]],
    checkpoint_seq: int = 0,
    checkpoint_hash: str = GENESIS,
    purgeable_before: datetime | None = None,
) -> AnchorVerdict:
    """Check each anchor ``(seq, hash, at)``: the entry ``seq`` must still hash to ``hash``.

    ``hashes(seqs)`` gives the stored hash of each entry that exists. An anchor at or
    before the retention checkpoint: the checkpoint's own entry is compared with the
    checkpoint's hash, earlier ones are counted as purged. Seq 0 is the empty chain.

    ``purgeable_before``: no entry written since then can have been purged lawfully
    (now minus the shortest audit retention the settings allow). An anchor sent at
    ``at`` with the head at ``seq`` below the checkpoint proves the checkpoint's entry
    was written after ``at``; if ``at`` is later than ``purgeable_before``, the purge is
    a forgery (entries deleted, the chain recomputed, a matching ``audit.purge``
    appended), not retention.
    """
    listed = list(anchors)
    wanted = sorted({(seq, digest) for seq, digest, _ in listed})
    if purgeable_before is not None and checkpoint_seq > 0:
        early = [(seq, digest) for seq, digest, at in listed
                 if 0 < seq < checkpoint_seq and at > purgeable_before]  # fmt: skip
        if early:
            seq, digest = max(early)
            return AnchorVerdict(0, 0, seq, digest, purged_too_early=True)
    found = hashes([seq for seq, _ in wanted if seq > checkpoint_seq])
    checked = purged = 0
    for seq, digest in wanted:
        if seq == 0:
            expected: str | None = GENESIS
        elif seq < checkpoint_seq:
            purged += 1
            continue
        elif seq == checkpoint_seq:
            expected = checkpoint_hash
        else:
            expected = found.get(seq)
        if expected != digest:
            return AnchorVerdict(checked, purged, seq, digest)
        checked += 1
    return AnchorVerdict(checked, purged)
