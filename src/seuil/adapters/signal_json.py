"""Signal <-> JSON: every field, aware datetimes kept with their offset.

Used by the disk spool (and anyone who needs to store or ship a signal as text). Bad
input raises :class:`ValueError` with a short reason, never anything else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from seuil.domain.incidents import IncidentType, Signal, SignalKind

__all__ = ["signal_from_dict", "signal_from_json", "signal_to_dict", "signal_to_json"]

_TEXT_FIELDS = ("source", "site", "zone", "code", "raw")


def signal_to_dict(signal: Signal) -> dict[str, str]:
    return {
        "source": signal.source,
        "site": signal.site,
        "zone": signal.zone,
        "code": signal.code,
        "raw": signal.raw,
        "at": signal.at.isoformat(),
        "type": signal.type.value,
        "kind": signal.kind.value,
    }


def signal_to_json(signal: Signal) -> str:
    """One line of JSON (no newline inside: ``raw`` newlines are escaped)."""
    return json.dumps(signal_to_dict(signal), ensure_ascii=False, separators=(",", ":"))


def signal_from_dict(data: Any) -> Signal:
    if not isinstance(data, dict):
        raise ValueError("a signal is a JSON object")
    missing = [k for k in (*_TEXT_FIELDS, "at", "type", "kind") if not isinstance(data.get(k), str)]
    if missing:
        raise ValueError(f"signal fields missing or not text: {', '.join(missing)}")
    at = datetime.fromisoformat(data["at"])
    return Signal(
        source=data["source"],
        site=data["site"],
        zone=data["zone"],
        code=data["code"],
        raw=data["raw"],
        at=at,  # Signal refuses a naive time
        type=IncidentType(data["type"]),
        kind=SignalKind(data["kind"]),
    )


def signal_from_json(text: str) -> Signal:
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return signal_from_dict(data)
