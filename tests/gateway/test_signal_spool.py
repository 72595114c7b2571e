"""The disk spool: real outages of a real PostgreSQL (through a cut proxy) and of SQLite."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from tests.gateway.helpers import NOW, ListSink
from tests.gateway.tcp_proxy import TcpProxy
from tests.storage.conftest import POSTGRES_URL, PostgresSchemas, postgres  # noqa: F401

from seuil.adapters.signal_json import signal_from_json, signal_to_json
from seuil.adapters.signal_spool import SpoolingSink, decode_line, encode_line
from seuil.adapters.signal_table import SqlSignalLog
from seuil.adapters.storage import create_storage_engine
from seuil.domain.errors import ConflictError, StorageUnavailableError
from seuil.domain.incidents import IncidentType, Signal, SignalKind


def sig(n: int, **kw: object) -> Signal:
    fields: dict[str, object] = {
        "source": "mqtt:bouton-1",
        "site": "0830042X",
        "zone": "CDI",
        "code": "panic",
        "raw": json.dumps({"type": "panic", "n": n}),
        "at": NOW + timedelta(seconds=n),
        "type": IncidentType.PANIC,
        "kind": SignalKind.EVENT,
    }
    fields.update(kw)
    return Signal(**fields)  # type: ignore[arg-type]


def down(_s: Signal) -> Exception:
    return StorageUnavailableError("database down")


def test_signal_json_round_trip_keeps_every_field() -> None:
    paris = timezone(timedelta(hours=2))
    s = sig(
        1,
        zone="Bâtiment B / étage 2",
        code="R130",
        raw='\n0042"ADM-CID"\r\x00 é',
        at=datetime(2026, 3, 29, 2, 30, 0, 123456, tzinfo=paris),
        type=IncidentType.INTRUSION,
        kind=SignalKind.RESTORE,
    )
    text = signal_to_json(s)
    assert "\n" not in text
    back = signal_from_json(text)
    assert back == s and back.at.utcoffset() == timedelta(hours=2)
    assert decode_line(encode_line(s)) == s


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"source": "x"}',
        json.dumps({**json.loads(signal_to_json(sig(1))), "at": "2026-03-02T08:15:30"}),
        json.dumps({**json.loads(signal_to_json(sig(1))), "type": "nonsense"}),
        "[" * 5000,
    ],
)
def test_bad_signal_json_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        signal_from_json(text)


def test_spools_during_an_outage_and_drains_in_order(tmp_path: Path) -> None:
    sink = ListSink()
    spool = SpoolingSink(sink, tmp_path / "spool" / "signals.jsonl")
    spool.receive(sig(0))
    sink.fail = down
    for n in range(1, 4):
        spool.receive(sig(n))  # returns normally
    assert spool.pending == 3 and [s.raw for s in sink.signals] == [sig(0).raw]
    assert spool.drain() == 0  # still down: nothing lost, nothing reordered
    sink.fail = lambda _s: None
    spool.receive(sig(4))  # behind the pending ones, not before them
    assert spool.pending == 4
    assert spool.drain() == 4
    spool.receive(sig(5))  # spool empty again: straight to the sink
    assert sink.signals == [sig(n) for n in range(6)]
    assert spool.pending == 0 and spool.path.stat().st_size == 0
    spool.close()


def test_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "signals.jsonl"
    sink = ListSink()
    sink.fail = down
    first = SpoolingSink(sink, path)
    for n in range(3):
        first.receive(sig(n))
    # the database comes back for one signal, then the process dies (no close)
    sink.fail = lambda _s: down(_s) if sink.signals else None
    assert first.drain() == 1
    sink.fail = lambda _s: None
    second = SpoolingSink(sink, path)  # a new process reads the spool at start
    assert second.pending == 2
    assert second.drain() == 2
    assert sink.signals == [sig(0), sig(1), sig(2)]
    first.close()
    second.close()


def test_corrupt_and_torn_lines_are_quarantined_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "signals.jsonl"
    sink = ListSink()
    sink.fail = down
    with SpoolingSink(sink, path) as spool:
        for n in range(4):
            spool.receive(sig(n))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"CDI", b"CDX")  # a flipped byte: checksum mismatch
    lines[2] = b"garbage\n"
    path.write_bytes(b"".join(lines) + encode_line(sig(9))[:25])  # torn last append
    sink.fail = lambda _s: None
    with caplog.at_level(logging.ERROR):
        spool = SpoolingSink(sink, path)
        assert spool.pending == 4
        assert spool.drain() == 2
    assert sink.signals == [sig(0), sig(3)]
    assert spool.quarantined == 3
    reasons = [json.loads(x)["reason"] for x in spool.quarantine_path.read_text().splitlines()]
    assert reasons == ["torn write", "checksum mismatch", "no checksum"]
    assert "quarantined" in caplog.text
    spool.close()


def test_a_signal_the_sink_rejects_for_good_does_not_block_the_rest(tmp_path: Path) -> None:
    sink = ListSink()
    sink.fail = down
    with SpoolingSink(sink, tmp_path / "s.jsonl") as spool:
        spool.receive(sig(0))
        spool.receive(sig(1))
        sink.fail = lambda s: ConflictError("no") if s == sig(0) else None
        assert spool.drain() == 1
        assert sink.signals == [sig(1)] and spool.quarantined == 1


def test_disk_failure_too_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageUnavailableError, match="cannot open the signal spool"):
        SpoolingSink(ListSink(), blocker / "sub" / "s.jsonl")


def test_background_drainer(tmp_path: Path) -> None:
    import time

    sink = ListSink()
    sink.fail = down
    with SpoolingSink(sink, tmp_path / "s.jsonl") as spool:
        spool.start(interval_s=0.05)
        spool.receive(sig(0))
        sink.fail = lambda _s: None
        deadline = time.monotonic() + 5
        while spool.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sink.signals == [sig(0)]


def test_write_ahead_returns_once_on_disk_and_applies_in_order_at_once(tmp_path: Path) -> None:
    import time

    sink = ListSink()
    with SpoolingSink(sink, tmp_path / "s.jsonl", write_ahead=True) as spool:
        spool.receive(sig(0))
        assert sink.signals == [] and spool.pending == 1  # on disk, not yet applied
        spool.start(interval_s=30)  # woken by each signal, not by the timer
        for n in range(1, 20):
            spool.receive(sig(n))
        deadline = time.monotonic() + 5
        while spool.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.signals == [sig(n) for n in range(20)]


def test_write_ahead_keeps_signals_through_an_outage_and_a_restart(tmp_path: Path) -> None:
    import time

    sink = ListSink()
    sink.fail = down
    with SpoolingSink(sink, tmp_path / "s.jsonl", write_ahead=True) as spool:
        spool.start(interval_s=0.05)
        for n in range(5):
            spool.receive(sig(n))
        time.sleep(0.2)
        assert spool.pending == 5 and sink.signals == []
    sink.fail = lambda _s: None  # the database is back, the process restarted
    with SpoolingSink(sink, tmp_path / "s.jsonl", write_ahead=True) as spool:
        assert spool.pending == 5
        spool.drain()
    assert sink.signals == [sig(n) for n in range(5)]


# ------------------------------------------------------------------ real outages


def _apply_outage(spool: SpoolingSink, log: SqlSignalLog, cut: object, restore: object) -> None:
    for n in range(3):
        spool.receive(sig(n))
    assert spool.pending == 0 and log.count() == 3
    cut()  # type: ignore[operator]
    for n in range(3, 8):
        spool.receive(sig(n))  # returns normally: spooled
    assert spool.pending == 5
    assert spool.drain() == 0
    with pytest.raises(StorageUnavailableError):
        log.count()
    restore()  # type: ignore[operator]
    assert spool.drain() == 5
    spool.receive(sig(8))
    stored = log.signals()
    assert [json.loads(s.raw)["n"] for s in stored] == list(range(9))  # in order, exactly once
    assert [s.at for s in stored] == [sig(n).at for n in range(9)]
    assert spool.pending == 0 and spool.quarantined == 0


@pytest.fixture
def pg_schema(postgres: PostgresSchemas) -> Iterator[str]:  # noqa: F811
    schema, _ = postgres.create()
    yield schema
    postgres.drop(schema)


def test_real_postgresql_outage_through_a_cut_proxy(pg_schema: str, tmp_path: Path) -> None:
    upstream = make_url(POSTGRES_URL)
    proxy = TcpProxy((upstream.host or "127.0.0.1", upstream.port or 5432))
    url = upstream.set(host="127.0.0.1", port=proxy.port).update_query_dict(
        {"options": f"-csearch_path={pg_schema}"}
    )
    engine = create_storage_engine(url.render_as_string(hide_password=False), connect_timeout=2)
    try:
        log = SqlSignalLog(engine)
        log.create()
        with SpoolingSink(log, tmp_path / "pg.jsonl") as spool:
            _apply_outage(spool, log, proxy.cut, proxy.restore)
    finally:
        engine.dispose()
        proxy.close()


def test_real_sqlite_outage_when_the_file_goes_away(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    engine = sa.create_engine(f"sqlite:///{folder / 'site.sqlite3'}", poolclass=NullPool)
    log = SqlSignalLog(engine)
    log.create()
    moved = tmp_path / "db-away"
    with SpoolingSink(log, tmp_path / "spool.jsonl") as spool:
        _apply_outage(spool, log, lambda: folder.rename(moved), lambda: moved.rename(folder))
    engine.dispose()
