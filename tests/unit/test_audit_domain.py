"""The audit chain in the domain: chain, entry_hash and verify_chain (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seuil.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditEvent,
    chain,
    entry_hash,
    verify_chain,
)

T0 = datetime(2025, 9, 1, 7, 30, tzinfo=UTC)
FIELDS = ("at", "actor", "action", "target", "reason", "details", "prev_hash", "hash")


def build(events: list[AuditEvent], start: datetime = T0) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i, event in enumerate(events):
        entries.append(chain(entries[-1] if entries else None, start + timedelta(seconds=i), event))
    return entries


def ev(n: int) -> AuditEvent:
    return AuditEvent("cpe.martin", "person.read", f"P-{n}", "contrôle", {"n": n})


def test_first_entry_links_to_genesis() -> None:
    first = chain(None, T0, ev(1))
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert len(first.hash) == 64 and first.hash != GENESIS
    assert first.hash == entry_hash(1, T0, first, GENESIS)


def test_each_entry_links_to_the_previous_hash() -> None:
    entries = build([ev(n) for n in range(5)])
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    for before, after in pairwise(entries):
        assert after.prev_hash == before.hash
    assert verify_chain(entries).ok
    assert verify_chain(entries).entries == 5


def test_empty_chain_is_valid() -> None:
    verdict = verify_chain([])
    assert (verdict.ok, verdict.entries, verdict.first_bad_seq) == (True, 0, None)


def test_the_hash_is_deterministic_and_ignores_details_key_order() -> None:
    a = AuditEvent("x", "y", details={"a": 1, "b": [1, 2]})
    b = AuditEvent("x", "y", details={"b": [1, 2], "a": 1})
    assert entry_hash(1, T0, a, GENESIS) == entry_hash(1, T0, b, GENESIS)


def test_the_hash_covers_the_time_zone_spelling() -> None:
    # Same instant, different isoformat: storage must normalise to UTC before hashing.
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    assert plus_two == T0
    assert entry_hash(1, T0, ev(1), GENESIS) != entry_hash(1, plus_two, ev(1), GENESIS)


def test_chain_copies_details() -> None:
    details = {"n": 1}
    entry = chain(None, T0, AuditEvent("x", "y", details=details))
    details["n"] = 2
    assert entry.details == {"n": 1}
    assert verify_chain([entry]).ok


def test_deleting_the_last_entry_is_invisible_to_the_chain_alone() -> None:
    """Why storage keeps an anchor (the last seq and hash) beside the log."""
    entries = build([ev(n) for n in range(4)])
    assert verify_chain(entries[:-1]).ok


def test_swapping_two_entries_is_detected() -> None:
    entries = build([ev(n) for n in range(4)])
    entries[1], entries[2] = entries[2], entries[1]
    verdict = verify_chain(entries)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 2)


@pytest.mark.parametrize("field", FIELDS)
def test_editing_any_field_is_detected(field: str) -> None:
    entries = build([ev(n) for n in range(4)])
    old = getattr(entries[2], field)
    new: object
    if field == "at":
        new = old + timedelta(microseconds=1)
    elif field == "details":
        new = {**old, "extra": True}
    elif field in ("prev_hash", "hash"):
        new = "f" * 64
    else:
        new = old + "!"
    entries[2] = dataclasses.replace(entries[2], **{field: new})
    verdict = verify_chain(entries)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)


# --- property: any single edit or deletion inside the chain is caught at its place ---

texts = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
events = st.builds(
    AuditEvent,
    actor=texts,
    action=texts,
    target=texts,
    reason=texts,
    details=st.dictionaries(texts, json_values, max_size=4),
)


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[AuditEntry], int, str, object]:
    chain_events = draw(st.lists(events, min_size=1, max_size=8))
    entries = build(chain_events)
    index = draw(st.integers(0, len(entries) - 1))
    field = draw(st.sampled_from(FIELDS))
    old = getattr(entries[index], field)
    if field == "at":
        new: object = old + timedelta(microseconds=draw(st.integers(1, 10**9)))
    elif field == "details":
        new = draw(st.dictionaries(texts, json_values, max_size=4).filter(lambda d: d != old))
    elif field in ("prev_hash", "hash"):
        new = draw(st.text("0123456789abcdef", min_size=64, max_size=64).filter(lambda h: h != old))
    else:
        new = draw(texts.filter(lambda s: s != old))
    return entries, index, field, new


@settings(max_examples=200, deadline=None)
@given(edits())
def test_any_edit_is_caught_at_the_edited_entry(
    case: tuple[list[AuditEntry], int, str, object],
) -> None:
    entries, index, field, new = case
    assert verify_chain(entries).ok
    tampered = list(entries)
    tampered[index] = dataclasses.replace(entries[index], **{field: new})
    verdict = verify_chain(tampered)
    assert not verdict.ok
    assert verdict.first_bad_seq == index + 1, (field, verdict.problem)


@settings(max_examples=200, deadline=None)
@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_any_deletion_but_the_last_is_caught(
    chain_events: list[AuditEvent], data: st.DataObject
) -> None:
    entries = build(chain_events)
    index = data.draw(st.integers(0, len(entries) - 2))
    verdict = verify_chain(entries[:index] + entries[index + 1 :])
    assert (verdict.ok, verdict.first_bad_seq) == (False, index + 1)
    assert "missing" in verdict.problem


@settings(max_examples=100, deadline=None)
@given(st.lists(events, min_size=1, max_size=6))
def test_any_untampered_chain_verifies(chain_events: list[AuditEvent]) -> None:
    entries = build(chain_events)
    verdict = verify_chain(entries)
    assert (verdict.ok, verdict.entries) == (True, len(entries))
