"""`seuil web`: build the site and serve its web application with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

from seuil.cli.i18n import t


def web(
    host: str = typer.Option("127.0.0.1", "--host", help="adresse d'écoute (listen address)"),
    port: int = typer.Option(8080, "--port", min=1, max=65535),
    behind_tls_proxy: bool = typer.Option(
        False, "--behind-tls-proxy", help="cookies Secure, en-têtes X-Forwarded-* du proxy local"
    ),
    totp_for_leaders: bool = typer.Option(
        False, "--totp-obligatoire", help="TOTP exigé pour admin et chef d'établissement"
    ),
    config: Path | None = typer.Option(
        None, "--config", help="fichier du site : les entrées décrites dans l'AIPD"
    ),
) -> None:
    """Sert le site web (pages et API v1). (Serve the web site and API.)"""
    import uvicorn

    from seuil.adapters.auth import Argon2Hasher, TotpCodes
    from seuil.bootstrap import build_site, gate_facts
    from seuil.domain.accounts import Role
    from seuil.services.accounts import AccountPolicy, AccountService
    from seuil.services.purge import PurgeScheduler
    from seuil.site_config import load_site_config
    from seuil.web import WebOptions, create_app

    site = build_site()
    required = frozenset({Role.ADMIN, Role.HEAD_OF_SCHOOL}) if totp_for_leaders else frozenset()
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(), TotpCodes(),
                              AccountPolicy(require_totp_for=required))  # fmt: skip
    gates = gate_facts(load_site_config(config)) if config else []
    app = create_app(site, accounts, WebOptions(secure_cookies=behind_tls_proxy), gates=gates)
    # Retention runs by itself inside the site process.
    purge = PurgeScheduler(
        site.purge, site.clock, site.settings.retention.purge_interval_hours * 3600
    )
    scheme = "https" if behind_tls_proxy else "http"
    typer.echo(t(f"Site web : {scheme}://{host}:{port}/", f"Web site: {scheme}://{host}:{port}/"))
    token = accounts.begin_setup()
    if token:
        typer.echo(
            t(
                f"Aucun compte : ouvrez /setup avec ce jeton d'installation (valable une fois, "
                f"2 h) : {token}",
                f"No account yet: open /setup with this one-time setup token (2 h): {token}",
            )
        )
    purge.start()
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=behind_tls_proxy,
                    forwarded_allow_ips="127.0.0.1" if behind_tls_proxy else None,
                    log_level="warning", access_log=False)  # fmt: skip
    finally:
        purge.stop()
        site.close()
