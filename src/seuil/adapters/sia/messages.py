"""From a checked DC-09 frame to domain signals (SIA DCS and ADM-CID content).

ADM-CID data is ``[#acct|]Q EEE GG ZZZ`` (qualifier, event code, partition, zone or
user). SIA DCS data is ``[#acct|]N`` followed by ``/``-separated blocks such as
``ri01``, ``id12`` or ``BA003`` (event code and zone). Codes we cannot map give a
signal of type UNKNOWN with the raw code: shown to a human, never dropped.
"""

from __future__ import annotations

import re
from datetime import datetime

from seuil.adapters.sia.frame import Frame, FrameError
from seuil.domain.incidents import Signal, contact_id, sia_code

__all__ = ["signals_from_frame"]

_CID = re.compile(r"^(?P<q>\d)(?P<e>[0-9A-Fa-f]{3}) ?(?P<p>[0-9A-Fa-f]{2}) ?(?P<z>[0-9A-Fa-f]{3})$")
_QUALIFIER_LETTER = {"1": "E", "3": "R", "6": "P"}
_DCS_EVENT = re.compile(r"^(?P<code>[A-Z]{2})(?P<zone>[0-9A-Za-z]*)$")


def _strip_account(data: str) -> str:
    if data.startswith("#"):
        _, bar, data = data.partition("|")
        if not bar:
            return ""
    return data


def _cid(frame: Frame, data: str, source: str, site: str, at: datetime) -> list[Signal]:
    parts = _CID.match(data)
    if parts is None:
        raise FrameError("bad_contact_id", data[:40])
    kind_type, kind = contact_id(parts["q"], parts["e"])
    code = _QUALIFIER_LETTER.get(parts["q"], parts["q"]) + parts["e"]  # E130, R130, P130
    zone = f"{parts['p']}/{parts['z']}"  # partition / zone-or-user, as sent
    return [Signal(source, site, zone, code, frame.raw, at, kind_type, kind)]


def _dcs(frame: Frame, data: str, source: str, site: str, at: datetime) -> list[Signal]:
    if not data.startswith("N"):
        raise FrameError("bad_sia_dcs", data[:40])
    signals: list[Signal] = []
    area = ""
    for block in data[1:].split("/"):
        if block.startswith(("ri", "ti", "id", "pi")):
            if block.startswith("ri"):
                area = block[2:]
            continue
        event = _DCS_EVENT.match(block)
        if event is None:
            raise FrameError("bad_sia_dcs", block[:40])
        kind_type, kind = sia_code(event["code"])
        zone = f"{area}/{event['zone']}" if area else event["zone"]
        signals.append(Signal(source, site, zone, event["code"], frame.raw, at, kind_type, kind))
    if not signals:
        raise FrameError("bad_sia_dcs", "no event code")
    return signals


def signals_from_frame(frame: Frame, site: str, received_at: datetime) -> list[Signal]:
    """The signals a frame carries (none for a NULL link test); FrameError if unreadable.

    The signal's time is the panel's timestamp when present (already checked against
    the window), else the time of reception.
    """
    if frame.message_id == "NULL":
        return []
    at = frame.timestamp or received_at
    source = f"sia:{frame.account}"
    data = _strip_account(frame.data)
    if frame.message_id == "ADM-CID":
        return _cid(frame, data, source, site, at)
    return _dcs(frame, data, source, site, at)
