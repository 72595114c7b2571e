"""The webhook handler for devices that can only call a URL (unit tests, real JSON Schema)."""

from __future__ import annotations

import json
import logging

import pytest
from tests.gateway.helpers import NOW, FixedClock, ListSink

from seuil.adapters.webhook_devices import WebhookGateway, hash_token, new_device_token
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.incidents import IncidentType, SignalKind

TOKEN, TOKEN_HASH = new_device_token()
JSON = "application/json"


def make(sink: ListSink | None = None) -> tuple[WebhookGateway, ListSink]:
    sink = sink or ListSink()
    gateway = WebhookGateway(
        {"borne-gymnase": TOKEN_HASH, "autre": hash_token("x")},
        sink,
        FixedClock(),
        site="0830042X",
        zones={"borne-gymnase": "Gymnase"},
    )
    return gateway, sink


def test_a_valid_call_becomes_a_signal() -> None:
    gateway, sink = make()
    body = json.dumps({"type": "call", "restore": False}).encode()
    result = gateway.handle("borne-gymnase", TOKEN, body, "application/json; charset=utf-8")
    assert (result.status, result.code) == (202, "accepted")
    (signal,) = sink.signals
    assert signal == result.signal
    assert (signal.source, signal.site, signal.zone, signal.code) == (
        "webhook:borne-gymnase",
        "0830042X",
        "Gymnase",
        "call",
    )
    assert (signal.type, signal.kind, signal.at, signal.raw) == (
        IncidentType.PANIC,
        SignalKind.EVENT,
        NOW,
        body.decode(),
    )


def test_token_hash_is_sha256_and_tokens_are_unique() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert new_device_token()[0] != new_device_token()[0]


@pytest.mark.parametrize(
    ("device", "token", "body", "ctype", "status", "code"),
    [
        ("borne-gymnase", "wrong", b'{"type":"panic"}', JSON, 401, "authentication_failed"),
        ("inconnu", TOKEN, b'{"type":"panic"}', JSON, 401, "authentication_failed"),
        ("autre", TOKEN, b'{"type":"panic"}', JSON, 401, "authentication_failed"),
        ("borne-gymnase", "", b'{"type":"panic"}', JSON, 401, "authentication_failed"),
        ("borne-gymnase", TOKEN, b"{" + b" " * 5000 + b"}", JSON, 413, "too_large"),
        ("borne-gymnase", TOKEN, b'{"type":"panic"}', "text/plain", 415, "unsupported_media_type"),
        ("borne-gymnase", TOKEN, b'{"type":"panic"}', "", 415, "unsupported_media_type"),
        (
            "borne-gymnase",
            TOKEN,
            b'{"type":"panic"}',
            "application/json; charset=latin-1",
            415,
            "unsupported_media_type",
        ),
        ("borne-gymnase", TOKEN, b"not json", JSON, 422, "not_json"),
        ("borne-gymnase", TOKEN, b"\xff", JSON, 422, "not_utf8"),
        ("borne-gymnase", TOKEN, b'{"type":"PANIC!"}', JSON, 422, "schema"),
        ("borne-gymnase", TOKEN, b'{"zone":"A"}', JSON, 422, "schema"),
        ("borne-gymnase", TOKEN, b"[1,2]", JSON, 422, "schema"),
        (
            "borne-gymnase",
            TOKEN,
            b'{"type":"panic","at":"2026-03-02T08:00:00"}',
            JSON,
            422,
            "schema",
        ),
    ],
)
def test_bad_calls_get_a_clear_error_and_store_nothing(
    device: str,
    token: str,
    body: bytes,
    ctype: str,
    status: int,
    code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway, sink = make()
    with caplog.at_level(logging.WARNING):
        result = gateway.handle(device, token, body, ctype)
    assert (result.status, result.code) == (status, code)
    assert result.signal is None and sink.signals == []
    assert result.message and "(" in result.message  # French, then English
    assert set(result.body()) == {"code", "message"}
    assert TOKEN not in result.message and TOKEN not in caplog.text


def test_schema_errors_say_what_is_wrong() -> None:
    gateway, _ = make()
    result = gateway.handle("borne-gymnase", TOKEN, b'{"type":"panic","colour":1}', JSON)
    assert result.status == 422 and "colour" in result.message


def test_storage_outage_without_spool_asks_the_device_to_retry() -> None:
    sink = ListSink()
    sink.fail = lambda _s: StorageUnavailableError("down")
    gateway, _ = make(sink)
    result = gateway.handle("borne-gymnase", TOKEN, b'{"type":"fire"}', JSON)
    assert (result.status, result.code) == (503, "storage_unavailable")
