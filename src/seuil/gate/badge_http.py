"""The HTTP entry of badge readers, without a web framework: ``handle_badge``.

The web app mounts it later (``POST /api/gates/{gate_id}/badge``, header
``Authorization: Bearer <token>``); this module only needs the gate id, the token and
the raw body, and answers a status code with a small JSON-ready body. The body is::

    {"number": "1234567"}                 # the badge number as the reader prints it
    {"wiegand": "10000000100000000000000011"}   # or the raw 26/34-bit Wiegand frame
    {"wiegand": {"value": 8421377, "bits": 26}}

Each reader has its own token (``readers[].token`` of the site file); it is compared in
constant time with every token of the gate, so timing tells nothing about which one
came close. Bad input gets a clear refusal and changes nothing; nothing is logged of the
number or the token.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seuil.adapters.wiegand import decode_wiegand
from seuil.domain.errors import DataFormatError
from seuil.gate.badge_inbox import BadgeInbox, Posted, valid_badge_number

__all__ = ["MAX_BODY_BYTES", "BadgeEndpoint", "BadgeReaderToken", "BadgeResult"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024


@dataclass(frozen=True, slots=True)
class BadgeReaderToken:
    """One badge reader of a gate and the bearer token it presents (never in a repr)."""

    reader_id: str
    gate_id: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class BadgeResult:
    status: int  # HTTP status: 202 queued, 400, 401, 404, 413, 429, 503
    code: str
    message: str  # French first, English second

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message}


def _result(status: int, code: str, fr: str, en: str) -> BadgeResult:
    return BadgeResult(status, code, f"{fr} ({en})")


def _bearer(token: str | None) -> str:
    text = (token or "").strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    return text


def _number(data: object) -> str:
    """The badge number from a decoded body; DataFormatError with a clear reason."""
    if not isinstance(data, dict):
        raise DataFormatError("the body must be a JSON object")
    unknown = set(data) - {"number", "wiegand"}
    if unknown:
        raise DataFormatError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if ("number" in data) == ("wiegand" in data):
        raise DataFormatError("give exactly one of 'number' or 'wiegand'")
    if "number" in data:
        number = data["number"]
        if not valid_badge_number(number):
            raise DataFormatError("'number' must be a text of 1 to 20 digits")
        return str(number)
    frame = data["wiegand"]
    if isinstance(frame, str):
        return decode_wiegand(frame).number
    if isinstance(frame, dict) and set(frame) == {"value", "bits"}:
        value, bits = frame["value"], frame["bits"]
        if type(value) is int and type(bits) is int:
            return decode_wiegand((value, bits)).number
    raise DataFormatError('\'wiegand\' is a text of 0/1 or {"value": int, "bits": 26|34}')


class BadgeEndpoint:
    """Routes reader posts to the inbox of their gate; see the module docstring."""

    def __init__(
        self, readers: Iterable[BadgeReaderToken], inboxes: Mapping[str, BadgeInbox]
    ) -> None:
        self._readers: dict[str, list[BadgeReaderToken]] = {}
        for reader in readers:
            if not reader.token:
                raise ValueError(f"badge reader {reader.reader_id!r} has an empty token")
            self._readers.setdefault(reader.gate_id, []).append(reader)
        self._inboxes = dict(inboxes)

    def handle_badge(self, gate_id: str, token: str | None, body: bytes) -> BadgeResult:
        inbox = self._inboxes.get(gate_id)
        readers = self._readers.get(gate_id, [])
        if inbox is None or not readers:
            return _result(404, "unknown_gate", "portique inconnu", "unknown gate")
        reader = self._authenticate(readers, _bearer(token))
        if reader is None:
            return _result(401, "bad_token", "jeton du lecteur refusé", "reader token refused")
        if len(body) > MAX_BODY_BYTES:
            return _result(413, "too_large", "message trop long", "body too large")
        try:
            number = _number(json.loads(body.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _result(400, "bad_body", "message illisible (JSON attendu)",
                           "unreadable body, JSON expected")  # fmt: skip
        except DataFormatError as exc:
            return _result(400, "bad_badge", f"lecture refusée : {exc}", "badge read refused")
        posted = inbox.put(number, reader.reader_id)
        if posted is Posted.RATE_LIMITED:
            logger.warning("gate %s: reader %s over its rate", gate_id, reader.reader_id)
            return _result(429, "rate_limited", "trop de lectures pour ce lecteur",
                           "too many reads from this reader")  # fmt: skip
        if posted is Posted.FULL:
            return _result(503, "busy", "portique occupé, badgez à nouveau",
                           "gate busy, badge again")  # fmt: skip
        return _result(202, "queued", "badge transmis au portique", "badge queued")

    @staticmethod
    def _authenticate(readers: list[BadgeReaderToken], token: str) -> BadgeReaderToken | None:
        found: BadgeReaderToken | None = None
        given = token.encode("utf-8")
        for reader in readers:  # every token is compared: no early exit
            if hmac.compare_digest(given, reader.token.encode("utf-8")) and token:
                found = reader
        return found
