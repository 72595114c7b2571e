"""Helpers of the hub tests: a real uvicorn server (the site tests' own), and waiting."""

from __future__ import annotations

import time

from tests.web.live_server import free_port
from tests.web.live_server import serving_at as serving

__all__ = ["free_port", "serving", "wait_until"]


def wait_until(predicate, timeout: float = 30.0, every: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())
