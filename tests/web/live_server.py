"""A real uvicorn server in a thread, for tests that need HTTP on a socket (SSE, browser,
the hub and its sites)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving_at(app: object, port: int | None = None, **options: Any) -> Iterator[tuple[str, int]]:
    """``app`` served on 127.0.0.1 (a free port unless given) until the block ends; yields
    (host, port). ``options``: more ``uvicorn.Config`` arguments (TLS: ``ssl_certfile``...)."""
    port = port or free_port()
    options.setdefault("timeout_graceful_shutdown", 1)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serving(app: object) -> Iterator[str]:
    """``app`` served on a free port until the block ends; yields its base URL."""
    with serving_at(app) as (host, port):
        yield f"http://{host}:{port}"
