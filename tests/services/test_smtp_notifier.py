"""E-mail through a real local SMTP server (aiosmtpd), and the dispatcher around it."""

from __future__ import annotations

import pytest
from tests.services.incident_fakes import T0, ManualClock, RecordingBus
from tests.services.smtp_server import Credentials, Inbox, LocalSmtp, free_port

from seuil.adapters.notify.smtp import SmtpNotifier
from seuil.domain.errors import NotificationError
from seuil.domain.incidents import EscalationLevel, IncidentType, Signal
from seuil.domain.notifications import NotificationStatus, RetryPolicy
from seuil.services.incidents import IncidentService
from seuil.services.notifications import NotificationDispatcher

SUBJECT = "[seuil] Incident : alerte panique, zone hall (gravité critique) — élève"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    server = LocalSmtp(Inbox(refused=("inconnu@lycee.fr",), busy=("occupe@lycee.fr",))).start()
    yield server
    server.stop()


def _notifier(server: LocalSmtp, **options: object) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", server.port, "seuil@lycee.fr", timeout=5, **options)  # type: ignore[arg-type]


def test_delivers_a_french_message(smtp: LocalSmtp) -> None:
    _notifier(smtp).send("cpe@lycee.fr", SUBJECT, "Incident I1 : déclenché à 08 h 00.\n")
    (message,) = smtp.inbox.wait_for(1)
    assert message["Subject"] == SUBJECT
    assert message["To"] == "cpe@lycee.fr" and message["From"] == "seuil@lycee.fr"
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"]
    assert message.get_content().replace("\r\n", "\n") == "Incident I1 : déclenché à 08 h 00.\n"
    assert smtp.inbox.envelopes == [("seuil@lycee.fr", ["cpe@lycee.fr"])]


def test_a_refused_recipient_is_permanent(smtp: LocalSmtp) -> None:
    with pytest.raises(NotificationError) as caught:
        _notifier(smtp).send("inconnu@lycee.fr", SUBJECT, "x")
    assert caught.value.transient is False and "550" in caught.value.message


def test_a_busy_mailbox_is_transient(smtp: LocalSmtp) -> None:
    with pytest.raises(NotificationError) as caught:
        _notifier(smtp).send("occupe@lycee.fr", SUBJECT, "x")
    assert caught.value.transient is True and "450" in caught.value.message


def test_not_an_address_is_permanent_without_connecting() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), "seuil@lycee.fr", timeout=1)
    for bad in ("pas une adresse", "cpe@", "a@b@c"):
        with pytest.raises(NotificationError) as caught:
            notifier.send(bad, SUBJECT, "x")
        assert caught.value.transient is False


def test_a_server_that_is_down_is_transient() -> None:
    notifier = SmtpNotifier("127.0.0.1", free_port(), "seuil@lycee.fr", timeout=2)
    with pytest.raises(NotificationError) as caught:
        notifier.send("cpe@lycee.fr", SUBJECT, "x")
    assert caught.value.transient is True
    assert "ConnectionRefusedError" in caught.value.message


def test_login_accepted_and_refused() -> None:
    server = LocalSmtp(authenticator=Credentials("seuil", "s3cret"), auth_require_tls=False)
    server.start()
    try:
        _notifier(server, username="seuil", password="s3cret").send("cpe@lycee.fr", "a", "b")
        assert len(server.inbox.wait_for(1)) == 1
        with pytest.raises(NotificationError) as caught:
            _notifier(server, username="seuil", password="faux").send("cpe@lycee.fr", "a", "b")
        assert caught.value.transient is False and "535" in caught.value.message
        assert "faux" not in repr(_notifier(server, username="seuil", password="faux"))
    finally:
        server.stop()


def test_retried_while_the_server_is_down_then_delivered(site) -> None:  # type: ignore[no-untyped-def]
    """The dispatcher with the real SMTP adapter: down, retried later, delivered."""
    server = LocalSmtp()  # not started: the mail server is down
    clock = ManualClock()
    incidents = IncidentService(
        site.uow, clock, recipients={EscalationLevel.GATE_AGENT: [("email", "cpe@lycee.fr")]},
        bus=RecordingBus(), site_id="0830042X",
    )  # fmt: skip
    dispatcher = NotificationDispatcher(
        site.uow, clock, {"email": _notifier(server)}, retry=RetryPolicy(base_s=30)
    )
    incident = incidents.receive(
        Signal("btn-1", "0830042X", "hall", "PA", "Nri1/PA01", T0, IncidentType.PANIC)
    )
    assert incident is not None
    assert len(dispatcher.dispatch_due().retrying) == 1
    with site.uow() as uow:
        (pending,) = uow.notifications.for_incident(incident.id)
    assert pending.status is NotificationStatus.PENDING and "refused" in pending.last_error.lower()
    server.start()
    try:
        clock.advance(29)
        assert dispatcher.dispatch_due().attempted == 0  # backoff: not yet
        clock.advance(1)
        assert len(dispatcher.dispatch_due().sent) == 1
        (message,) = server.inbox.wait_for(1)
        assert message["Subject"].startswith("[seuil] Incident : alerte panique, zone hall")
        assert incident.id in message.get_content()
    finally:
        server.stop()
    with site.uow() as uow:
        (sent,) = uow.notifications.for_incident(incident.id)
    assert sent.status is NotificationStatus.SENT and sent.attempts == 2
