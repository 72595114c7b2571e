"""Device payloads (events and health states): size, JSON, schema, then a Signal.

Shared by the MQTT gateway and the webhook handler, so a device speaks the same JSON
whichever way it reaches seuil. The schemas are package data (``event.schema.json``,
``state.schema.json``). Every problem is a :class:`PayloadError` with a short stable
``reason`` (for logs, counters and the ``gateway/rejected`` topic); nothing here raises
anything else on bad input, whatever the bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from seuil.domain.incidents import IncidentType, Signal, SignalKind

__all__ = [
    "DEVICE_ID",
    "EVENT_TYPES",
    "MAX_PAYLOAD",
    "PayloadError",
    "check_device_id",
    "event_validator",
    "parse_event",
    "parse_state",
    "state_validator",
]

MAX_PAYLOAD = 4096  # bytes; a device event is a few dozen
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# How far the device's clock may run ahead of ours, and how old an event may be (queued
# while the broker was away), before we use the time of reception instead.
FUTURE_TOLERANCE = timedelta(minutes=2)
PAST_LIMIT = timedelta(days=1)

EVENT_TYPES: Mapping[str, IncidentType] = MappingProxyType(
    {
        "panic": IncidentType.PANIC,  # bouton d'alerte
        "call": IncidentType.PANIC,  # borne d'appel d'urgence: someone calls for help
        "duress": IncidentType.DURESS,
        "intrusion": IncidentType.INTRUSION,
        "fire": IncidentType.FIRE,
        "tamper": IncidentType.TAMPER,
        "power": IncidentType.POWER,
        "battery_low": IncidentType.POWER,
        "test": IncidentType.PERIODIC_TEST,
        "door_forced": IncidentType.DOOR_FORCED,
        "door_held_open": IncidentType.DOOR_HELD_OPEN,
    }
)


class PayloadError(ValueError):
    """A payload we refuse; ``reason`` is a short stable tag, ``detail`` says more."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@cache
def _validator(name: str) -> Draft202012Validator:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def event_validator() -> Draft202012Validator:
    return _validator("event.schema.json")


def state_validator() -> Draft202012Validator:
    return _validator("state.schema.json")


def check_device_id(device_id: str) -> None:
    if not DEVICE_ID.match(device_id):
        raise PayloadError("bad_device_id", repr(device_id[:70]))


def _no_constant(name: str) -> float:
    raise PayloadError("not_json", f"{name} is not JSON")


def _load(payload: bytes) -> tuple[str, dict[str, Any]]:
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("too_large", f"{len(payload)} bytes > {MAX_PAYLOAD}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("not_utf8", f"byte {exc.start}") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise PayloadError("not_json", "nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError
        raise PayloadError("not_json", str(exc)[:80]) from None
    if not isinstance(data, dict):
        raise PayloadError("schema", f"a JSON object is expected, not {type(data).__name__}")
    return text, data


def _check(validator: Draft202012Validator, data: dict[str, Any]) -> None:
    try:
        error = next(iter(validator.iter_errors(data)), None)
    except RecursionError:
        raise PayloadError("schema", "nested too deeply") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "payload"
        raise PayloadError("schema", f"{where}: {error.message}"[:160])


def _device_time(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError("schema", f"at: not an RFC 3339 time: {value[:40]!r}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise PayloadError("schema", "at: the time needs an offset (Z or +01:00)")
    return at


def _when(value: object, received_at: datetime) -> datetime:
    """The device's time when it is plausible, else the time of reception."""
    if not isinstance(value, str):
        return received_at
    at = _device_time(value)
    if received_at - PAST_LIMIT <= at <= received_at + FUTURE_TOLERANCE:
        return at
    return received_at


def parse_event(
    device_id: str,
    payload: bytes,
    *,
    site: str,
    received_at: datetime,
    source_prefix: str = "mqtt",
    default_zone: str = "",
) -> Signal:
    """The signal a device event carries, or PayloadError.

    ``source`` is ``<source_prefix>:<device_id>``; ``code`` the event type as sent;
    ``raw`` the payload text; the time is the device's when plausible (not more than
    :data:`FUTURE_TOLERANCE` ahead nor :data:`PAST_LIMIT` behind), else ``received_at``.
    An event type nobody mapped gives an UNKNOWN signal: kept, shown to a human.
    """
    check_device_id(device_id)
    text, data = _load(payload)
    _check(event_validator(), data)
    code = str(data["type"])
    return Signal(
        source=f"{source_prefix}:{device_id}",
        site=site,
        zone=str(data.get("zone") or default_zone),
        code=code,
        raw=text,
        at=_when(data.get("at"), received_at),
        type=EVENT_TYPES.get(code, IncidentType.UNKNOWN),
        kind=SignalKind.RESTORE if data.get("restore") is True else SignalKind.EVENT,
    )


def parse_state(device_id: str, payload: bytes) -> dict[str, Any]:
    """A device's health report (``status`` online/offline, battery...), or PayloadError."""
    check_device_id(device_id)
    _, data = _load(payload)
    _check(state_validator(), data)
    if isinstance(data.get("at"), str):
        _device_time(data["at"])
    return data
