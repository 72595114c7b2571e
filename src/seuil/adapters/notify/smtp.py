"""E-mail notifications through an SMTP server (standard library ``smtplib``).

One connection per message: notifications are few, and a connection held open between
incidents would only go stale. Failures are classified for the dispatcher:

- the server cannot be reached, drops the connection or times out, or answers with a
  4xx code (greylisting, mailbox busy): *transient*, retried later;
- a 5xx answer (recipient refused, sender refused, authentication refused) or an
  address that is not one: *permanent*, shown as failed at once.
"""

from __future__ import annotations

import smtplib
import ssl
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from seuil.domain.errors import NotificationError

__all__ = ["SmtpNotifier"]


def _transient_code(code: int) -> bool:
    return 400 <= code < 500


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class SmtpNotifier:
    """Sends one e-mail per notification; ``channel`` is ``"email"``."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        channel: str = "email",
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("SMTP authentication needs both a user name and a password")
        self._host = host
        self._port = port
        self._sender = sender
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._channel = channel

    @property
    def channel(self) -> str:
        return self._channel

    def __repr__(self) -> str:  # never the password
        return f"SmtpNotifier({self._host}:{self._port}, from {self._sender})"

    def message(self, recipient: str, subject: str, body: str) -> EmailMessage:
        """The e-mail as it will be sent (UTF-8, French text kept as is)."""
        try:
            to = Address(addr_spec=recipient.strip())
        except (ValueError, IndexError, HeaderParseError) as error:
            raise NotificationError(
                f"not an e-mail address: {recipient!r} ({error})", transient=False
            ) from None
        if not to.domain:
            raise NotificationError(f"not an e-mail address: {recipient!r}", transient=False)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body, charset="utf-8")
        return message

    def send(self, recipient: str, subject: str, body: str) -> None:
        message = self.message(recipient, subject, body)
        where = f"{self._host}:{self._port}"
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            answers = error.recipients.values()
            transient = all(_transient_code(code) for code, _ in answers)
            detail = "; ".join(f"{code} {_text(text)}" for code, text in answers)
            raise NotificationError(
                f"the SMTP server {where} refused {recipient}: {detail}", transient=transient
            ) from None
        except smtplib.SMTPResponseException as error:  # sender, data, auth refused
            raise NotificationError(
                f"the SMTP server {where} answered {error.smtp_code} {_text(error.smtp_error)}",
                transient=_transient_code(error.smtp_code),
            ) from None
        except (smtplib.SMTPException, OSError) as error:  # OSError: timeouts too
            # Not reachable, connection dropped, TLS failed, timed out: try again later.
            raise NotificationError(
                f"cannot deliver through the SMTP server {where}: {type(error).__name__}: {error}",
                transient=True,
            ) from None
