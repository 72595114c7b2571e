"""`seuil purge`, `seuil subject ...`, `seuil dpia ...`: data protection in operation."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from seuil.cli.context import actor, site
from seuil.cli.i18n import t
from seuil.domain.accounts import Role

subject_app = typer.Typer(
    help="Droits des personnes : accès, effacement. (Data-subject requests.)",
    no_args_is_help=True,
)
dpia_app = typer.Typer(
    help="Analyse d'impact (AIPD) : génération et référence. (Impact assessment.)",
    invoke_without_command=True,
)

_KIND_FR = {
    "template": "gabarits", "enrolment_photo": "photos d'inscription",
    "gate_event_pseudonymised": "événements d'entrée pseudonymisés",
    "gate_event_deleted": "événements d'entrée supprimés",
    "audit_entry": "entrées d'audit", "departed_person": "personnes parties effacées",
    "incident": "incidents", "incident_snapshot": "images d'incident",
    "device_log": "journaux d'équipement",
}  # fmt: skip


def purge(
    dry_run: bool = typer.Option(False, "--dry-run", "--essai", help="montre sans supprimer"),
) -> None:
    """Supprime ce qui a dépassé sa durée de conservation. (Retention purge.)"""
    report = site().purge.run(dry_run=dry_run, actor=actor())
    head = t("Essai (rien n'est supprimé)", "Dry run (nothing removed)") if dry_run else "Purge"
    typer.echo(f"{head} - {report.at:%Y-%m-%d %H:%M} UTC")
    for kind, count in report.counts.items():
        typer.echo(f"  {t(_KIND_FR.get(kind, kind), kind)}: {count}")
    for reason, count in report.kept.items():
        typer.echo(t(f"  conservé ({reason}) : {count}", f"  kept ({reason}): {count}"))


@subject_app.command("export")
def export(
    person: str = typer.Argument(..., help="référence pseudonyme (P-...)"),
    out: Path = typer.Option(Path("."), "--sortie", "--out", help="dossier de sortie"),
    reason: str = typer.Option("", "--motif", "--reason", help="la demande traitée"),
) -> None:
    """Exporte tout ce que le site détient sur une personne (JSON + HTML). (Subject access.)"""
    from seuil.adapters.reports.html import render_subject_html

    data = site().subjects.export(actor(), person, reason)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"export-{person}"
    json_path, html_path = stem.with_suffix(".json"), stem.with_suffix(".html")
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    html_path.write_text(render_subject_html(data), encoding="utf-8")
    typer.echo(f"{json_path}\n{html_path}")


@subject_app.command("erase")
def erase(
    person: str = typer.Argument(..., help="référence pseudonyme (P-...)"),
    reason: str = typer.Option(..., "--motif", "--reason", help="la demande traitée"),
) -> None:
    """Efface les données d'une personne, exceptions légales consignées. (Erasure.)"""
    erasure = site().subjects.erase(actor(), person, reason)
    typer.echo(t("Effacé :", "Erased:") + " " + json.dumps(erasure.counts(), ensure_ascii=False))
    for exception in erasure.exceptions:
        ground = t(exception.ground_fr, exception.ground_en)
        typer.echo(t(f"Conservé : {exception.what} ({exception.count}) - {ground}",
                     f"Kept: {exception.what} ({exception.count}) - {ground}"))  # fmt: skip


@dpia_app.callback()
def dpia(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="fichier de configuration du site"),
    out: Path = typer.Option(Path("."), "--sortie", "--out", help="dossier de sortie"),
) -> None:
    """Génère l'AIPD (HTML et PDF) depuis la configuration réelle. (Generate the DPIA.)"""
    if ctx.invoked_subcommand is not None:
        return
    from seuil.adapters.reports.html import render_dpia_html
    from seuil.adapters.reports.pdf import render_dpia_pdf
    from seuil.bootstrap import gate_facts
    from seuil.site_config import load_site_config

    s = site()
    gates = gate_facts(load_site_config(config)) if config else []
    document = s.dpia().generate(gates)
    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out / "aipd.html", out / "aipd.pdf"
    html_path.write_text(render_dpia_html(document), encoding="utf-8")
    pdf_path.write_bytes(render_dpia_pdf(document))
    if config is None:
        typer.echo(t("(sans --config : aucune entrée décrite)", "(no --config: no gate described)"))
    typer.echo(f"{html_path}\n{pdf_path}")


@dpia_app.command("record")
def record(
    reference: str = typer.Argument(..., help="référence de l'AIPD validée"),
    signer: str = typer.Option(..., "--signataire", "--signer", help="le chef d'établissement"),
    note: str = typer.Option("", "--note"),
) -> None:
    """Le chef d'établissement enregistre la référence de l'AIPD. (Record the reference.)"""
    recorded = site().impact_assessments.record(
        f"{signer} ({actor()})", Role.HEAD_OF_SCHOOL, reference, note
    )
    typer.echo(t(f"Référence enregistrée : {recorded.reference}",
                 f"Reference recorded: {recorded.reference}"))  # fmt: skip


@dpia_app.command("show")
def show() -> None:
    """Affiche la référence en vigueur et son historique. (Show the recorded references.)"""
    history = site().impact_assessments.history()
    if not history:
        typer.echo(t("aucune référence enregistrée", "no reference recorded"))
    for item in history:
        typer.echo(f"{item.recorded_at:%Y-%m-%d %H:%M}Z  {item.reference}  {item.recorded_by}")
