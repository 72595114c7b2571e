"""`seuil site run` and `seuil demo`: the whole school site in one process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import typer

from seuil.cli.i18n import t

site_app = typer.Typer(no_args_is_help=True, help="Le site complet (the whole site).")


def _run(
    *, config_path: Path | None, demo: bool, host: str, port: int, behind_tls_proxy: bool
) -> None:
    from platformdirs import user_data_dir

    from seuil.adapters.auth import Argon2Hasher, TotpCodes
    from seuil.bootstrap import build_site
    from seuil.runtime.demo import (
        DEMO_DEVICES,
        demo_config,
        demo_gate_videos,
        demo_notes,
        demo_videos,
        seed_roster,
    )
    from seuil.runtime.demo_subject import hand_out_liveness_card
    from seuil.runtime.site_process import build_runtime, listening_socket, serve
    from seuil.services.accounts import AccountService
    from seuil.settings import KeySettings, Settings, StorageSettings
    from seuil.shared_data import shared_dir
    from seuil.site_config import load_site_config

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if demo:
        # The demonstration keeps its own database and keys, never a real site's.
        base = Path(user_data_dir("seuil")) / "demo"
        base.mkdir(parents=True, exist_ok=True)
        url = os.environ.get("SEUIL_DATABASE_URL") or f"sqlite:///{base / 'seuil-demo.sqlite3'}"
        settings = settings.model_copy(
            update={
                "database": StorageSettings(url=settings.database.url or url),
                "keys": KeySettings(dir=settings.keys.dir or base / "keys"),
            }
        )
    config = load_site_config(config_path) if config_path is not None else None
    if config is None and demo:
        config = demo_config()
    sock = listening_socket(host, port)  # a port in use stops here, before anything starts
    site = build_site(settings)
    data_dir = Path(user_data_dir("seuil")) / ("demo" if demo else "site")
    shared = shared_dir() if demo else None
    videos = demo_videos(shared)
    if demo:
        added = seed_roster(site)
        if added:
            typer.echo(t(f"Roster de démonstration importé : {added} personnes.",
                         f"Demonstration roster imported: {added} people."))  # fmt: skip
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(), TotpCodes())
    demo_site = demo and config_path is None  # the demonstration's own two gates
    runtime = build_runtime(site, config, accounts=accounts, data_dir=data_dir,
                            demo_devices=list(DEMO_DEVICES) if demo else None,
                            demo_videos=videos, demo_wallet=demo,
                            demo_gate_videos=demo_gate_videos(videos) if demo_site else None,
                            )  # fmt: skip
    holder = hand_out_liveness_card(site, runtime.web.demo_wallet, shared) if demo_site else None
    scheme = "https" if behind_tls_proxy else "http"
    url = f"{scheme}://{host}:{port}/"
    token = accounts.begin_setup()

    def ready() -> None:
        typer.echo(t(f"Site seuil en service : {url}", f"seuil site running: {url}"))
        for gate in runtime.web.gates:
            checks = gate.liveness and gate.mode != "credential_only"
            typer.echo(t(
                f"  porte « {gate.label} » ({gate.mode}, contrôle du vivant : "
                f"{'oui' if checks else 'non'})",
                f"  gate '{gate.label}' ({gate.mode}, liveness check: {'yes' if checks else 'no'})",
            ))  # fmt: skip
        if demo_site:
            for french, english in demo_notes(videos, holder):
                typer.echo(t(f"  {french}", f"  {english}"))
        for reason in runtime.skipped:
            typer.echo(t(f"  non démarrée : {reason}", f"  not started: {reason}"))
        if token:
            typer.echo(t(
                f"Premier démarrage : ouvrez {url}setup avec ce jeton à usage unique "
                f"(valable 2 h) pour créer le compte administrateur :\n  {token}",
                f"First start: open {url}setup with this one-time token (valid 2 h) to "
                f"create the admin account:\n  {token}",
            ))  # fmt: skip
        if demo and not videos:
            typer.echo(t(
                "Données de démonstration (dossier shared/) absentes : enrôlez une personne "
                "depuis sa fiche (photos envoyées), délivrez-lui un titre, puis présentez-le "
                "à une webcam configurée dans un fichier de site (docs/site.example.toml).",
                "Demo data (shared/ folder) absent: enrol a person from their page (uploaded "
                "photos), issue a credential, then present it to a webcam declared in a site "
                "file (docs/site.example.toml).",
            ))  # fmt: skip
        typer.echo(t("Ctrl+C pour arrêter.", "Ctrl+C to stop."))

    # uvicorn handles SIGINT/SIGTERM while it serves, then raises the signal again once
    # it has shut down: this handler takes it, so the gates, the spool and the database
    # are closed in order and the process exits 0.
    received: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: received.append(number))
    asyncio.run(serve(runtime, host, port, secure_cookies=behind_tls_proxy, on_ready=ready,
                      sock=sock))  # fmt: skip
    typer.echo(t("Site arrêté.", "Site stopped."))


@site_app.command("run")
def site_run(
    config: Path = typer.Option(
        ..., "--config", exists=True, dir_okay=False, help="fichier de site TOML (site file)"
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="adresse d'écoute (listen address)"),
    port: int = typer.Option(8080, "--port", min=1, max=65535),
    behind_tls_proxy: bool = typer.Option(
        False, "--behind-tls-proxy", help="cookies Secure, X-Forwarded-* du proxy local"
    ),
) -> None:
    """Démarre le site : web, portes, incidents, équipements. (Run the whole site.)"""
    _run(config_path=config, demo=False, host=host, port=port, behind_tls_proxy=behind_tls_proxy)


def demo(
    host: str = typer.Option("127.0.0.1", "--host", help="adresse d'écoute (listen address)"),
    port: int = typer.Option(8080, "--port", min=1, max=65535),
    config: Path | None = typer.Option(
        None,
        "--config",
        exists=True,
        dir_okay=False,
        help="un fichier de site à la place de la démo",
    ),
) -> None:
    """Site de démonstration (SQLite) : web, une porte simulée, des équipements simulés.
    (Demonstration site on SQLite.)"""
    _run(config_path=config, demo=True, host=host, port=port, behind_tls_proxy=False)
