"""`seuil credentials ...` and `seuil enrol`: issue, print, revoke, check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from seuil.cli.context import actor, site
from seuil.cli.face_cmd import photos_in
from seuil.cli.i18n import t
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.services.credentials import IssuedCredential

credentials_app = typer.Typer(
    help="Titres d'accès : QR signés, badges. (Credentials.)", no_args_is_help=True
)

_OUT = typer.Option(
    None, "--sortie", "--out",
    help="écrit le QR à imprimer : FICHIER.png et FICHIER.svg (print files)",
)  # fmt: skip


def _print_issued(issued: IssuedCredential, out: Path | None) -> None:
    c = issued.credential
    last_day = c.valid_until - timedelta(seconds=1)  # the window's end is exclusive
    typer.echo(
        t(
            f"Titre {c.id} ({c.kind.value}, {c.storage.value}) valable du "
            f"{c.valid_from:%d/%m/%Y} au {last_day:%d/%m/%Y} inclus",
            f"Credential {c.id} ({c.kind.value}, {c.storage.value}) valid "
            f"{c.valid_from:%Y-%m-%d} to {last_day:%Y-%m-%d} inclusive",
        )
    )
    if issued.text is None:
        return
    if out is None:
        typer.echo(
            t(
                "(contenu du QR non affiché : utilisez --sortie pour l'imprimer ; "
                "il n'est conservé nulle part)",
                "(QR content not shown: use --out to print it; it is not kept anywhere)",
            )
        )
        return
    from seuil.adapters.qr import render_png, render_svg

    png, svg = out.with_suffix(".png"), out.with_suffix(".svg")
    render_png(issued.text, png)
    render_svg(issued.text, svg)
    typer.echo(f"QR : {png} , {svg}")


@credentials_app.command("issue")
def issue(ref: str, out: Path | None = _OUT) -> None:
    """Émet un titre sans biométrie (contrôle visuel). (Issue a non-biometric credential.)"""
    _print_issued(site().credentials.issue_qr(actor(), ref), out)


@credentials_app.command("print")
def print_again(
    credential_id: str,
    out: Path = typer.Option(..., "--sortie", "--out", help="FICHIER.png et FICHIER.svg"),
) -> None:
    """Réimprime un titre sans biométrie. (Print a non-biometric credential again.)"""
    _print_issued(site().credentials.reprint(actor(), credential_id), out)


@credentials_app.command("badge")
def badge(
    ref: str,
    number: str = typer.Option(..., "--numero", "--number"),
    storage: TemplateStorage = typer.Option(TemplateStorage.NONE, "--stockage", "--storage"),
) -> None:
    """Enregistre un numéro de badge. (Register a badge number.)"""
    _print_issued(site().credentials.issue_badge(actor(), ref, number, storage), None)


@credentials_app.command("revoke")
def revoke(
    credential_id: str,
    reason: RevocationReason = typer.Option(..., "--motif", "--reason"),
) -> None:
    """Révoque un titre : refusé à toutes les entrées. (Revoke at once.)"""
    c = site().credentials.revoke(actor(), credential_id, reason)
    typer.echo(t(f"Titre {c.id} révoqué ({reason.value})", f"Credential {c.id} revoked"))


@credentials_app.command("check")
def check(
    text: str | None = typer.Argument(None, help="contenu du QR"),
    image: Path | None = typer.Option(None, "--image", help="photo du QR"),
    badge_number: str | None = typer.Option(None, "--badge"),
    wiegand: str | None = typer.Option(None, "--wiegand", help="trame Wiegand 26/34 bits"),
) -> None:
    """Contrôle un titre comme une entrée le ferait. (Check a credential as a gate would.)"""
    s = site()
    if wiegand:
        from seuil.adapters.wiegand import decode_wiegand

        badge_number = decode_wiegand(wiegand).number
    if badge_number:
        result = s.credentials.check_badge(badge_number)
    else:
        if image is not None:
            from seuil.adapters.qr import read_qr
            from seuil.engine.images import load_image

            found = read_qr(load_image(image))
            if len(found) != 1:
                typer.echo(
                    t(
                        f"{len(found)} QR lisible(s) sur l'image : il en faut un",
                        f"{len(found)} readable QR codes in the image: need exactly one",
                    )
                )
                raise typer.Exit(7)
            text = found[0]
        if not text:
            raise typer.BadParameter(
                t(
                    "donnez le contenu du QR, --image ou --badge",
                    "give the QR text, --image or --badge",
                )
            )
        result = s.credentials.check_text(text)
    who = f" {result.person.ref} ({result.storage})" if result.person else ""
    typer.echo(f"{result.result.value.upper()}{who}")
    if not result.result.accepted:
        raise typer.Exit(7)


def enrol(
    ref: str,
    photos: list[Path] = typer.Argument(..., help="photos ou dossiers"),
    storage: TemplateStorage = typer.Option(
        TemplateStorage.KEY_ON_CREDENTIAL,
        "--stockage",
        "--storage",
        help="on_credential | key_on_credential | site_database",
    ),
    out: Path | None = _OUT,
    camera: bool = typer.Option(
        False, "--camera", help="images prises par une caméra d'entrée (visages plus petits)"
    ),
) -> None:
    """Enrôle une personne (consentement requis) et émet son titre. (Enrol and issue.)"""
    files = [p for folder in photos for p in photos_in(folder)]
    outcome = site().enrolment.enrol(
        actor(), ref, [(p.name, p.read_bytes()) for p in files], storage, from_camera=camera
    )
    for c in outcome.checks:
        mark = "OK   " if c.accepted else "REFUS"
        why = (
            ""
            if c.accepted
            else "  " + "; ".join(c.messages_en if t("fr", "en") == "en" else c.messages_fr)
        )
        typer.echo(f"  {mark} {c.source}{why}")
    if outcome.issued is None:
        typer.echo(
            t(
                "Aucune photo acceptable : rien n'a été enregistré.",
                "No acceptable photo: nothing was stored.",
            )
        )
        raise typer.Exit(1)
    _print_issued(outcome.issued, out)
