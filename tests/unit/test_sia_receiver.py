"""The SIA DC-09 receiver, fed by an independent sender written here from the spec.

The sender below shares no code with ``seuil.adapters.sia``: its own table-driven
CRC-16/ARC (checked against the catalogue value), its own framing and its own AES.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seuil.adapters.sia import SiaAccount, SiaReceiver
from seuil.adapters.sia.frame import MAX_FRAME, crc16_arc
from seuil.domain.incidents import IncidentType, Signal, SignalKind

NOW = datetime(2026, 3, 2, 8, 15, 30, tzinfo=UTC)
KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")

# ------------------------------------------------------------- independent sender


def _table() -> list[int]:
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        out.append(c)
    return out


TABLE = _table()


def crc_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ TABLE[(crc ^ b) & 0xFF]
    return crc


def stamp(at: datetime) -> str:
    return at.strftime("_%H:%M:%S,%m-%d-%Y")


def body(
    msg_id: str,
    data: str,
    *,
    seq: str = "0042",
    account: str = "1234",
    at: datetime | None = NOW,
    key: bytes | None = None,
) -> str:
    tail = f"{data}]" + (stamp(at) if at is not None else "")
    if key is None:
        return f'"{msg_id}"{seq}R1L1#{account}[{tail}'
    plain = f"|{tail}"
    plain = "X" * (-len(plain) % 16) + plain
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    hexed = (enc.update(plain.encode()) + enc.finalize()).hex().upper()
    return f'"*{msg_id}"{seq}R1L1#{account}[{hexed}'


def frame(text: str, *, crc: int | None = None, length: int | None = None) -> bytes:
    raw = text.encode("ascii")
    c = crc_arc(raw) if crc is None else crc
    n = len(raw) if length is None else length
    return b"\n%04X%04X" % (c, n) + raw + b"\r"


def reply_id(reply: bytes) -> str:
    """The quoted message id of a receiver's reply, after checking its own CRC/length."""
    assert reply.startswith(b"\n") and reply.endswith(b"\r")
    inner = reply[1:-1]
    text = inner[8:]
    assert int(inner[:4], 16) == crc_arc(text)
    assert int(inner[4:8], 16) == len(text)
    return text.split(b'"')[1].decode()


# ------------------------------------------------------------------ fixtures


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def make_receiver(
    received: list[Signal], clock: FixedClock | None = None, **kw: object
) -> SiaReceiver:
    accounts = [SiaAccount("1234", "lycee-1"), SiaAccount("BEEF", "lycee-1", key=KEY)]
    return SiaReceiver(accounts, received.append, clock or FixedClock(), **kw)  # type: ignore[arg-type]


def with_tcp(receiver: SiaReceiver, writes: list[bytes], answers: int) -> list[bytes]:
    async def run() -> list[bytes]:
        server = await receiver.start_tcp("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for chunk in writes:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.01)
            out = [
                await asyncio.wait_for(reader.readuntil(b"\r"), timeout=5) for _ in range(answers)
            ]
            writer.close()
            await writer.wait_closed()
            return out
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(run())


def with_udp(receiver: SiaReceiver, datagrams: list[bytes]) -> list[bytes]:
    async def run() -> list[bytes]:
        transport = await receiver.start_udp("127.0.0.1", 0)
        port = transport.get_extra_info("sockname")[1]
        loop = asyncio.get_running_loop()
        replies: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                replies.put_nowait(data)

        client, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
        try:
            out = []
            for d in datagrams:
                client.sendto(d)
                out.append(await asyncio.wait_for(replies.get(), timeout=5))
            return out
        finally:
            client.close()
            transport.close()

    return asyncio.run(run())


# ---------------------------------------------------------------------- tests


def test_crc_matches_the_catalogue_check_value() -> None:
    assert crc_arc(b"123456789") == 0xBB3D
    assert crc16_arc(b"123456789") == 0xBB3D


def test_adm_cid_over_tcp_is_acked_and_mapped() -> None:
    received: list[Signal] = []
    replies = with_tcp(make_receiver(received), [frame(body("ADM-CID", "#1234|1130 01 015"))], 1)
    assert reply_id(replies[0]) == "ACK"
    assert b"0042R1L1#1234[]" in replies[0]
    (signal,) = received
    assert (signal.type, signal.kind, signal.code) == (
        IncidentType.INTRUSION,
        SignalKind.EVENT,
        "E130",
    )
    assert (signal.source, signal.site, signal.zone, signal.at) == (
        "sia:1234",
        "lycee-1",
        "01/015",
        NOW,
    )


def test_restore_and_unknown_codes_are_kept() -> None:
    received: list[Signal] = []
    frames = [frame(body("ADM-CID", "3130 01 015")), frame(body("ADM-CID", "1999 01 001"))]
    replies = with_tcp(make_receiver(received), frames, 2)
    assert [reply_id(r) for r in replies] == ["ACK", "ACK"]
    assert received[0].kind is SignalKind.RESTORE and received[0].code == "R130"
    assert received[1].type is IncidentType.UNKNOWN and received[1].code == "E999"


def test_sia_dcs_over_udp() -> None:
    received: list[Signal] = []
    replies = with_udp(make_receiver(received), [frame(body("SIA-DCS", "#1234|Nri02/PA003/BA004"))])
    assert reply_id(replies[0]) == "ACK"
    assert [(s.type, s.zone) for s in received] == [
        (IncidentType.PANIC, "02/003"),
        (IncidentType.INTRUSION, "02/004"),
    ]


def test_null_link_test_updates_last_seen() -> None:
    received: list[Signal] = []
    clock = FixedClock()
    receiver = make_receiver(received, clock)
    clock.at = NOW + timedelta(seconds=5)
    replies = with_udp(receiver, [frame(body("NULL", "", at=clock.at))])
    assert reply_id(replies[0]) == "ACK"
    assert received == []
    assert receiver.last_seen == {"1234": NOW + timedelta(seconds=5)}
    later = NOW + timedelta(minutes=10)
    assert receiver.silent_accounts(later, timedelta(minutes=15)) == []
    assert receiver.silent_accounts(later, timedelta(minutes=5)) == ["1234", "BEEF"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("bad crc", frame(body("ADM-CID", "1130 01 015"), crc=0x1234), "bad_crc"),
        ("wrong length", frame(body("ADM-CID", "1130 01 015"), length=3), "bad_length"),
        (
            "stale",
            frame(body("ADM-CID", "1130 01 015", at=NOW - timedelta(minutes=5))),
            "stale_timestamp",
        ),
        (
            "future",
            frame(body("ADM-CID", "1130 01 015", at=NOW + timedelta(minutes=5))),
            "stale_timestamp",
        ),
        ("garbage", b"\nhello world\r", "bad_header"),
        (
            "unknown account",
            frame(body("ADM-CID", "1130 01 015", account="9999")),
            "unknown_account",
        ),
        ("bad cid", frame(body("ADM-CID", "1130")), "bad_contact_id"),
        ("bad dcs", frame(body("SIA-DCS", "Nri1/??")), "bad_sia_dcs"),
        ("unsupported", frame(body("FOO", "x")), "unsupported_message"),
        (
            "clear on keyed",
            frame(body("ADM-CID", "1130 01 015", account="BEEF")),
            "encryption_required",
        ),
    ],
)
def test_bad_frames_are_naked_with_a_logged_reason(
    name: str, data: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[Signal] = []
    receiver = make_receiver(received)
    with caplog.at_level(logging.WARNING):
        replies = with_tcp(receiver, [data], 1)
    assert reply_id(replies[0]) == "NAK", name
    assert stamp(NOW).encode() in replies[0]  # NAK carries the receiver's time
    assert received == []
    assert receiver.rejected == {reason: 1}
    assert reason in caplog.text


def test_over_long_line_is_naked_and_the_connection_recovers() -> None:
    received: list[Signal] = []
    receiver = make_receiver(received)
    junk = b"\n" + b"A" * (MAX_FRAME * 5)
    good = frame(body("ADM-CID", "1120 01 001"))
    replies = with_tcp(receiver, [junk, b"tail\r", good], 2)
    assert [reply_id(r) for r in replies] == ["NAK", "ACK"]
    assert receiver.rejected["too_long"] == 1
    assert [s.type for s in received] == [IncidentType.PANIC]


def test_frames_split_and_coalesced_over_tcp() -> None:
    received: list[Signal] = []
    one = frame(body("ADM-CID", "1110 01 001", seq="0001"))
    two = frame(body("ADM-CID", "1144 01 002", seq="0002"))
    three = frame(body("ADM-CID", "1301 01 003", seq="0003"))
    replies = with_tcp(make_receiver(received), [one[:7], one[7:] + two, three], 3)
    assert [reply_id(r) for r in replies] == ["ACK", "ACK", "ACK"]
    assert [s.type for s in received] == [
        IncidentType.FIRE,
        IncidentType.TAMPER,
        IncidentType.POWER,
    ]


def test_idle_connection_is_closed() -> None:
    receiver = make_receiver([], idle_timeout=0.2)

    async def run() -> bytes:
        server = await receiver.start_tcp("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\n0000")  # a frame that never ends
            data = await asyncio.wait_for(reader.read(), timeout=5)
            writer.close()
            return data
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(run()) == b""


def test_aes_account() -> None:
    received: list[Signal] = []
    good = frame(body("ADM-CID", "1121 01 001", account="BEEF", key=KEY))
    wrong = frame(body("ADM-CID", "1121 01 001", account="BEEF", key=bytes(16)))
    no_ts = frame(body("ADM-CID", "1121 01 001", account="BEEF", key=KEY, at=None))
    receiver = make_receiver(received)
    replies = with_tcp(receiver, [good, wrong, no_ts], 3)
    assert [reply_id(r) for r in replies] == ["*ACK", "NAK", "NAK"]
    sealed = replies[0][1:-1].split(b"[", 1)[1]
    dec = Cipher(algorithms.AES(KEY), modes.CBC(bytes(16))).decryptor()
    plain = (dec.update(bytes.fromhex(sealed.decode())) + dec.finalize()).decode()
    assert plain.split("|", 1)[1] == "]" + stamp(NOW)
    assert [s.type for s in received] == [IncidentType.DURESS]
    assert receiver.rejected == {"bad_ciphertext": 1, "bad_timestamp": 1}


def test_callback_failure_is_naked_so_the_panel_retries() -> None:
    def boom(_: Signal) -> None:
        raise RuntimeError("database down")

    receiver = SiaReceiver([SiaAccount("1234", "s")], boom, FixedClock())
    assert reply_id(receiver.handle(frame(body("ADM-CID", "1130 01 015")))) == "NAK"
    assert receiver.rejected == {"callback_failed": 1}
    assert receiver.last_seen == {}


# -------------------------------------------------------------------------- fuzz

FUZZ_RECEIVER = make_receiver([])
GOOD = frame(body("ADM-CID", "#1234|1130 01 015"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2 * MAX_FRAME))
def test_fuzz_random_bytes_never_crash(data: bytes) -> None:
    reply = FUZZ_RECEIVER.handle(data)
    assert reply_id(reply) in ("ACK", "NAK")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.binary(min_size=1, max_size=8), st.booleans())
def test_fuzz_mutated_frames_never_crash(pos: int, patch: bytes, insert: bool) -> None:
    data = GOOD[:pos] + patch + GOOD[pos if insert else pos + len(patch) :]
    assert reply_id(FUZZ_RECEIVER.handle(data)) in ("ACK", "NAK")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["SIA-DCS", "ADM-CID", "NULL", "*ADM-CID"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
def test_fuzz_well_framed_content_never_crashes(msg_id: str, data: str) -> None:
    text = f'"{msg_id}"0001R1L1#1234[{data}]{stamp(NOW)}'
    assert reply_id(FUZZ_RECEIVER.handle(frame(text))) in ("ACK", "NAK")


def test_a_slow_sink_holds_up_only_its_own_panel_over_tcp() -> None:
    """Signals are handed over off the event loop: while one panel's signal is being
    stored (an fsync, a busy database), another panel is read and answered."""
    import threading
    import time

    release = threading.Event()
    stored: list[str] = []

    def sink(signal: Signal) -> None:
        if signal.source == "sia:1234":
            release.wait(5)  # a slow disk for this panel
        stored.append(signal.source)

    accounts = [SiaAccount("1234", "lycee-1"), SiaAccount("5678", "lycee-1")]
    receiver = SiaReceiver(accounts, sink, FixedClock())

    async def run() -> list[tuple[str, float]]:
        server = await receiver.start_tcp("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        answered: list[tuple[str, float]] = []

        async def panel(account: str, delay: float) -> None:
            await asyncio.sleep(delay)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(frame(body("ADM-CID", f"#{account}|1130 01 015", account=account)))
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\r"), timeout=5)
            answered.append((account, time.monotonic()))
            assert reply_id(reply) == "ACK"
            if account == "5678":
                release.set()  # the other panel's ACK came first: now let the slow one go
            writer.close()
            await writer.wait_closed()

        try:
            await asyncio.gather(panel("1234", 0), panel("5678", 0.1))
        finally:
            server.close()
            await server.wait_closed()
        return answered

    answered = asyncio.run(run())
    assert [account for account, _ in answered] == ["5678", "1234"]
    assert stored == ["sia:5678", "sia:1234"]
