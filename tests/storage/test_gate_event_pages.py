"""Keyset pages of gate events (``/api/v1/gate-events?after=``), on SQLite and
PostgreSQL: the pages put together are exactly the offset listing, ties in time
included, and an event arriving between two pages neither repeats nor hides a row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from tests.storage.conftest import T0

from seuil.adapters.storage import SqlUnitOfWork
from seuil.domain.errors import DataFormatError
from seuil.domain.gate import Decision, GateDecision


def _walk(uow: Callable[..., SqlUnitOfWork], gate: str | None, size: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        with uow() as u:
            items, cursor = u.gate_events.page(gate, size, cursor)
        seen += [f"{d.gate_id}/{d.credential_id}" for d in items]
        if cursor is None:
            return seen


def test_keyset_pages_match_the_offset_listing(uow: Callable[..., SqlUnitOfWork]) -> None:
    with uow() as u:
        for n in range(23):  # three events per second: ties in time within a gate
            at = T0 + timedelta(seconds=n // 3)
            u.gate_events.add(GateDecision("nord" if n % 2 else "sud", at, Decision.GRANT,
                                           credential_id=f"c{n:02d}"))  # fmt: skip
        u.commit()
    with uow() as u:
        everything = [f"{d.gate_id}/{d.credential_id}" for d in u.gate_events.recent(None, 100)]
        north = [f"{d.gate_id}/{d.credential_id}" for d in u.gate_events.recent("nord", 100)]
    assert len(everything) == 23 and len(north) == 11
    assert _walk(uow, None, 5) == everything
    assert _walk(uow, "nord", 4) == north
    assert _walk(uow, "nord", 11) == north  # an exact last page: no empty page after it

    with uow() as u:
        first, cursor = u.gate_events.page("nord", 4)
        u.gate_events.add(GateDecision("nord", T0 + timedelta(hours=1), Decision.GRANT,
                                       credential_id="late"))  # fmt: skip
        u.commit()
    with uow() as u:
        second, _ = u.gate_events.page("nord", 4, cursor)
    assert [d.credential_id for d in first + second] == [n.split("/")[1] for n in north[:8]]

    for bad in ("12.x", "9" * 40, "12." + "9" * 40, "x"):
        with uow() as u, pytest.raises(DataFormatError):
            u.gate_events.page("nord", 4, bad)
