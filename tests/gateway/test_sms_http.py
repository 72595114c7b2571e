"""HttpSmsNotifier against a real local HTTP server (stdlib, in a thread)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from tests.local_http import LocalHTTPServer

from seuil.adapters.notify.sms_http import HttpSmsNotifier
from seuil.domain.errors import NotificationError


class Provider:
    """A fake SMS provider over real HTTP: records requests, answers as told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.status = 201
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                provider.requests.append((self.path, dict(self.headers), body))
                time.sleep(provider.delay)
                answer = b'{"error": "invalid number"}' if provider.status >= 400 else b"{}"
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = LocalHTTPServer(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms?account=lycee"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.stop()


TEMPLATE = {"to": ["$recipient"], "message": "$subject : $body", "sender": "LYCEE", "flash": False}


def test_sends_the_filled_template_with_the_bearer_token(provider: Provider) -> None:
    with HttpSmsNotifier(provider.url, "s3cret-token", TEMPLATE) as sms:
        assert sms.channel == "sms"
        sms.send("+33612345678", "Alerte PPMS", "Confinement : bâtiment B ($5 cost)")
    ((path, headers, body),) = provider.requests
    assert path == "/v1/sms?account=lycee"
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert body == {
        "to": ["+33612345678"],
        "message": "Alerte PPMS : Confinement : bâtiment B ($5 cost)",
        "sender": "LYCEE",
        "flash": False,
    }


@pytest.mark.parametrize(
    ("status", "transient"),
    [(500, True), (503, True), (429, True), (400, False), (401, False), (404, False)],
)
def test_status_codes_map_to_transient_or_permanent(
    provider: Provider, status: int, transient: bool
) -> None:
    provider.status = status
    with (
        HttpSmsNotifier(provider.url, "s3cret-token") as sms,
        pytest.raises(NotificationError) as caught,
    ):
        sms.send("+33612345678", "Alerte", "texte")
    assert caught.value.transient is transient
    assert str(status) in caught.value.message
    assert "s3cret-token" not in caught.value.message
    assert "account=lycee" not in caught.value.message  # the query may hold secrets too


def test_timeout_is_transient(provider: Provider) -> None:
    provider.delay = 1.0
    started = time.monotonic()
    with (
        HttpSmsNotifier(provider.url, None, timeout_s=0.2, channel="push") as push,
        pytest.raises(NotificationError, match="did not answer in time") as caught,
    ):
        push.send("device-token-1", "Alerte", "texte")
    assert caught.value.transient and time.monotonic() - started < 1.0


def test_unreachable_provider_is_transient() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        HttpSmsNotifier(f"http://127.0.0.1:{port}/sms", "t") as sms,
        pytest.raises(NotificationError, match="cannot reach") as caught,
    ):
        sms.send("+33612345678", "a", "b")
    assert caught.value.transient


def test_no_recipient_is_permanent_and_long_bodies_are_cut(provider: Provider) -> None:
    with HttpSmsNotifier(provider.url, "t", max_length=20) as sms:
        with pytest.raises(NotificationError) as caught:
            sms.send("  ", "a", "b")
        assert not caught.value.transient
        sms.send("+33612345678", "A", "x" * 100)
    assert provider.requests[0][2]["text"] == "A : " + "x" * 19 + "…"
    with pytest.raises(ValueError):
        HttpSmsNotifier("ftp://example", "t")
