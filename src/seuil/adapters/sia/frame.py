"""SIA DC-09 framing: CRC, length, optional AES, timestamp window, ACK/NAK.

A frame on the wire is::

    <LF> CRC(4 hex) 0LLL(4 hex) "ID" seq Rrcvr Lpref #acct [data] _HH:MM:SS,MM-DD-YYYY <CR>

The CRC (CRC-16/ARC) and the length cover everything from the first ``"`` up to the
``<CR>``. ``ID`` is ``SIA-DCS``, ``ADM-CID`` or ``NULL`` (link test), prefixed with ``*``
when the part after ``[`` is AES-CBC encrypted (zero IV, hex text, random padding up
to a ``|``). Timestamps are UTC. Every problem is a :class:`FrameError` with a reason;
nothing here raises anything else on bad input.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "MAX_FRAME",
    "Frame",
    "FrameError",
    "SiaAccount",
    "ack",
    "crc16_arc",
    "nak",
    "parse_frame",
]

MAX_FRAME = 1024  # bytes between LF and CR; DC-09 frames are far shorter
_IV = bytes(16)
_TS = "%H:%M:%S,%m-%d-%Y"
_HEAD = re.compile(rb"^([0-9A-Fa-f]{4})(0[0-9A-Fa-f]{3})(\".*)$", re.DOTALL)
_BODY = re.compile(
    r'^"(?P<enc>\*?)(?P<id>[A-Z][A-Z-]{0,15})"(?P<seq>\d{4})'
    r"(?:R(?P<rcv>[0-9A-Fa-f]{1,6}))?L(?P<pref>[0-9A-Fa-f]{1,6})"
    r"#(?P<acct>[0-9A-Fa-f]{3,16})\[(?P<rest>.*)$",
    re.DOTALL,
)
_PLAIN_TAIL = re.compile(r"^(?P<data>[^\[\]]*)\](?P<x>(?:\[[^\[\]]*\])*)(?P<ts>_.*)?$", re.DOTALL)


class FrameError(ValueError):
    """A frame we refuse; ``reason`` is a short stable tag for logs and counters."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SiaAccount:
    """A panel account we accept: where it is and, optionally, its AES key."""

    account: str
    site: str
    key: bytes | None = None  # 16, 24 or 32 bytes

    def __post_init__(self) -> None:
        if self.key is not None and len(self.key) not in (16, 24, 32):
            raise ValueError("an AES key has 16, 24 or 32 bytes")


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame that passed every check."""

    message_id: str  # SIA-DCS, ADM-CID or NULL
    sequence: str
    receiver: str
    prefix: str
    account: str
    data: str  # the message data between [ and ], decrypted
    timestamp: datetime | None
    encrypted: bool
    raw: str


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0), as DC-09 requires."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _aes(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(_IV))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def _decrypt(key: bytes, text: str) -> str:
    try:
        blob = bytes.fromhex(text)
    except ValueError as exc:
        raise FrameError("bad_ciphertext", "not hex") from exc
    if not blob or len(blob) % 16:
        raise FrameError("bad_ciphertext", "not a whole number of AES blocks")
    plain = _aes(key, blob, encrypt=False).decode("ascii", errors="replace")
    _, bar, content = plain.partition("|")
    if not bar or "\ufffd" in content:
        raise FrameError("bad_ciphertext", "does not decrypt with this account's key")
    return content


def _pad_encrypt(key: bytes, content: str) -> str:
    size = len(content) + 1
    pad_len = (16 - size % 16) % 16
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pad = "".join(secrets.choice(alphabet) for _ in range(pad_len))
    return _aes(key, f"{pad}|{content}".encode("ascii"), encrypt=True).hex().upper()


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text[1:], _TS).replace(tzinfo=UTC)
    except ValueError as exc:
        raise FrameError("bad_timestamp", "unreadable") from exc


def parse_frame(
    line: bytes,
    accounts: dict[str, SiaAccount],
    now: datetime,
    *,
    window: tuple[timedelta, timedelta] = (timedelta(seconds=40), timedelta(seconds=20)),
) -> Frame:
    """Check one frame (without its LF and CR) and return it, or raise FrameError.

    ``window`` is how far in the past and the future a timestamp may be; DC-09 makes
    the timestamp mandatory in encrypted frames and optional in clear ones.
    """
    if len(line) > MAX_FRAME:
        raise FrameError("too_long", f"{len(line)} bytes")
    head = _HEAD.match(line)
    if head is None:
        raise FrameError("bad_header")
    crc, length, body = head.groups()
    if int(length, 16) != len(body):
        raise FrameError("bad_length", f"says {int(length, 16)}, has {len(body)}")
    if int(crc, 16) != crc16_arc(body):
        raise FrameError("bad_crc")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError("not_ascii") from exc
    parts = _BODY.match(text)
    if parts is None:
        raise FrameError("bad_body")
    message_id, account = parts["id"], parts["acct"].upper()
    if message_id not in ("SIA-DCS", "ADM-CID", "NULL"):
        raise FrameError("unsupported_message", message_id)
    known = accounts.get(account)
    if known is None:
        raise FrameError("unknown_account", account)
    encrypted = bool(parts["enc"])
    rest = parts["rest"]
    if encrypted:
        if known.key is None:
            raise FrameError("unexpected_encryption", account)
        rest = _decrypt(known.key, rest)
    elif known.key is not None:
        raise FrameError("encryption_required", account)
    tail = _PLAIN_TAIL.match(rest)
    if tail is None:
        raise FrameError("bad_body", "no closing bracket")
    stamp = _timestamp(tail["ts"])
    if stamp is None and encrypted:
        raise FrameError("bad_timestamp", "missing in an encrypted frame")
    if stamp is not None and not now - window[0] <= stamp <= now + window[1]:
        raise FrameError("stale_timestamp", stamp.isoformat())
    return Frame(
        message_id=message_id,
        sequence=parts["seq"],
        receiver=parts["rcv"] or "0",
        prefix=parts["pref"],
        account=account,
        data=tail["data"],
        timestamp=stamp,
        encrypted=encrypted,
        raw=text,
    )


def _wrap(body: str) -> bytes:
    data = body.encode("ascii")
    return b"\n%04X%04X%s\r" % (crc16_arc(data), len(data), data)


def ack(frame: Frame, account: SiaAccount, now: datetime) -> bytes:
    """The ACK for ``frame`` (encrypted with the account's key when the frame was)."""
    route = f"{frame.sequence}R{frame.receiver}L{frame.prefix}#{frame.account}["
    if frame.encrypted and account.key is not None:
        sealed = _pad_encrypt(account.key, "]_" + now.astimezone(UTC).strftime(_TS))
        return _wrap(f'"*ACK"{route}{sealed}')
    return _wrap(f'"ACK"{route}]')


def nak(now: datetime) -> bytes:
    """The NAK: it carries the receiver's time so the panel can set its clock."""
    return _wrap('"NAK"0000R0L0A0[]_' + now.astimezone(UTC).strftime(_TS))
