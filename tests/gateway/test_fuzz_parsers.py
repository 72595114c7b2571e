"""Seed-sized property-based fuzzing of the device parsers (the 100,000-input run is
``benchmarks/fuzz_gateway.py``): no crash, no hang, every bad input refused with a reason.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.gateway.helpers import NOW, FixedClock

from seuil.adapters.mqtt_devices.payloads import PayloadError, parse_event, parse_state
from seuil.adapters.sia import SiaAccount, SiaReceiver
from seuil.adapters.signal_spool import decode_line
from seuil.cli.sia_sender import make_body, make_frame
from seuil.domain.incidents import Signal

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["panic", "call", "fire", "x", "", "Panic", "a" * 40])},
    optional={
        "zone": st.text(max_size=70),
        "at": st.sampled_from(["2026-03-02T08:15:00Z", "bad", "2026-03-02T08:15:00", ""]),
        "restore": json_values,
        "extra": json_values,
        "id": json_values,
        "other": json_values,
    },
)


def _parse(payload: bytes) -> Signal | PayloadError:
    started = time.perf_counter()
    try:
        return parse_event("bouton-1", payload, site="S", received_at=NOW)
    except PayloadError as exc:
        assert exc.reason  # a stable reason for the log and the rejected topic
        return exc
    finally:
        assert time.perf_counter() - started < 0.5  # no pathological slowness


@FAST
@given(st.binary(max_size=5000))
def test_mqtt_parser_random_bytes(data: bytes) -> None:
    _parse(data)


@FAST
@given(json_values)
def test_mqtt_parser_any_json(value: object) -> None:
    result = _parse(json.dumps(value).encode())
    assert isinstance(result, PayloadError) or isinstance(value, dict)


@FAST
@given(event_like)
def test_mqtt_parser_event_shaped_json(value: dict[str, object]) -> None:
    result = _parse(json.dumps(value).encode())
    if isinstance(result, Signal):
        assert result.code == value["type"] and result.raw == json.dumps(value)


@FAST
@given(st.integers(0, 40), st.binary(min_size=1, max_size=6))
def test_mqtt_parser_mutated_valid_event(pos: int, patch: bytes) -> None:
    good = b'{"type":"panic","zone":"CDI","at":"2026-03-02T08:15:00Z"}'
    _parse(good[:pos] + patch + good[pos + len(patch) :])
    with contextlib.suppress(PayloadError):
        parse_state("b", good[:pos] + patch + good[pos + len(patch) :])


def test_mqtt_parser_known_nasties() -> None:
    for data in [b"[" * 4000, b'{"a":' * 1300 + b"1" + b"}" * 1300, b'{"type":NaN}', b"\x00"]:
        assert isinstance(_parse(data), PayloadError)


@FAST
@given(st.binary(max_size=400))
def test_spool_line_decoder_never_crashes(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        decode_line(data)


# --------------------------------------- bad SIA frames over real TCP: one NAK each

GOOD_BODY = make_body("ADM-CID", "#1234|1130 01 015", at=NOW)


@pytest.fixture(scope="module")
def sia_server():  # type: ignore[no-untyped-def]
    import asyncio
    import threading

    receiver = SiaReceiver([SiaAccount("1234", "S")], lambda _s: None, FixedClock())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    servers: list[asyncio.Server] = []

    async def start() -> None:
        server = await receiver.start_tcp("127.0.0.1", 0)
        servers.append(server)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()

    async def finish() -> None:
        servers[0].close()
        await servers[0].wait_closed()
        for _ in range(100):  # the connection's handler ends once the client has closed
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if not tasks:
                return
            await asyncio.sleep(0.01)

    def run() -> None:
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5)
    conn = socket.create_connection(("127.0.0.1", port[0]), timeout=5)
    yield receiver, conn
    conn.close()
    asyncio.run_coroutine_threadsafe(finish(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _answer(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r"):
        chunk = conn.recv(4096)
        assert chunk, "the receiver closed the connection"
        data += chunk
    return data


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(GOOD_BODY) + 9), st.integers(0, 7)),
    st.tuples(st.just("cut"), st.integers(1, len(GOOD_BODY) + 8), st.just(0)),
    st.tuples(st.just("crc"), st.integers(0, 0xFFFF), st.just(0)),
    st.tuples(st.just("len"), st.integers(0, 0xFFFF), st.just(0)),
)


def _mutate(kind: str, a: int, b: int) -> bytes:
    good = make_frame(GOOD_BODY)
    inner = bytearray(good[1:-1])
    if kind == "flip":
        inner[a % len(inner)] ^= 1 << b
    elif kind == "cut":
        inner = inner[:a]
    elif kind == "crc":
        return make_frame(GOOD_BODY, crc=a)
    else:
        return make_frame(GOOD_BODY, length=a)
    return b"\n" + bytes(inner).replace(b"\r", b"\x0e").replace(b"\n", b"\x0e") + b"\r"


def _still_valid(data: bytes) -> bool:
    good = make_frame(GOOD_BODY)[1:-1]
    inner = data[1:-1]
    try:
        same_head = int(inner[:4], 16) == int(good[:4], 16) and int(inner[4:8], 16) == int(
            good[4:8], 16
        )
    except ValueError:
        return False
    return same_head and inner[8:] == good[8:] and inner[4:5] == b"0"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutation)
def test_every_bad_sia_frame_is_naked_over_tcp(sia_server, kind_a_b) -> None:  # type: ignore[no-untyped-def]
    receiver, conn = sia_server
    data = _mutate(*kind_a_b)
    before = sum(receiver.rejected.values())
    logger = logging.getLogger("seuil.adapters.sia.receiver")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        conn.sendall(data)
        reply = _answer(conn)
    finally:
        logger.removeHandler(handler)
    verdict = reply.split(b'"')[1]
    if _still_valid(data):  # e.g. the CRC set to its true value, or a hex digit's case
        assert verdict == b"ACK"
        return
    assert verdict == b"NAK"
    assert sum(receiver.rejected.values()) == before + 1
    assert receiver.rejected["internal_error"] == 0
    assert any("refused" in r.getMessage() for r in records)


def test_good_frame_is_acked_over_tcp(sia_server) -> None:  # type: ignore[no-untyped-def]
    _receiver, conn = sia_server
    conn.sendall(make_frame(GOOD_BODY))
    assert _answer(conn).split(b'"')[1] == b"ACK"
