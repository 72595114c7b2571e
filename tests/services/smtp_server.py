"""A real local SMTP server (aiosmtpd) for the notification tests, on a port of our own."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """Keeps every accepted message; refuses ``refused`` for good, ``busy`` for now."""

    def __init__(self, refused: tuple[str, ...] = (), busy: tuple[str, ...] = ()) -> None:
        self.refused = set(refused)
        self.busy = set(busy)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refused:
            return "550 5.1.1 destinataire inconnu"
        if address in self.busy:
            return "450 4.2.1 boîte occupée, réessayez"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = message_from_bytes(envelope.original_content, policy=default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


class Credentials:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        ok = (isinstance(auth_data, LoginPassword)
              and (auth_data.login, auth_data.password) == (self.user, self.password))  # fmt: skip
        return AuthResult(success=ok, handled=False)


class LocalSmtp:
    """Start and stop it at will on the same port (the "server down" cases)."""

    def __init__(self, inbox: Inbox | None = None, port: int | None = None, **options: Any) -> None:
        self.inbox = inbox or Inbox()
        self.port = port or free_port()
        self._options = options
        self._controller: Controller | None = None

    def start(self) -> LocalSmtp:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                      **self._options)  # fmt: skip
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
