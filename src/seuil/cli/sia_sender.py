"""An independent SIA DC-09 sender for the bench and the fuzzer.

Written from the DC-09 text, sharing no code with :mod:`seuil.adapters.sia`: its own
table-driven CRC-16/ARC, its own framing, its own AES-CBC padding. So the bench measures
the receiver against frames it did not build itself, and the fuzzer mutates frames
whose validity does not depend on the parser under test.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["crc_arc", "make_body", "make_frame", "stamp"]


def _table() -> tuple[int, ...]:
    out = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        out.append(c)
    return tuple(out)


_TABLE = _table()


def crc_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("_%H:%M:%S,%m-%d-%Y")


def make_body(
    msg_id: str,
    data: str,
    *,
    seq: int = 1,
    account: str = "1234",
    at: datetime | None = None,
    key: bytes | None = None,
) -> str:
    """The part of a frame covered by CRC and length (from the first quote)."""
    tail = f"{data}]" + (stamp(at) if at is not None else "")
    head = f"{seq % 10000:04d}R1L1#{account}["
    if key is None:
        return f'"{msg_id}"{head}{tail}'
    plain = f"|{tail}"
    plain = "0" * (-len(plain) % 16) + plain
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    sealed = (enc.update(plain.encode("ascii")) + enc.finalize()).hex().upper()
    return f'"*{msg_id}"{head}{sealed}'


def make_frame(body: str, *, crc: int | None = None, length: int | None = None) -> bytes:
    """``LF CRC LEN body CR`` (``crc``/``length`` override the true values, for fuzzing)."""
    raw = body.encode("ascii")
    c = crc_arc(raw) if crc is None else crc
    n = len(raw) if length is None else length
    return b"\n%04X%04X" % (c & 0xFFFF, n & 0xFFFF) + raw + b"\r"
