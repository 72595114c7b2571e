"""One stdlib HTTP server class for the tests' fake devices (cameras, relays, providers).

``http.server.ThreadingHTTPServer`` runs handlers in daemon threads that outlive
``server_close()`` and prints a traceback to stderr when a client goes away. A handler
still sleeping when its test ends then writes into a later test's output, and on
CPython 3.11 that traceback (which parses source lines to place its carets) races with
pytest's module rewriting (gh-106905). This one joins its handler threads on close and
keeps the errors for the test to read instead of printing them."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """A loopback HTTP server whose ``server_close()`` waits for every handler."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        handler.timeout = 10  # a client that connects and sends nothing cannot hold close()
        super().__init__(("127.0.0.1", 0), handler)
        self.errors: list[BaseException] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)
