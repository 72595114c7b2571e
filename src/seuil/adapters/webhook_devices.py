"""Devices that can only call a URL: a framework-independent webhook handler.

The web layer (FastAPI, later) passes the device id from the path, the token from the
``Authorization: Bearer`` header, the raw body and its content type to
:meth:`WebhookGateway.handle`, and answers with :class:`WebhookResult`'s status and
JSON body. The body is the same event JSON as on MQTT (``event.schema.json``, see
``docs/mqtt.md``). The site stores only each token's SHA-256 (:func:`hash_token`),
compared in constant time; an unknown device and a wrong token get the same answer.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from seuil.adapters.mqtt_devices.payloads import MAX_PAYLOAD, PayloadError, parse_event
from seuil.domain.accounts import secret_digest
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.incidents import Signal
from seuil.ports.clock import Clock
from seuil.ports.signals import SignalSink

__all__ = ["WebhookGateway", "WebhookResult", "hash_token", "new_device_token"]

log = logging.getLogger(__name__)

_DUMMY_HASH = secret_digest("no such device")


def hash_token(token: str) -> str:
    """What the site stores for a device token: its SHA-256, in hex (the same digest as
    every other random token of the site: sessions, API and setup tokens)."""
    return secret_digest(token)


def new_device_token() -> tuple[str, str]:
    """A fresh token for a device (shown once to the installer) and its stored hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """The answer: HTTP ``status``, a stable ``code`` and a message (French, then English)."""

    status: int
    code: str
    message: str
    signal: Signal | None = None

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _result(
    status: int, code: str, fr: str, en: str, signal: Signal | None = None
) -> WebhookResult:
    return WebhookResult(status, code, f"{fr} ({en})", signal)


class WebhookGateway:
    """Checks a device call and hands its event to the sink as a ``webhook:<id>`` signal.

    ``devices`` maps each device id to its token hash (:func:`hash_token`); ``zones``
    optionally gives a device's zone for events that name none.
    """

    def __init__(
        self,
        devices: Mapping[str, str],
        sink: SignalSink,
        clock: Clock,
        *,
        site: str,
        zones: Mapping[str, str] | None = None,
        max_body: int = MAX_PAYLOAD,
    ) -> None:
        self._devices = {d: h.lower() for d, h in devices.items()}
        self._sink = sink
        self._clock = clock
        self._site = site
        self._zones = dict(zones or {})
        self._max_body = max_body

    def _authorised(self, device_id: str, token: str) -> bool:
        expected = self._devices.get(device_id, _DUMMY_HASH)
        match = hmac.compare_digest(hash_token(token), expected)
        return match and device_id in self._devices

    def handle(self, device_id: str, token: str, body: bytes, content_type: str) -> WebhookResult:
        """The answer to one call; never raises on bad input."""
        if not self._authorised(device_id, token):
            log.warning(
                "webhook: refused a call for device %r (unknown or wrong token)", device_id[:70]
            )
            return _result(
                401,
                "authentication_failed",
                "appareil inconnu ou jeton invalide",
                "unknown device or invalid token",
            )
        if len(body) > self._max_body:
            log.warning("webhook %s: body too large (%d bytes)", device_id, len(body))
            return _result(
                413,
                "too_large",
                f"corps trop volumineux (maximum {self._max_body} octets)",
                f"body too large (at most {self._max_body} bytes)",
            )
        media, _, params = content_type.partition(";")
        charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
        if media.strip().lower() != "application/json" or charset not in ("utf-8", "utf8", ""):
            return _result(
                415,
                "unsupported_media_type",
                "le corps doit être du JSON (application/json, UTF-8)",
                "the body must be JSON (application/json, UTF-8)",
            )
        try:
            signal = parse_event(
                device_id,
                body,
                site=self._site,
                received_at=self._clock.now(),
                source_prefix="webhook",
                default_zone=self._zones.get(device_id, ""),
            )
        except PayloadError as exc:
            log.warning("webhook %s: event refused: %s", device_id, exc.reason)
            return _result(
                422,
                exc.reason,
                f"événement refusé : {exc.detail or exc.reason}",
                f"event refused: {exc.detail or exc.reason}",
            )
        try:
            self._sink.receive(signal)
        except StorageUnavailableError:
            log.error("webhook %s: storage unavailable, the device should retry", device_id)
            return _result(
                503,
                "storage_unavailable",
                "stockage indisponible, réessayez",
                "storage unavailable, retry",
            )
        return _result(202, "accepted", "événement reçu", "event received", signal)
