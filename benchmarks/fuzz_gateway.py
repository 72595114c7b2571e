"""Fuzz the device parsers: SIA DC-09 frames and MQTT/webhook event payloads.

Usage::

    python benchmarks/fuzz_gateway.py [--inputs 100000] [--seed 1]

Inputs are generated from valid frames and payloads (built by the independent sender
:mod:`seuil.cli.sia_sender`, not by the parser under test) with mutations: bit flips,
byte insertion and deletion, truncation, CRC and length corruption, huge lengths,
splices of two inputs, random bytes, deep JSON nesting, invalid UTF-8, NaN, huge
strings. A crash is any exception other than the parser's own refusal (``FrameError``,
``PayloadError``), or a receiver reply that is not a well-formed ACK/NAK. Prints the
counts per outcome, the crashes (must be 0) and the slowest input's time.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from seuil.adapters.mqtt_devices.payloads import PayloadError, parse_event
from seuil.adapters.sia import FrameError, SiaAccount, SiaReceiver, parse_frame, signals_from_frame
from seuil.cli.sia_sender import crc_arc, make_body, make_frame

NOW = datetime(2026, 3, 2, 8, 15, 30, tzinfo=UTC)
KEY = bytes(range(16))
ACCOUNTS = {"1234": SiaAccount("1234", "S"), "BEEF": SiaAccount("BEEF", "S", key=KEY)}


class _Clock:
    def now(self) -> datetime:
        return NOW


def _sia_seeds() -> list[bytes]:
    at = NOW - timedelta(seconds=5)
    bodies = [
        make_body("ADM-CID", "#1234|1130 01 015", at=at),
        make_body("ADM-CID", "3602 00 000", at=None),
        make_body("SIA-DCS", "#1234|Nri02/PA003/BA004", at=at),
        make_body("NULL", "", at=at),
        make_body("ADM-CID", "1121 01 001", account="BEEF", at=at, key=KEY),
        make_body("SIA-DCS", "Nri1/FA12", account="BEEF", at=at, key=KEY),
    ]
    return [make_frame(b) for b in bodies]


_EVENT_SEEDS = [
    {"type": "panic", "zone": "CDI", "at": "2026-03-02T08:15:00Z"},
    {"type": "call", "restore": True, "id": "42"},
    {"type": "fire", "extra": {"detector": "DF-3", "values": [1, 2.5, None]}},
    {"type": "battery_low", "zone": "Gymnase", "at": "2026-03-02T09:15:00+01:00"},
]


def _mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.randrange(7)
        if op == 0 and buf:  # bit flip
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert bytes
            i = rng.randrange(len(buf) + 1)
            buf[i:i] = rng.randbytes(rng.randrange(1, 9))
        elif op == 2 and buf:  # delete a span
            i = rng.randrange(len(buf))
            del buf[i : i + rng.randrange(1, 9)]
        elif op == 3:  # truncate
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif op == 4 and buf:  # interesting byte
            buf[rng.randrange(len(buf))] = rng.choice(b'\x00\r\n"[]|#_,:{}\\\xff0F')
        elif op == 5:  # splice with another seed
            other = rng.choice(seeds)
            i, j = rng.randrange(len(buf) + 1), rng.randrange(len(other) + 1)
            buf = buf[:i] + bytearray(other[j:])
        elif buf:
            i = rng.randrange(len(buf))
            buf[i:i] = buf[i : i + rng.randrange(1, 40)]
    return bytes(buf)


def _sia_input(rng: random.Random, seeds: list[bytes]) -> bytes:
    kind = rng.random()
    if kind < 0.05:
        return rng.randbytes(rng.randrange(0, 2100))
    if kind < 0.15:  # a true body under a corrupted CRC or length, or a huge length
        body = rng.choice(seeds)[9:-1]
        crc = crc_arc(body) ^ (rng.randrange(1, 0x10000) if rng.random() < 0.5 else 0)
        length = rng.choice((len(body), len(body) + 1, len(body) - 1, 0, 0xFFF, 0xFFFF))
        return b"\n%04X%04X" % (crc, length) + body + b"\r"
    if kind < 0.40:  # a well-framed (true CRC and length) mutated body: reaches the content
        body = _mutate(rng.choice(seeds)[9:-1], rng, seeds)
        body = bytes(b if 32 <= b < 127 else 63 for b in body)
        return b"\n%04X%04X" % (crc_arc(body), len(body) & 0xFFFF) + body + b"\r"
    if kind < 0.42:  # over-long
        return b"\n" + rng.choice(seeds)[1:-1] * rng.randrange(10, 40) + b"\r"
    return _mutate(rng.choice(seeds), rng, seeds)


def _event_input(rng: random.Random, seeds: list[bytes]) -> bytes:
    kind = rng.random()
    if kind < 0.05:
        return rng.randbytes(rng.randrange(0, 5000))
    if kind < 0.08:
        depth = rng.randrange(500, 3000)
        return rng.choice((b"[" * depth, b'{"a":' * depth + b"1" + b"}" * depth))
    if kind < 0.12:
        return json.dumps({"type": "panic", "zone": "x" * rng.randrange(50, 5000)}).encode()
    if kind < 0.15:
        return rng.choice((b'{"type":NaN}', b'{"type":"panic","battery":Infinity}', b"\xc3("))
    if kind < 0.30:  # structurally random JSON
        return json.dumps(_random_json(rng, 3)).encode()
    return _mutate(rng.choice(seeds), rng, seeds)


def _random_json(rng: random.Random, depth: int) -> object:
    choice = rng.randrange(8 if depth else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.random() < 0.5
    if choice == 2:
        return rng.randrange(-(10**20), 10**20)
    if choice == 3:
        return rng.choice(["panic", "", "2026-03-02T08:15:00Z", "é" * 70, "\x00"])
    if choice == 4:
        return rng.random() * 1e308
    if choice == 5:
        return [_random_json(rng, depth - 1) for _ in range(rng.randrange(4))]
    keys = ["type", "zone", "at", "restore", "id", "extra", "x"]
    return {rng.choice(keys): _random_json(rng, depth - 1) for _ in range(rng.randrange(5))}


def _run(
    name: str,
    count: int,
    make: Callable[[], bytes],
    check: Callable[[bytes], str],
    expected: tuple[type[Exception], ...],
) -> dict[str, object]:
    outcomes: Counter[str] = Counter()
    crashes: list[tuple[bytes, str]] = []
    slowest, slowest_input = 0.0, b""
    started = time.perf_counter()
    for _ in range(count):
        data = make()
        t0 = time.perf_counter()
        try:
            outcomes[check(data)] += 1
        except expected as exc:
            outcomes[getattr(exc, "reason", type(exc).__name__)] += 1
        except Exception as exc:
            crashes.append((data[:200], f"{type(exc).__name__}: {exc}"))
        elapsed = time.perf_counter() - t0
        if elapsed > slowest:
            slowest, slowest_input = elapsed, data[:80]
    total = time.perf_counter() - started
    print(f"\n{name}: {count:,} inputs in {total:.1f} s, crashes: {len(crashes)}")
    print(f"  slowest input: {slowest * 1000:.2f} ms  ({slowest_input!r})")
    for outcome, n in outcomes.most_common():
        print(f"  {outcome:<22} {n:>8,}")
    for data, error in crashes[:10]:
        print(f"  CRASH {error} on {data!r}")
    return {"inputs": count, "crashes": len(crashes), "slowest_ms": slowest * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs per parser")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # every refusal is logged: that is a lot of lines here
    rng = random.Random(args.seed)  # noqa: S311 (reproducible test inputs, not secrets)

    sia_seeds = _sia_seeds()
    receiver = SiaReceiver(ACCOUNTS.values(), lambda _s: None, _Clock())

    def sia_check(data: bytes) -> str:
        reply = receiver.handle(data)  # the receiver's own answer must be a clean frame
        inner = reply[1:-1]
        if not (
            reply[:1] == b"\n" and reply[-1:] == b"\r" and int(inner[:4], 16) == crc_arc(inner[8:])
        ):
            raise AssertionError(f"malformed reply {reply[:60]!r}")
        verdict = inner[8:].split(b'"')[1]
        frame = parse_frame(data.strip(b"\n\r\t \x00"), ACCOUNTS, NOW)
        signals_from_frame(frame, "S", NOW)
        if verdict not in (b"ACK", b"*ACK"):
            raise AssertionError(f"a valid frame was answered {verdict!r}")
        return "accepted"

    event_seeds = [json.dumps(e).encode() for e in _EVENT_SEEDS]

    def event_check(data: bytes) -> str:
        parse_event("bouton-1", data, site="S", received_at=NOW)
        return "accepted"

    sia = _run(
        "SIA DC-09 frames",
        args.inputs,
        lambda: _sia_input(rng, sia_seeds),
        sia_check,
        (FrameError,),
    )
    if receiver.rejected["internal_error"]:
        print(f"  receiver internal errors: {receiver.rejected['internal_error']}")
        sia["crashes"] = int(str(sia["crashes"])) + receiver.rejected["internal_error"]
    events = _run(
        "MQTT/webhook event payloads",
        args.inputs,
        lambda: _event_input(rng, event_seeds),
        event_check,
        (PayloadError,),
    )
    return 1 if sia["crashes"] or events["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
