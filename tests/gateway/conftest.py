"""Gateway fixtures: the real Mosquitto (``SEUIL_TEST_MQTT``, default 127.0.0.1:1883)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

SERVICES_REQUIRED = bool(os.environ.get("CI") or os.environ.get("SEUIL_REQUIRE_SERVICES"))
MQTT_HOST, _, MQTT_PORT = os.environ.get("SEUIL_TEST_MQTT", "127.0.0.1:1883").partition(":")


@pytest.fixture(scope="session")
def broker() -> tuple[str, int]:
    """The broker's address; skip (or fail in CI) when it is not reachable."""
    port = int(MQTT_PORT or 1883)
    try:
        socket.create_connection((MQTT_HOST, port), timeout=1).close()
    except OSError as exc:
        message = (
            f"MQTT broker not reachable at {MQTT_HOST}:{port} ({exc}); start Mosquitto or "
            "set SEUIL_TEST_MQTT=host:port"
        )
        if SERVICES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return MQTT_HOST, port


@pytest.fixture
def site_id() -> str:
    """A fresh site id per test, so tests never see each other's retained messages."""
    return f"T{uuid.uuid4().hex[:10].upper()}"
