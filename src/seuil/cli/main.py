"""The `seuil` command: one Typer app, sub-commands per area."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from seuil import __version__
from seuil.domain.errors import SeuilError


class _SeuilGroup(TyperGroup):
    """Maps seuil's errors to one clear line and the error's exit code, for every command."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context is private
        try:
            return super().invoke(ctx)
        except SeuilError as exc:
            typer.echo(f"erreur ({exc.code}) : {exc.message}", err=True)
            sys.exit(exc.exit_code)


app = typer.Typer(
    name="seuil",
    cls=_SeuilGroup,
    help="seuil : sécurité des entrées de lycée, respectueuse de la vie privée. "
    "(Privacy-by-design security for high-school entrances.)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _mount() -> None:
    # Sub-apps are imported here (not at the top of their modules' users) so that
    # `seuil --help` stays fast; none of them does work at import time.
    from seuil.cli.audit_cmd import audit_app
    from seuil.cli.bench_cmd import bench_app
    from seuil.cli.consent_cmd import consent_app
    from seuil.cli.credentials_cmd import credentials_app, enrol
    from seuil.cli.data_protection_cmd import dpia_app, purge, subject_app
    from seuil.cli.db_cmd import db_app
    from seuil.cli.demo_cmd import demo as engine_demo
    from seuil.cli.eval_cmd import eval_app
    from seuil.cli.face_cmd import face_app
    from seuil.cli.gate_cmd import gate_app
    from seuil.cli.hub_cmd import hub_app, hub_link
    from seuil.cli.incidents_cmd import incidents_app
    from seuil.cli.keys_cmd import keys_app
    from seuil.cli.liveness_cmd import eval_liveness
    from seuil.cli.people_cmd import people_app
    from seuil.cli.roster_cmd import roster_app
    from seuil.cli.site_cmd import demo, site_app
    from seuil.cli.web_cmd import web

    face_app.command("demo")(engine_demo)
    app.add_typer(face_app, name="face")
    eval_app.command("liveness")(eval_liveness)
    app.add_typer(eval_app, name="eval")
    app.add_typer(bench_app, name="bench")
    app.command("demo")(demo)
    app.add_typer(people_app, name="people")
    app.add_typer(consent_app, name="consent")
    app.add_typer(credentials_app, name="credentials")
    app.command("enrol")(enrol)
    app.add_typer(roster_app, name="roster")
    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")
    app.add_typer(gate_app, name="gate")
    app.command("web")(web)
    app.add_typer(hub_app, name="hub")
    app.command("hub-link")(hub_link)
    app.add_typer(incidents_app, name="incidents")
    app.add_typer(site_app, name="site")
    app.command("purge")(purge)
    app.add_typer(subject_app, name="subject")
    app.add_typer(dpia_app, name="dpia")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="journal détaillé")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def version() -> None:
    """Affiche la version. (Print the version.)"""
    typer.echo(__version__)


_mount()


def main() -> None:
    """Entry point of the `seuil` command."""
    app()


if __name__ == "__main__":
    main()
