"""`seuil bench ...`: speed benchmarks that print numbers side by side with a peer."""

from __future__ import annotations

import json
from pathlib import Path

import typer

bench_app = typer.Typer(
    help="Bancs de mesure de vitesse. (Speed benchmarks.)", no_args_is_help=True
)


@bench_app.command("engine")
def bench_engine(
    json_out: Path | None = typer.Option(None, "--json", help="écrit le rapport JSON ici"),
    repeats: int = typer.Option(30, help="mesures par cas"),
    shared: Path | None = typer.Option(None, help="dossier shared (défaut : ../shared)"),
) -> None:
    """Détection et embeddings : ms par image/visage, par moteur, avec le pair face_recognition.

    (Detection and embedding ms per frame/face for each backend, against face_recognition.)
    """
    from seuil.cli.bench_engine import print_report, run_engine_bench

    report = run_engine_bench(repeats=repeats, shared=shared)
    print_report(report)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"JSON : {json_out}")


@bench_app.command("gate")
def bench_gate(
    json_out: Path | None = typer.Option(None, "--json", help="écrit le rapport JSON ici"),
    gates: int = typer.Option(4, help="entrées simultanées"),
    seconds: float = typer.Option(8.0, help="durée de l'essai multi-entrées"),
) -> None:
    """Pipeline d'entrée complet sur vidéo rejouée, contre le pipeline naïf.

    (The full gate pipeline on replayed video: fps, decision latency, several gates.)
    """
    from seuil.cli.bench_gate import print_gate_report, run_gate_bench

    report = run_gate_bench(gates=gates, seconds=seconds)
    print_gate_report(report, typer.echo)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"JSON : {json_out}")


@bench_app.command("incidents")
def bench_incidents(
    json_out: Path | None = typer.Option(None, "--json", help="écrit le rapport JSON ici"),
    messages: int = typer.Option(5000, help="trames SIA à envoyer"),
    connections: int = typer.Option(8, help="connexions SIA simultanées (centrales)"),
    events: int = typer.Option(2000, help="événements MQTT à publier"),
    sink: list[str] = typer.Option(
        ["memory", "sqlite", "incidents"], help="destination(s) des signaux"
    ),
    mqtt: str = typer.Option("127.0.0.1:1883", help="broker MQTT (vide : pas de MQTT)"),
) -> None:
    """Signaux par seconde : SIA DC-09 avec ACK (latence p50/p99) et MQTT via le broker.

    (Signals per second: SIA DC-09 with ACK and its latency, MQTT through the broker.)
    """
    from seuil.cli.bench_incidents import print_incidents_report, run_incidents_bench

    host, _, port = mqtt.partition(":")
    report = run_incidents_bench(
        sia_messages=messages,
        connections=connections,
        mqtt_events=events,
        sinks=tuple(sink),
        broker=(host, int(port or 1883)) if host else None,
    )
    print_incidents_report(report, typer.echo)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"JSON : {json_out}")


@bench_app.command("hub")
def bench_hub(
    json_out: Path | None = typer.Option(None, "--json", help="écrit le rapport JSON ici"),
    database: str = typer.Option(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "--database",
        help="PostgreSQL (un schéma jetable y est créé puis supprimé) ou sqlite:///fichier",
    ),
    sites: int = typer.Option(173, help="établissements simulés"),
    cameras: int = typer.Option(1757, help="caméras en tout"),
    pupils: int = typer.Option(1000, help="élèves par établissement (moyenne)"),
    senders: int = typer.Option(6, help="fils d'envoi simultanés"),
    batch: int = typer.Option(200, min=1, max=500, help="événements par lot"),
    workers: int = typer.Option(2, min=1, help="processus du serveur hub"),
    keep: bool = typer.Option(False, "--garder", help="garde le schéma PostgreSQL"),
) -> None:
    """Centre régional : évts/s ingérés, latence site -> tableau, tableau chargé d'une journée.

    (Regional hub: ingested events/s, site -> board latency, board with a day loaded.)
    """
    from seuil.cli.bench_hub import print_hub_report, run_hub_bench

    report = run_hub_bench(database, sites=sites, cameras=cameras, pupils=pupils,
                           senders=senders, batch=batch, workers=workers, keep=keep,
                           echo=typer.echo)  # fmt: skip
    print_hub_report(report, typer.echo)
    if json_out:  # the option was accepted and ignored before
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"JSON : {json_out}")


@bench_app.command("web")
def bench_web(
    json_out: Path | None = typer.Option(None, "--json", help="écrit le rapport JSON ici"),
    pupils: int = typer.Option(2000, help="élèves du rôle fictif"),
    events: int = typer.Option(100_000, help="événements de portique en base"),
    requests: int = typer.Option(40, help="requêtes mesurées par page ou opération"),
    sse_events: int = typer.Option(200, help="décisions envoyées à l'écran de portique"),
    database_url: str | None = typer.Option(None, help="base à utiliser (défaut : SQLite jetable)"),
) -> None:
    """Latence p95 des pages et de l'API sur un site chargé, et des événements SSE.

    (p95 page and API latency on a loaded site; SSE delivery from a gate decision to a screen.)
    """
    from seuil.cli.bench_web import print_web_report, run_web_bench

    report = run_web_bench(
        pupils=pupils, events=events, requests=requests, sse_events=sse_events,
        database_url=database_url, log=typer.echo,
    )  # fmt: skip
    print_web_report(report, typer.echo)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        typer.echo(f"JSON : {json_out}")
