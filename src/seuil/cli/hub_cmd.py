"""`seuil hub ...` (the regional hub) and `seuil hub-link` (a site's link to it)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import typer

from seuil.cli.i18n import t

hub_app = typer.Typer(help="Le centre régional. (The regional hub.)", no_args_is_help=True)
sites_app = typer.Typer(help="Les établissements reliés. (Linked schools.)",
                        no_args_is_help=True)  # fmt: skip
hub_app.add_typer(sites_app, name="sites")

_DB = typer.Option(None, "--database", help="URL de la base du centre (SEUIL_HUB_DATABASE_URL)")


def _hub(database: str | None):  # type: ignore[no-untyped-def]
    from seuil.hub.runtime import Hub
    from seuil.hub.settings import HubSettings

    settings = HubSettings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    return Hub(settings)


@hub_app.command("serve")
def serve(
    database: str | None = _DB,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8090, "--port", min=1, max=65535),
    behind_tls_proxy: bool = typer.Option(False, "--behind-tls-proxy"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="certificat du centre (PEM)"),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="sa clé privée (PEM)"),
    tls_client_ca: Path | None = typer.Option(
        None, "--tls-client-ca",
        help="TLS mutuel : AC des certificats des sites, exigés (mutual TLS: the sites' CA)",
    ),
) -> None:  # fmt: skip
    """Sert le centre régional (tableau, incidents, médiateurs, API des sites)."""
    import uvicorn

    from seuil.hub.app import HubWebOptions, create_hub_app
    from seuil.hub.tls import uvicorn_tls_options

    tls = uvicorn_tls_options(tls_cert, tls_key, tls_client_ca)
    hub = _hub(database)
    options = HubWebOptions(
        secure_cookies=behind_tls_proxy or bool(tls) or hub.settings.secure_cookies,
        max_batch_bytes=hub.settings.max_batch_bytes,
        timezone=hub.settings.timezone,
        # With a client CA, each site's certificate must name its site (seuil.hub.tls).
        site_certificates=tls_client_ca is not None or hub.settings.site_certificates,
        client_cert_header=hub.settings.client_cert_header,
        client_cert_ca=hub.settings.client_cert_ca,
    )
    app = create_hub_app(hub, options)
    scheme = "https" if tls else "http"
    typer.echo(
        t(
            f"Centre régional : {scheme}://{host}:{port}/",
            f"Regional hub: {scheme}://{host}:{port}/",
        )
    )
    token = hub.accounts.begin_setup()
    if token:
        typer.echo(
            t(
                f"Aucun compte : ouvrez /setup avec ce jeton (valable une fois, 2 h) : {token}",
                f"No account yet: open /setup with this one-time token (2 h): {token}",
            )
        )
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=behind_tls_proxy,
                    forwarded_allow_ips="127.0.0.1" if behind_tls_proxy else None,
                    log_level="warning", **tls)  # fmt: skip
    finally:
        hub.close()


@sites_app.command("add")
def sites_add(
    site_id: str = typer.Argument(..., help="UAI"),
    name: str = typer.Option(..., "--nom", "--name"),
    town: str = typer.Option("", "--commune", "--town"),
    lat: float | None = typer.Option(None, "--lat", min=-90, max=90),
    lon: float | None = typer.Option(None, "--lon", min=-180, max=180),
    database: str | None = _DB,
) -> None:
    """Ajoute un site et affiche son jeton, une seule fois. (Prints the token once.)"""
    hub = _hub(database)
    try:
        token = hub.service.add_site(site_id, name, town, lat, lon)
    finally:
        hub.close()
    typer.echo(t(f"Site {site_id} ajouté. Jeton (affiché une seule fois, à mettre dans le "
                 f"fichier hub_link.token_file du site) :",
                 f"Site {site_id} added. Token (shown once; put it in the site's "
                 f"hub_link.token_file):"))  # fmt: skip
    typer.echo(token)


@sites_app.command("import")
def sites_import(
    register: Path = typer.Argument(..., exists=True, dir_okay=False),
    tokens_dir: Path = typer.Option(..., "--jetons", "--tokens-dir",
                                    help="dossier où écrire un fichier de jeton par site (0600)"),
    database: str | None = _DB,
) -> None:  # fmt: skip
    """Ajoute les sites du registre (positions sur le plan) ; un fichier de jeton par site."""
    from seuil.hub.register import read_register

    entries = read_register(register)
    tokens_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    hub = _hub(database)
    added = 0
    try:
        known = {s.id for s in hub.service.sites()}
        for e in entries:
            if e.id in known:
                continue
            token = hub.service.add_site(e.id, e.name, e.town, e.lat, e.lon)
            path = tokens_dir / f"{e.id}.token"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(token + "\n")
            added += 1
    finally:
        hub.close()
    typer.echo(t(f"{added} site(s) ajouté(s), {len(entries) - added} déjà connu(s) ; jetons "
                 f"dans {tokens_dir}", f"{added} site(s) added, {len(entries) - added} known; "
                 f"tokens in {tokens_dir}"))  # fmt: skip


@sites_app.command("list")
def sites_list(database: str | None = _DB) -> None:
    """Les sites, leur dernier contact et leur file. (Sites and their last contact.)"""
    hub = _hub(database)
    try:
        for s in hub.service.sites():
            state = "révoqué" if s.revoked_at else "actif"
            seen = s.last_contact_at.isoformat(timespec="seconds") if s.last_contact_at else "-"
            typer.echo(f"{s.id}\t{state}\t{s.events} évts (≤ {s.high_water})\t{seen}\t{s.name}")
    finally:
        hub.close()


@sites_app.command("revoke")
def sites_revoke(site_id: str, database: str | None = _DB) -> None:
    """Révoque le jeton d'un site (ses envois sont refusés). (Revoke a site's token.)"""
    hub = _hub(database)
    try:
        hub.service.revoke_site(site_id)
    finally:
        hub.close()
    typer.echo(t(f"Jeton du site {site_id} révoqué.", f"Site {site_id}'s token revoked."))


@sites_app.command("rotate")
def sites_rotate(site_id: str, database: str | None = _DB) -> None:
    """Nouveau jeton pour un site (l'ancien ne vaut plus). (New token; prints it once.)"""
    hub = _hub(database)
    try:
        token = hub.service.rotate_site_token(site_id)
    finally:
        hub.close()
    typer.echo(token)


def hub_link(
    once: bool = typer.Option(
        False, "--once", help="vide la file puis s'arrête (drain, then exit)"
    ),
) -> None:
    """Relie ce site au centre régional : envoie la file, reçoit les messages."""
    import signal
    import threading

    from seuil.bootstrap import build_site

    site = build_site()
    forwarder = site.hub_forwarder()
    try:
        if once:
            sent = forwarder.drain(timeout=600)
            typer.echo(t(f"{sent} événement(s) envoyé(s).", f"{sent} event(s) sent."))
            return
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        forwarder.start()
        typer.echo(t(f"Liaison vers {forwarder.options.hub_url} (Ctrl-C pour arrêter)",
                     f"Linked to {forwarder.options.hub_url} (Ctrl-C to stop)"))  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    finally:
        forwarder.stop()
        site.close()
