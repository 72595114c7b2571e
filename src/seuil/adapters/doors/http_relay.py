"""A door behind a network relay that takes HTTP GET or POST requests.

Most IP relay boards (and door controllers with a web API) can be driven this way.
Each command has its own URL; ``{duration_s}`` and ``{duration_ms}`` in a URL are
replaced by the pulse length. With ``method="POST"`` the body is also a JSON object
``{"door": ..., "action": "pulse", "duration_s": 3.0}``.

* Authentication: HTTP basic or a bearer token (resolved from the site configuration's
  secrets; neither is ever logged, nor is a URL's query or user info).
* One attempt only: no retry at all (a pulse that timed out may have reached the relay,
  and a door must never be pulsed twice), no redirects.
* Any failure (unreachable, timeout, HTTP error, unreadable state) raises DeviceError
  naming the door and what went wrong.
* ``state_url`` is optional: the door's state is read from a JSON field (``"open"``,
  ``"closed"``, ``"forced"``, ``"held_open"``, or a boolean/0-1 meaning open); without
  it the state is UNKNOWN (such a door cannot be part of an airlock).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from seuil.domain.errors import DeviceError
from seuil.domain.lane import DoorAction, DoorState

__all__ = ["BasicAuth", "BearerAuth", "HttpRelayDoor", "redact_url"]

logger = logging.getLogger(__name__)

MAX_PULSE_S = 30.0


@dataclass(frozen=True, slots=True)
class BasicAuth:
    username: str
    password: str  # repr hides it below

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='***')"


@dataclass(frozen=True, slots=True)
class BearerAuth:
    token: str

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"


def redact_url(url: str) -> str:
    """``scheme://host:port/path``: no user info, no query (they may hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class HttpRelayDoor:
    def __init__(
        self,
        name: str,
        pulse_url: str,
        *,
        lock_url: str | None = None,
        release_url: str | None = None,
        state_url: str | None = None,
        method: Literal["GET", "POST"] = "POST",
        auth: BasicAuth | BearerAuth | None = None,
        timeout_s: float = 2.0,
        state_field: str = "state",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._name = name
        self._urls = {
            DoorAction.PULSE: pulse_url,
            DoorAction.LOCK: lock_url,
            DoorAction.RELEASE: release_url,
        }
        self._state_url = state_url
        self._method = method
        self._state_field = state_field
        self._timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {auth.token}"} if isinstance(auth, BearerAuth) else {}
        self._client = httpx.Client(
            timeout=timeout_s,
            transport=transport or httpx.HTTPTransport(retries=0),
            follow_redirects=False,
            auth=(auth.username, auth.password) if isinstance(auth, BasicAuth) else None,
            headers=headers,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def reports_state(self) -> bool:
        return self._state_url is not None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpRelayDoor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the port -------------------------------------------------------------------------

    def pulse(self, duration_s: float) -> None:
        if not 0 < duration_s <= MAX_PULSE_S:
            raise DeviceError(
                f"door {self._name}: a pulse lasts more than 0 and at most {MAX_PULSE_S:g} s",
                self._name,
            )
        self._command(DoorAction.PULSE, duration_s)

    def lock(self) -> None:
        self._command(DoorAction.LOCK)

    def release(self) -> None:
        self._command(DoorAction.RELEASE)

    def state(self) -> DoorState:
        if self._state_url is None:
            return DoorState.UNKNOWN
        response = self._send("GET", self._state_url, None, "state")
        try:
            value: Any = response.json()
            for key in self._state_field.split("."):
                value = value[key]
        except (ValueError, KeyError, TypeError, IndexError):
            raise DeviceError(
                f"door {self._name}: the relay's state answer has no {self._state_field!r} field",
                self._name,
            ) from None
        return self._parse_state(value)

    # -- helpers ----------------------------------------------------------------------------

    def _command(self, action: DoorAction, duration_s: float | None = None) -> None:
        template = self._urls[action]
        if template is None:
            raise DeviceError(
                f"door {self._name}: no {action} URL is configured for this relay", self._name
            )
        seconds = duration_s or 0.0
        url = template.replace("{duration_s}", f"{seconds:g}").replace(
            "{duration_ms}", str(round(seconds * 1000))
        )
        body: dict[str, Any] | None = None
        if self._method == "POST":
            body = {"door": self._name, "action": action.value}
            if duration_s is not None:
                body["duration_s"] = duration_s
        self._send(self._method, url, body, action.value)
        logger.info("door %s: %s sent", self._name, action.value)

    def _send(
        self, method: str, url: str, body: dict[str, Any] | None, what: str
    ) -> httpx.Response:
        where = redact_url(url)
        try:
            response = self._client.request(method, url, json=body)
        except httpx.TimeoutException:
            raise DeviceError(
                f"door {self._name}: no answer from {where} within {self._timeout_s:g} s to "
                f"{what} (not retried: it may or may not have been applied)",
                self._name,
            ) from None
        except httpx.HTTPError as exc:
            raise DeviceError(
                f"door {self._name}: cannot reach {where} to {what} ({type(exc).__name__})",
                self._name,
            ) from None
        if response.status_code in (401, 403):
            raise DeviceError(
                f"door {self._name}: {where} refused the credentials (HTTP "
                f"{response.status_code}); check the relay's auth settings",
                self._name,
            )
        if not response.is_success:
            raise DeviceError(
                f"door {self._name}: {where} answered HTTP {response.status_code} to {what}",
                self._name,
            )
        return response

    def _parse_state(self, value: object) -> DoorState:
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return DoorState.OPEN if value else DoorState.CLOSED
        if isinstance(value, str):
            try:
                return DoorState(value.strip().lower())
            except ValueError:
                pass
        raise DeviceError(
            f"door {self._name}: unreadable state {str(value)[:40]!r} from the relay", self._name
        )
