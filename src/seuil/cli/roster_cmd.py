"""`seuil roster sync FILE`: import a SIECLE export or a CSV roster, show the diff, apply."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from seuil.cli.context import actor, site
from seuil.cli.i18n import t
from seuil.domain.roster import RosterDiff

roster_app = typer.Typer(
    help="Synchronisation avec SIECLE / CSV. (Roster sync.)", no_args_is_help=True
)

SHOWN = 25


def print_diff(diff: RosterDiff) -> None:
    counts = diff.counts()
    typer.echo(
        t(
            f"Arrivées {counts.get('arrivals', 0)}, départs {counts.get('departures', 0)}, "
            f"modifications {counts.get('changes', 0)}, retours {counts.get('returns', 0)}, "
            f"conflits {counts.get('conflicts', 0)}, inchangés {diff.unchanged}",
            f"Arrivals {counts.get('arrivals', 0)}, departures {counts.get('departures', 0)}, "
            f"changes {counts.get('changes', 0)}, returns {counts.get('returns', 0)}, "
            f"conflicts {counts.get('conflicts', 0)}, unchanged {diff.unchanged}",
        )
    )
    for e in diff.arrivals[:SHOWN]:
        typer.echo(f"  + {e.last_name.upper()} {e.first_name} ({e.group})")
    for d in diff.departures[:SHOWN]:
        typer.echo(f"  - {d.person.display_name} ({d.person.group}) : {d.reason.description}")
    for c in diff.changes[:SHOWN]:
        fields = ", ".join(f"{f.name}: {f.before} → {f.after}" for f in c.fields)
        typer.echo(f"  ~ {c.person.display_name} : {fields}")
    for conflict in diff.conflicts:
        typer.echo(f"  ! {conflict.person.display_name} : {conflict.reason.description}")
    hidden = max(0, len(diff.arrivals) - SHOWN) + max(0, len(diff.departures) - SHOWN)
    if hidden:
        typer.echo(t(f"  … et {hidden} autres", f"  … and {hidden} more"))


@roster_app.command("sync")
def sync(
    path: Path,
    dry_run: bool = typer.Option(False, "--dry-run", "--essai", help="montre sans appliquer"),
    fmt: str = typer.Option("auto", "--format", help="auto | csv | siecle"),
    full: bool | None = typer.Option(
        None, "--full/--partial", help="export complet (les absents partent) ou partiel"
    ),
    force: bool = typer.Option(
        False, "--force", help="appliquer même si plus de 10 % des personnes partiraient"
    ),
) -> None:
    """Importe l'export, affiche les différences, applique (tout ou rien). (Sync.)"""
    from seuil.adapters.roster import read_roster

    if fmt not in ("auto", "csv", "siecle"):
        raise typer.BadParameter("--format: auto, csv or siecle")
    chosen: Literal["auto", "csv", "siecle"] = fmt  # type: ignore[assignment]
    roster = read_roster(path, format=chosen, full_export=full)
    for warning in roster.warnings:
        typer.echo(f"  ({warning})")
    diff = site().roster.sync(
        actor(), roster.entries, full_export=roster.full_export, source=path.name,
        dry_run=dry_run, force=force,
    )  # fmt: skip
    print_diff(diff)
    if dry_run:
        typer.echo(t("Essai : rien n'a été appliqué.", "Dry run: nothing was applied."))
    else:
        typer.echo(t("Appliqué.", "Applied."))
