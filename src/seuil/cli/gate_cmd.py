"""`seuil gate ...`: run the gates of a site configuration file, read their events."""

from __future__ import annotations

import threading
from pathlib import Path

import typer

from seuil.cli.context import site
from seuil.cli.i18n import t
from seuil.domain.gate import GateDecision

gate_app = typer.Typer(
    help="Entrées : faire tourner les portiques. (Run the gates.)", no_args_is_help=True
)


def _line(d: GateDecision) -> str:
    reason = f" ({d.reason.value})" if d.reason else ""
    score = f" score={d.match_score:.3f}" if d.match_score is not None else ""
    who = f" {d.person_ref}" if d.person_ref else ""
    latency = f" {d.latency_ms:.0f} ms" if d.latency_ms is not None else ""
    return f"{d.at:%H:%M:%S} {d.gate_id} {d.decision.value.upper()}{reason}{who}{score}{latency}"


@gate_app.command("run")
def run(
    config: Path = typer.Option(..., "--config", help="fichier de configuration du site (TOML)"),
    seconds: float | None = typer.Option(None, help="s'arrête après ce temps (essais)"),
) -> None:
    """Fait tourner les portiques déclarés, jusqu'à Ctrl-C. (Run the configured gates.)"""
    from seuil.bootstrap import build_gate_lanes
    from seuil.gate.runner import run_lanes
    from seuil.site_config import load_site_config

    s = site()
    lock = threading.Lock()

    def sink(decision: GateDecision) -> None:
        s.gate_access.record(decision)
        with lock:
            typer.echo(_line(decision))

    lanes, skipped = build_gate_lanes(s, load_site_config(config), sink)
    for reason in skipped:
        typer.echo(t(f"ignoré : {reason}", f"skipped: {reason}"))
    if not lanes:
        raise typer.Exit(2)
    typer.echo(
        t(
            f"{len(lanes)} entrée(s) en service (Ctrl-C pour arrêter)",
            f"{len(lanes)} gate(s) running (Ctrl-C to stop)",
        )
    )
    stop = threading.Event()
    try:
        run_lanes(lanes, stop, seconds)
    except KeyboardInterrupt:
        stop.set()
    for lane in lanes:
        if lane.source is None:  # a camera-less gate: its badges only
            typer.echo(f"{lane.gate_id}: {len(lane.faults)} fault(s), no camera")
            continue
        health = lane.source.health()
        typer.echo(
            f"{lane.gate_id}: {lane.frames} frames, {health.dropped} dropped, "
            f"{len(lane.faults)} fault(s), camera {health.state.value}"
        )


@gate_app.command("events")
def events(
    gate: str | None = typer.Option(None, "--gate"),
    limit: int = typer.Option(20, min=1, max=1000),
) -> None:
    """Dernières décisions des entrées. (Latest gate decisions.)"""
    for decision in reversed(site().gate_access.recent(gate, limit)):
        typer.echo(_line(decision))
