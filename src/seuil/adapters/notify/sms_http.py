"""SMS or push notifications through a provider's HTTP API (httpx, with timeouts).

The provider is described by its URL, a bearer token and a JSON body template whose
strings may contain ``$recipient``, ``$subject`` and ``$body`` (``string.Template``
placeholders, substituted in every string of the template, keys included). Example for
a typical SMS API::

    HttpSmsNotifier("https://sms.example/v1/messages", token,
                     {"to": "$recipient", "text": "$subject : $body", "sender": "LYCEE"})

Outcome: a 2xx answer is delivered; 5xx, 408, 429, timeouts and connection failures are
transient :class:`~seuil.domain.errors.NotificationError` (the dispatcher retries);
any other 4xx (bad number, bad token) is permanent. Messages never contain the token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from string import Template
from typing import Any

import httpx

from seuil.domain.errors import NotificationError

__all__ = ["DEFAULT_TEMPLATE", "HttpSmsNotifier"]

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE: Mapping[str, Any] = {"to": "$recipient", "text": "$subject : $body"}
_TRANSIENT_4XX = frozenset({408, 425, 429})


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    if isinstance(template, str):
        return Template(template).safe_substitute(values)
    if isinstance(template, Mapping):
        return {_fill(k, values): _fill(v, values) for k, v in template.items()}
    if isinstance(template, list | tuple):
        return [_fill(v, values) for v in template]
    return template


class HttpSmsNotifier:
    def __init__(
        self,
        url: str,
        token: str | None,
        template: Mapping[str, Any] = DEFAULT_TEMPLATE,
        *,
        channel: str = "sms",
        timeout_s: float = 10.0,
        max_length: int = 640,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the provider URL must be http(s)")
        self._url = url
        self._channel = channel
        self._template = template
        self._max_length = max_length
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )
        self._where = httpx.URL(url).copy_with(query=None, username=None, password=None)

    @property
    def channel(self) -> str:
        return self._channel

    def send(self, recipient: str, subject: str, body: str) -> None:
        if not recipient.strip():
            raise NotificationError(f"{self._channel}: no recipient", transient=False)
        text = body if len(body) <= self._max_length else body[: self._max_length - 1] + "…"
        payload = _fill(self._template, {"recipient": recipient, "subject": subject, "body": text})
        try:
            answer = self._client.post(self._url, json=payload)
        except httpx.TimeoutException:
            raise NotificationError(
                f"{self._channel}: the provider at {self._where} did not answer in time"
            ) from None
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            raise NotificationError(
                f"{self._channel}: cannot reach the provider at {self._where} ({reason})"
            ) from None
        status = answer.status_code
        if 200 <= status < 300:
            log.info("%s sent through %s", self._channel, self._where)
            return
        detail = answer.text.strip().replace("\n", " ")[:120]
        transient = status >= 500 or status in _TRANSIENT_4XX or status < 200
        raise NotificationError(
            f"{self._channel}: the provider at {self._where} answered {status} ({detail})",
            transient=transient,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpSmsNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
