"""`seuil face ...`: check enrolment photos, verify a photo or a video against them."""

from __future__ import annotations

from pathlib import Path

import typer

from seuil.cli.i18n import t

face_app = typer.Typer(
    help="Moteur facial : qualité des photos, vérification 1:1. (Face engine.)",
    no_args_is_help=True,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def photos_in(folder: Path) -> list[Path]:
    """The image files of a folder (sorted), or the file itself."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise typer.BadParameter(
            t(f"dossier introuvable : {folder}", f"folder not found: {folder}")
        )
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


@face_app.command("check")
def check(photos: list[Path] = typer.Argument(..., help="photos ou dossiers")) -> None:
    """Vérifie la qualité de photos d'enrôlement. (Check enrolment photo quality.)"""
    from seuil.bootstrap import build_face_engine
    from seuil.engine.enrolment import enrol_photos

    engine = build_face_engine(purpose="enrol")
    files = [p for folder in photos for p in photos_in(folder)]
    result = enrol_photos(engine, files)
    _print_verdicts(result.verdicts)
    if not result.accepted:
        raise typer.Exit(1)


def _print_verdicts(verdicts: list) -> None:  # type: ignore[type-arg]
    for v in verdicts:
        if v.accepted:
            typer.echo(f"  OK     {v.source}  ({t('qualité', 'quality')} {v.quality:.2f})")
        else:
            reasons = v.error or "; ".join(
                i.message_en if t("fr", "en") == "en" else i.message_fr for i in v.issues
            )
            typer.echo(f"  REFUS  {v.source}  {reasons}")


@face_app.command("verify")
def verify(
    enrol: Path = typer.Option(..., help="dossier (ou fichier) de photos d'enrôlement"),
    probe: list[Path] = typer.Option(..., help="photo ou vidéo à vérifier (répétable)"),
    fps: float = typer.Option(5.0, help="images analysées par seconde de vidéo"),
    max_frames: int = typer.Option(40, help="au plus ce nombre d'images par vidéo"),
) -> None:
    """Enrôle depuis des photos puis vérifie des photos ou vidéos (1:1).

    (Enrol from photos, then verify photos or videos against that template.)
    Nothing is stored: the template lives only for this command.
    """
    from seuil.cli.verify_run import run_verify

    run_verify(enrol, probe, fps=fps, max_frames=max_frames)
