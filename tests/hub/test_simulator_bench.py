"""The region simulator (the bench's input) and a small `seuil bench hub` end to end."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from tests.storage.conftest import POSTGRES_URL

from seuil.domain.hub import Envelope, EventKind
from seuil.hub.simulator import DAY_START, percentile, region, site_day


def test_the_region_has_the_issues_size() -> None:
    sites = region()
    assert len(sites) == 173 and len({s.id for s in sites}) == 173
    assert sum(s.cameras for s in sites) == 1757
    assert 950 <= sum(s.pupils for s in sites) / 173 <= 1050


def test_a_site_day_is_a_realistic_stream_in_the_real_protocol() -> None:
    stream = site_day(region(5)[0])
    assert [e.seq for e in stream.events] == list(range(1, len(stream.events) + 1))
    assert all(a.occurred_at <= b.occurred_at for a, b in itertools.pairwise(stream.events))
    kinds = Counter(e.kind for e in stream.events)
    assert kinds[EventKind.HEARTBEAT] == 660 and kinds[EventKind.DEVICE_HEALTH] == 132
    counts = [e.body for e in stream.events if e.kind is EventKind.GATE_COUNTS]
    entries = sum(b["grant"] + b["deny"] + b["refer"] for b in counts)
    assert 0.9 * stream.site.pupils <= entries <= 1.5 * stream.site.pupils
    morning = sum(
        b["grant"] for b in counts if b["interval_start"] < (DAY_START.replace(hour=7)).isoformat()
    )
    assert morning > 0.85 * stream.site.pupils  # the morning entry (07:00-09:00 local)
    denials = [e for e in stream.events if e.kind is EventKind.GATE_DENIAL]
    assert all(e.body["person"].startswith("ps_") for e in denials)
    # Every event passes the hub's own parsing (the same allow-list).
    assert all(Envelope.from_wire(e.to_wire()) == e for e in stream.events)


def test_percentile() -> None:
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_bench_hub_small_run_on_postgresql(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("postgres")  # skips (or fails in CI) without PostgreSQL
    from seuil.cli.bench_hub import print_hub_report, run_hub_bench

    report = run_hub_bench(
        POSTGRES_URL,
        sites=3,
        cameras=30,
        pupils=200,
        senders=2,
        workers=2,  # two uvicorn processes: the live board hears both (LISTEN/NOTIFY)
        probes=1,
        probe_every_s=0.3,
        board_requests=3,
        echo=lambda _: None,
    )
    lines: list[str] = []
    print_hub_report(report, lines.append)
    assert report["ingest"]["errors"] == []
    assert report["ingest"]["events"] == report["day_events"] > 0
    assert report["exactly_once"] is True
    assert (
        report["latency_site_to_board"]["seen"] == report["latency_site_to_board"]["incidents"] > 0
    )
    assert report["stored_events"] == report["day_events"] + report["probe_events"]
    # Two hub processes: the live board, held by one, heard every probe incident
    # (whichever process stored it) and re-read its page.
    latency = report["latency_site_to_board"]
    assert latency["pushed"] == latency["incidents"]
    assert 0 < latency["push_p95_s"] <= latency["page_p95_s"] < 5
    assert any("tableau en direct (SSE)" in line for line in lines)
    assert any("évts/s" in line for line in lines)
