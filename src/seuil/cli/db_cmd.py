"""`seuil db ...`: create or upgrade the database schema."""

from __future__ import annotations

import typer

from seuil.cli.i18n import t

db_app = typer.Typer(
    help="Base de données : création et mise à jour du schéma. (Database schema.)",
    no_args_is_help=True,
)

URL_HELP = "URL de la base (défaut : SEUIL_DATABASE_URL, sinon SQLite dans le dossier utilisateur)"


@db_app.callback()
def _group() -> None:
    """Base de données : création et mise à jour du schéma. (Database schema.)"""
    # A callback keeps `db` a group even with a single command: `seuil db upgrade`.


def database_url(url: str | None) -> str:
    """The URL given on the command line, else the configured default."""
    from seuil.adapters.storage.engine import default_database_url

    return url or default_database_url()


@db_app.command("upgrade")
def upgrade_cmd(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Crée ou met à jour le schéma. (Create or upgrade the schema.)"""
    from seuil.adapters.storage.engine import safe_url
    from seuil.adapters.storage.migrate import upgrade

    target = database_url(url)
    upgrade(target)
    typer.echo(t(f"Base à jour : {safe_url(target)}", f"Database up to date: {safe_url(target)}"))
