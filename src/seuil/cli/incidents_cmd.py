"""`seuil incidents ...`: list, show, acknowledge, escalate, confirm, resolve, inject a
test signal, read the outbox, and run the engine (escalations, supervision, e-mails)."""

from __future__ import annotations

import logging
import signal as os_signal
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import typer

from seuil.cli.context import actor, site
from seuil.cli.i18n import t
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.incidents import Incident, IncidentStatus, IncidentType, Severity, SignalKind
from seuil.domain.notifications import Notification

incidents_app = typer.Typer(
    help="Incidents : alertes, acquittement, escalade, notifications. (Incidents.)",
    no_args_is_help=True,
)

log = logging.getLogger(__name__)


def _when(at: datetime) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _line(i: Incident) -> str:
    from seuil.services.incidents import TYPE_LABELS

    who = f" ({i.acknowledged_by})" if i.acknowledged_by else ""
    return (f"{i.id}  {_when(i.opened_at)}  {i.status.value:<12}{who}  niveau {int(i.level)}  "
            f"{i.severity.name.lower():<8} {TYPE_LABELS[i.type]} — {i.zone or '?'} "
            f"[{len(i.signals)} signal(s)]")  # fmt: skip


def _notification_line(n: Notification) -> str:
    error = f"  ({n.last_error})" if n.last_error else ""
    return (f"{n.id}  {_when(n.created_at)}  {n.status.value:<7} {n.channel}:{n.recipient}  "
            f"essais {n.attempts}  {n.subject}{error}")  # fmt: skip


@incidents_app.command("list")
def list_incidents(
    all_: bool = typer.Option(False, "--tous", "--all", help="y compris les incidents clos"),
    status: IncidentStatus | None = typer.Option(None, "--statut", "--status"),
    kind: IncidentType | None = typer.Option(None, "--type"),
    min_severity: int | None = typer.Option(None, "--gravite-min", "--min-severity", min=0, max=4),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Incidents en cours (ou tous), du plus récent au plus ancien. (List incidents.)"""
    from seuil.ports.storage import IncidentQuery

    query = IncidentQuery(
        status=status, type=kind, unresolved=not all_ and status is None, limit=limit,
        min_severity=Severity(min_severity) if min_severity is not None else None,
    )  # fmt: skip
    found = site().incidents.search(query)
    for incident in found:
        typer.echo(_line(incident))
    if not found:
        typer.echo(t("aucun incident", "no incident"))


@incidents_app.command("show")
def show(incident_id: str = typer.Argument(...)) -> None:
    """Un incident : signaux, étapes, notifications. (One incident in full.)"""
    s = site()
    incident = s.incidents.get(incident_id)
    typer.echo(_line(incident))
    typer.echo(t("signaux :", "signals:"))
    for sig in incident.signals:
        typer.echo(f"  {_when(sig.at)}  {sig.source}  {sig.type.value}/{sig.kind.value}  "
                   f"{sig.code}  {sig.raw!r}")  # fmt: skip
    typer.echo(t("étapes :", "steps:"))
    for step in incident.history:
        level = f" -> niveau {int(step.level)}" if step.level is not None else ""
        note = f"  « {step.note} »" if step.note else ""
        typer.echo(f"  {_when(step.at)}  {step.action.value}{level}  par {step.by}{note}")
    notes = s.incidents.notifications(incident_id)
    if notes:
        typer.echo(t("notifications :", "notifications:"))
        for n in notes:
            typer.echo(f"  {_notification_line(n)}")


def _by(by: str | None) -> str:
    return by or actor()


@incidents_app.command("ack")
def ack(incident_id: str, by: str | None = typer.Option(None, "--par", "--by")) -> None:
    """Acquitte un incident (arrête l'escalade). (Acknowledge.)"""
    typer.echo(_line(site().incidents.acknowledge(incident_id, _by(by))))


@incidents_app.command("escalate")
def escalate(incident_id: str, by: str | None = typer.Option(None, "--par", "--by")) -> None:
    """Fait passer l'incident au niveau suivant. (Escalate by hand.)"""
    typer.echo(_line(site().incidents.escalate(incident_id, _by(by))))


@incidents_app.command("confirm")
def confirm(incident_id: str, by: str | None = typer.Option(None, "--par", "--by")) -> None:
    """Confirme une intrusion (alarme PPMS complète : confinement). (Confirm an intrusion.)"""
    s = site()
    typer.echo(_line(s.incidents.confirm(incident_id, _by(by))))
    typer.echo(f"PPMS : {s.ppms.current().mode.label}")


@incidents_app.command("resolve")
def resolve(
    incident_id: str,
    note: str = typer.Option(..., "--note", help="ce qui s'est passé, ce qui a été fait"),
    by: str | None = typer.Option(None, "--par", "--by"),
) -> None:
    """Clôt un incident avec une note de résolution. (Resolve with a note.)"""
    typer.echo(_line(site().incidents.resolve(incident_id, _by(by), note)))


@incidents_app.command("signal")
def inject_signal(
    source: str = typer.Option(..., "--source", help="identifiant de l'équipement"),
    kind: IncidentType = typer.Option(..., "--type"),
    zone: str = typer.Option("", "--zone"),
    code: str = typer.Option("TEST", "--code"),
    restore: bool = typer.Option(False, "--retour", "--restore", help="retour à la normale"),
) -> None:
    """Injecte un signal de test dans le moteur. (Inject a test signal.)"""
    from seuil.domain.incidents import Signal

    s = site()
    now = datetime.now(UTC)
    raw = f"seuil incidents signal par {actor()} à {now.isoformat()}"
    sig = Signal(source, s.settings.site.id, zone, code, raw, now, kind,
                 SignalKind.RESTORE if restore else SignalKind.EVENT)  # fmt: skip
    incident = s.incidents.receive(sig)
    if incident is None:
        typer.echo(t("signal enregistré, aucun incident", "signal stored, no incident"))
    else:
        typer.echo(_line(incident))


@incidents_app.command("notifications")
def notifications(
    failed: bool = typer.Option(False, "--echecs", "--failed", help="seulement les échecs"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Les dernières notifications, ou celles en échec. (The outbox.)"""
    s = site()
    with s.reader() as uow:
        found = uow.notifications.failed() if failed else uow.notifications.recent(limit)
    for n in found:
        typer.echo(_notification_line(n))
    if not found:
        typer.echo(t("aucune notification", "no notification"))


@incidents_app.command("run")
def run(
    seconds: float | None = typer.Option(None, help="s'arrête après ce temps (essais)"),
    config: Path | None = typer.Option(
        None, "--config", help="fichier du site : ses portes suivent le PPMS"
    ),
) -> None:
    """Fait tourner le moteur : escalades, équipements muets, envoi des notifications,
    jusqu'à SIGTERM ou Ctrl-C. Rien n'est perdu à l'arrêt, même brutal (SIGKILL) :
    tout est relu de la base au redémarrage. (Run the incident engine.)"""
    s = site()
    if config is not None:
        from seuil.bootstrap import build_entrance_commander
        from seuil.site_config import load_site_config

        s.entrance_commander = build_entrance_commander(s, load_site_config(config))
    engine, dispatcher = s.incidents, s.dispatcher
    period = s.settings.incidents.tick_s
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    os_signal.signal(os_signal.SIGTERM, on_signal)
    os_signal.signal(os_signal.SIGINT, on_signal)

    def show(topic: str, payload: Mapping[str, object]) -> None:
        if topic == "incident":
            typer.echo(f"[{topic}] {payload.get('event')} {payload.get('id')} "
                       f"{payload.get('label')} niveau {payload.get('level')}")  # fmt: skip
        elif topic == "ppms":
            typer.echo(f"[ppms] {payload.get('label')} par {payload.get('by')}")

    s.bus.listen(show)
    if config is not None:
        change = s.ppms.reapply()  # doors back in the stored mode after a restart
        for failure in change.failures:
            typer.echo(f"[ppms] porte {failure.door} : {failure.message}", err=True)
    channels = ", ".join(dispatcher.channels) or t("aucun", "none")
    typer.echo(t(f"moteur d'incidents en service (canaux : {channels}) ; SIGTERM pour arrêter",
                 f"incident engine running (channels: {channels}); SIGTERM to stop"))  # fmt: skip
    deadline = None if seconds is None else time.monotonic() + seconds
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        started = time.monotonic()
        try:
            report = engine.tick()
            for e in report.escalations:
                typer.echo(f"[escalade] {e.incident_id} -> niveau {int(e.level)}")
            for device in report.silent_devices:
                typer.echo(f"[muet] {device}")
            sent = dispatcher.dispatch_due()
            if sent.attempted:
                typer.echo(f"[envoi] {len(sent.sent)} envoyée(s), {len(sent.retrying)} à "
                           f"réessayer, {len(sent.failed)} en échec")  # fmt: skip
        except StorageUnavailableError as error:
            # The database is down: nothing is lost, the next round starts again from it.
            log.warning("incident engine round skipped: %s", error.message)
            typer.echo(f"[base indisponible] {error.message}", err=True)
        stop.wait(max(0.0, period - (time.monotonic() - started)))
    typer.echo(t("moteur d'incidents arrêté", "incident engine stopped"))
