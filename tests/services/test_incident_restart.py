"""THE test of the issue: kill the engine with SIGKILL during an incident, restart it,
and the incident, its escalation timer and its pending e-mail are all intact.

``seuil incidents run`` runs as a real process on a SQLite file, with a short escalation
policy (from the settings, through the environment) and a real local SMTP server
(aiosmtpd) that is down at first, so the first e-mail is still pending when the engine
is killed. The escalation falls due while the engine is dead; after the restart it is
applied once, at the right level, and both e-mails are delivered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.services.smtp_server import Inbox, LocalSmtp, free_port

from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine
from seuil.domain.incidents import Action, EscalationLevel, IncidentStatus
from seuil.domain.notifications import NotificationStatus
from seuil.ports.storage import IncidentQuery

ESCALATION_S = 12  # the gate agent has 12 s to acknowledge before the CPE is told


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Engine:
    """``seuil incidents run`` as a child process, its output in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "seuil.cli.main", *args], env=self.env, capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "seuil.cli.main", "incidents", "run"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out.close()
        wait_until("the engine to start", lambda: "en service" in self.output())

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)

    def stop_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Engine, LocalSmtp, str]]:
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    smtp = LocalSmtp(Inbox(), port=free_port())  # created, not started: the server is down
    src = Path(__file__).resolve().parents[2] / "src"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "SEUIL_LANG": "fr",
        "SEUIL_ACTOR": "test:restart",
        "SEUIL_SITE__ID": "0830042X",
        "SEUIL_DATABASE__URL": url,
        "SEUIL_KEYS__DIR": str(tmp_path / "keys"),
        "SEUIL_INCIDENTS__ESCALATION_S": json.dumps({"critical": [ESCALATION_S, 600, 600]}),
        "SEUIL_INCIDENTS__TICK_S": "0.5",
        "SEUIL_NOTIFICATIONS__SMTP__HOST": "127.0.0.1",
        "SEUIL_NOTIFICATIONS__SMTP__PORT": str(smtp.port),
        "SEUIL_NOTIFICATIONS__SMTP__SENDER": "seuil@lycee-test.fr",
        "SEUIL_NOTIFICATIONS__SMTP__TIMEOUT_S": "3",
        "SEUIL_NOTIFICATIONS__RETRY_BASE_S": "1",
        "SEUIL_NOTIFICATIONS__RETRY_MAX_S": "2",
        "SEUIL_NOTIFICATIONS__MAX_ATTEMPTS": "1000",
        "SEUIL_NOTIFICATIONS__CLAIM_S": "5",
        "SEUIL_NOTIFICATIONS__RECIPIENTS": json.dumps({
            "gate_agent": ["live:loge", "email:accueil@lycee-test.fr"],
            "vie_scolaire": ["email:cpe@lycee-test.fr"],
        }),
    }  # fmt: skip
    env.pop("SEUIL_SITE_KEY", None)
    engine = Engine(env, tmp_path / "engine.log")
    try:
        yield engine, smtp, url
    finally:
        engine.stop_quietly()
        smtp.stop()


def _read(url: str, read: Callable[[SqlUnitOfWork], Any]) -> Any:
    engine = create_storage_engine(url)
    try:
        with SqlUnitOfWork(engine, read_only=True) as uow:
            return read(uow)
    finally:
        engine.dispose()


def test_sigkill_during_an_incident_loses_nothing(world: tuple[Engine, LocalSmtp, str]) -> None:
    engine, smtp, url = world
    engine.start()

    # A panic button is pressed; the engine (another process) picks it up from the database.
    injected = engine.command("incidents", "signal", "--source", "btn-hall", "--type", "panic",
                              "--zone", "hall", "--code", "PA")  # fmt: skip
    assert injected.returncode == 0, injected.stderr
    (incident,) = _read(url, lambda u: u.incidents.search(IncidentQuery()))
    assert incident.level is EscalationLevel.GATE_AGENT

    # The mail server is down: the first e-mail is tried, fails, and waits for its retry.
    def first_attempt_failed(u: SqlUnitOfWork) -> bool:
        notes = u.notifications.for_incident(incident.id)
        return len(notes) == 1 and notes[0].attempts >= 1

    wait_until("a failed first attempt", lambda: _read(url, first_attempt_failed), timeout=10)
    (pending,) = _read(url, lambda u: u.notifications.for_incident(incident.id))
    assert pending.status is NotificationStatus.PENDING
    assert pending.recipient == "accueil@lycee-test.fr"

    # SIGKILL, well before the escalation is due: no chance to save anything.
    elapsed = time.time() - incident.opened_at.timestamp()
    assert elapsed < ESCALATION_S - 2, "the machine is too slow for this test's timings"
    engine.kill()
    smtp.start()  # the mail server comes back while the engine is dead
    # The escalation falls due while nothing runs.
    time.sleep(max(0.0, incident.opened_at.timestamp() + ESCALATION_S + 1 - time.time()))
    assert _read(url, lambda u: u.incidents.get(incident.id)).level is EscalationLevel.GATE_AGENT
    assert smtp.inbox.messages == []

    # Restart: the incident, its timer and the pending e-mail are all there.
    engine.start()
    messages = smtp.inbox.wait_for(2, timeout=30)
    recipients = sorted(str(m["To"]) for m in messages)
    assert recipients == ["accueil@lycee-test.fr", "cpe@lycee-test.fr"]
    by_to = {str(m["To"]): m for m in messages}
    assert by_to["accueil@lycee-test.fr"]["Subject"].startswith(
        "[seuil] Incident : alerte panique, zone hall"
    )
    assert by_to["cpe@lycee-test.fr"]["Subject"].startswith(
        "[seuil] Escalade vers vie scolaire (CPE) : alerte panique, zone hall"
    )
    assert incident.id in by_to["cpe@lycee-test.fr"].get_content()

    # Escalated once, at the right level, and it stays that way over more ticks.
    time.sleep(2)
    stored = _read(url, lambda u: u.incidents.get(incident.id))
    assert stored.status is IncidentStatus.ESCALATED
    assert stored.level is EscalationLevel.VIE_SCOLAIRE
    escalations = [t for t in stored.history if t.action is Action.ESCALATE]
    assert [(t.level, t.by) for t in escalations] == [(EscalationLevel.VIE_SCOLAIRE, "system")]
    assert escalations[0].at.timestamp() >= incident.opened_at.timestamp() + ESCALATION_S
    notes = _read(url, lambda u: u.notifications.for_incident(incident.id))
    assert sorted((n.recipient, n.status) for n in notes) == [
        ("accueil@lycee-test.fr", NotificationStatus.SENT),
        ("cpe@lycee-test.fr", NotificationStatus.SENT),
    ]
    assert len(smtp.inbox.messages) == 2  # nothing sent twice
    audit = _read(url, lambda u: [e.action for e in u.audit.entries()])
    assert audit.count("incident.escalate") == 1 and audit.count("incident.open") == 1
    assert "[escalade]" in engine.output()

    # The gate agent acknowledges from the command line; the engine stops on SIGTERM.
    acked = engine.command("incidents", "ack", incident.id, "--by", "agent.durand")
    assert acked.returncode == 0, acked.stderr
    assert engine.terminate() == 0
    assert engine.output().rstrip().endswith("moteur d'incidents arrêté")
