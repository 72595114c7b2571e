"""`seuil bench web` on a small site: every page and operation answers 200 and every
gate decision reaches the connected screen (the full-size numbers: docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from seuil.cli.bench_web import PAGES, run_web_bench


def test_small_web_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    report = run_web_bench(pupils=30, events=300, requests=2, sse_events=5, log=lambda _: None)
    assert [o["path"] for o in report["operations"]] == [p for _, p in PAGES]
    assert report["sse"]["received"] == 5 and report["sse"]["lost"] == 0
    assert report["p95_page_ms_max"] > 0 and report["p95_api_ms_max"] > 0
