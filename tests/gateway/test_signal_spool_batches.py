"""The spool drains into a batch sink (the incident engine) up to N signals per call,
and lets them go only once the batch is committed; a refused batch is retried one
signal at a time so only the bad one is quarantined."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from tests.gateway.helpers import ListSink
from tests.gateway.test_signal_spool import sig

from seuil.adapters.signal_spool import SpoolingSink, decode_line, encode_line
from seuil.bootstrap import build_site
from seuil.domain.errors import ConflictError, StorageUnavailableError
from seuil.domain.incidents import Signal
from seuil.ports.storage import IncidentQuery
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings


class BatchSink(ListSink):
    """Takes batches all or nothing; ``fail_batch`` makes a batch fail before any of it."""

    def __init__(self, on_batch: Callable[[Sequence[Signal]], None] = lambda _b: None) -> None:
        super().__init__()
        self.batches: list[int] = []  # sizes of the batches accepted
        self.one_by_one = 0
        self.fail_batch: Callable[[Sequence[Signal]], Exception | None] = lambda _b: None
        self._on_batch = on_batch

    def receive(self, signal: Signal) -> None:
        super().receive(signal)
        self.one_by_one += 1

    def receive_many(self, signals: Sequence[Signal]) -> list[None]:
        self._on_batch(signals)
        error = self.fail_batch(signals)
        if error is None:
            error = next((e for e in map(self.fail, signals) if e is not None), None)
        if error is not None:
            raise error
        self.signals.extend(signals)
        self.batches.append(len(signals))
        return [None] * len(signals)


def _spooled(tmp_path: Path, sink: ListSink, count: int, batch: int) -> SpoolingSink:
    spool = SpoolingSink(sink, tmp_path / "s.jsonl", write_ahead=True, batch=batch)
    for n in range(count):
        spool.receive(sig(n))
    assert spool.pending == count and sink.signals == []
    return spool


def test_a_backlog_is_applied_in_batches_in_order(tmp_path: Path) -> None:
    sink = BatchSink()
    with _spooled(tmp_path, sink, 45, batch=20) as spool:
        assert spool.drain() == 45
        assert sink.batches == [20, 20, 5] and sink.one_by_one == 0
        assert sink.signals == [sig(n) for n in range(45)]
        assert spool.pending == 0 and spool.path.stat().st_size == 0


def test_a_sink_without_batches_still_gets_one_signal_at_a_time(tmp_path: Path) -> None:
    sink = ListSink()
    with _spooled(tmp_path, sink, 5, batch=20) as spool:
        assert spool.drain() == 5
        assert sink.signals == [sig(n) for n in range(5)]


def test_signals_leave_the_spool_only_after_their_batch_committed(tmp_path: Path) -> None:
    seen: list[tuple[int, str]] = []
    path = tmp_path / "s.jsonl"
    offset = path.with_name("s.jsonl.offset")

    def on_batch(signals: Sequence[Signal]) -> None:
        seen.append((spool.pending, offset.read_text().strip() if offset.exists() else "0"))

    sink = BatchSink(on_batch)
    spool = _spooled(tmp_path, sink, 10, batch=4)
    sink.fail_batch = lambda b: StorageUnavailableError("down") if b[0] == sig(4) else None
    assert spool.drain() == 4  # the second batch failed: it stays, first in line
    assert spool.pending == 6 and sink.batches == [4]
    first_line = len(encode_line(sig(0)))
    assert seen[0] == (10, "0")  # while the first batch is applied, all 10 are still here
    assert seen[1][0] == 6 and int(seen[1][1]) >= 4 * first_line  # after its commit only
    # The process dies here; a new one resumes from the offset: nothing lost, no repeat.
    sink.fail_batch = lambda _b: None
    again = SpoolingSink(sink, path, write_ahead=True, batch=4)
    assert again.pending == 6 and again.drain() == 6
    assert sink.signals == [sig(n) for n in range(10)] and sink.batches == [4, 4, 2]
    again.close()
    spool.close()


def test_a_refused_batch_falls_back_to_one_by_one_and_quarantines_only_the_bad_signal(
    tmp_path: Path,
) -> None:
    sink = BatchSink()
    sink.fail = lambda s: ConflictError("no") if s == sig(6) else None
    with _spooled(tmp_path, sink, 12, batch=5) as spool:
        assert spool.drain() == 11
        assert sink.batches == [5, 2] and sink.one_by_one == 4  # sig(5)..sig(9) one by one
        assert sink.signals == [sig(n) for n in range(12) if n != 6]
        assert spool.quarantined == 1 and spool.pending == 0
        (entry,) = [json.loads(x) for x in spool.quarantine_path.read_text().splitlines()]
        assert entry["reason"] == "sink refused: ConflictError"
        assert decode_line(entry["line"].encode()) == sig(6)


def test_an_unreadable_line_splits_the_batch(tmp_path: Path) -> None:
    sink = BatchSink()
    path = tmp_path / "s.jsonl"
    _spooled(tmp_path, sink, 8, batch=10).close()
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b"garbage\n"
    path.write_bytes(b"".join(lines))
    with SpoolingSink(sink, path, write_ahead=True, batch=10) as spool:
        assert spool.drain() == 7
        assert sink.batches == [3, 4] and spool.quarantined == 1
        assert sink.signals == [sig(n) for n in range(8) if n != 3]


def test_the_real_engine_drains_a_backlog_in_batches(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(
        Settings(
            site=SiteSettings(id="0830042X", name="Lycée test"),
            database=StorageSettings(url=f"sqlite:///{tmp_path / 'site.sqlite3'}"),
            keys=KeySettings(dir=tmp_path / "keys"),
        )
    )
    calls: list[int] = []
    engine = site.incidents
    receive_many = engine.receive_many

    def counting(signals: Sequence[Signal]) -> object:
        calls.append(len(signals))
        return receive_many(signals)

    monkeypatch.setattr(engine, "receive_many", counting)
    # Three buttons pressed again and again, one every 2 s: three incidents.
    signals = [sig(2 * n, source=f"mqtt:bouton-{n % 3}", zone=f"z{n % 3}") for n in range(250)]
    path = tmp_path / "s.jsonl"
    with SpoolingSink(engine, path, write_ahead=True, batch=100) as spool:
        for s in signals:
            spool.receive(s)
        assert spool.drain() == 250
    assert calls == [100, 100, 50]
    found = engine.search(IncidentQuery(limit=10))
    assert sorted(len(i.signals) for i in found) == [83, 83, 84]
    # A power cut lost the offset: the whole backlog is handed over again, and ignored.
    path.write_bytes(b"".join(encode_line(s) for s in signals))
    with SpoolingSink(engine, path, write_ahead=True, batch=100) as spool:
        assert spool.drain() == 250
    assert sorted(len(i.signals) for i in engine.search(IncidentQuery(limit=10))) == [83, 83, 84]
    site.close()


@pytest.mark.parametrize("batch", [0, -3])
def test_a_batch_size_below_one_means_one(tmp_path: Path, batch: int) -> None:
    sink = BatchSink()
    with _spooled(tmp_path, sink, 3, batch=batch) as spool:
        assert spool.drain() == 3 and sink.batches == [] and sink.one_by_one == 3


def test_concurrent_appends_share_fsyncs_and_each_returns_once_on_disk(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Group commit: panels answered in parallel do not wait for one fsync each."""
    import os
    import threading
    import time

    from seuil.adapters import signal_spool

    path = tmp_path / "s.jsonl"
    durable: list[int] = []  # the file size each fsync made durable
    real_fsync = os.fsync

    first_lines_written = threading.Event()
    armed = False  # from the first signal on (not the spool's own directory fsync)

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        deadline = time.monotonic() + 10
        while (
            armed and not durable and time.monotonic() < deadline
        ):  # the first fsync is slow until
            if path.read_bytes().count(b"\n") >= 8:  # every panel has written a line, so
                first_lines_written.set()  # the next one must cover several panels
                break
            time.sleep(0.005)
        time.sleep(0.02)  # a slow disk
        real_fsync(fd)
        durable.append(size)

    monkeypatch.setattr(signal_spool.os, "fsync", slow_fsync)
    sink = BatchSink()
    spool = SpoolingSink(sink, path, write_ahead=True)
    durable.clear()
    armed = True
    late: list[Signal] = []

    def panel(k: int) -> None:
        for n in range(5):
            signal = sig(100 * k + n)
            spool.receive(signal)
            on_disk = path.read_bytes()[: max(durable, default=0)]
            if encode_line(signal) not in on_disk:
                late.append(signal)

    threads = [threading.Thread(target=panel, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert late == []  # none returned before an fsync covered it
    assert spool.pending == 40 and spool.spooled == 40
    assert first_lines_written.is_set()
    assert spool.fsyncs == len(durable)
    content = path.read_bytes()
    lines_durable = [content[:size].count(b"\n") for size in durable]
    per_fsync = [b - a for a, b in zip([0, *lines_durable], lines_durable, strict=False)]
    # The fsync after the held first one covers the lines the other panels wrote meanwhile
    # (a count that does not depend on how the machine schedules the threads).
    assert max(per_fsync) >= 7 and spool.fsyncs <= 34  # shared, not 40
    spool.close()
