"""`seuil web`: build the site and serve its web application with uvicorn."""

from __future__ import annotations

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
) -> None:
    """Sert le site web (pages et API v1). (Serve the web site and API.)"""
    import uvicorn

    from seuil.adapters.auth import Argon2Hasher, TotpCodes
    from seuil.bootstrap import build_site
    from seuil.domain.accounts import Role
    from seuil.services.accounts import AccountPolicy, AccountService
    from seuil.web import WebOptions, create_app

    site = build_site()
    required = frozenset({Role.ADMIN, Role.HEAD_OF_SCHOOL}) if totp_for_leaders else frozenset()
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(), TotpCodes(),
                              AccountPolicy(require_totp_for=required))  # fmt: skip
    app = create_app(site, accounts, WebOptions(secure_cookies=behind_tls_proxy))
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
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=behind_tls_proxy,
                    forwarded_allow_ips="127.0.0.1" if behind_tls_proxy else None,
                    log_level="warning")  # fmt: skip
    finally:
        site.close()
