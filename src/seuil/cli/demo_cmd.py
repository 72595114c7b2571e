"""`seuil face demo`: the face engine alone on real input (no site, nothing stored).

Enrols a person from photos and verifies real videos and photos against that template,
printing each decision and score. Uses the shared data folder when it is there; explains
how to run it on your own photos when it is not.
"""

from __future__ import annotations

import typer

from seuil.cli.i18n import t
from seuil.shared_data import shared_dir


def demo() -> None:
    """Démonstration : enrôle puis vérifie des vidéos réelles. (Demo: enrol, then verify.)"""
    from seuil.cli.verify_run import run_verify

    root = shared_dir()
    if root is None:
        typer.echo(
            t(
                "Les données de démonstration (dossier shared/ à côté du dépôt) sont absentes.\n"
                "Essayez avec vos propres photos (rien n'est conservé) :\n"
                "  .venv/bin/seuil face check PHOTOS...\n"
                "  .venv/bin/seuil face verify --enrol DOSSIER_DE_PHOTOS --probe PHOTO_OU_VIDEO",
                "The demonstration data (shared/ folder beside the checkout) is absent.\n"
                "Try it on your own photos (nothing is stored):\n"
                "  .venv/bin/seuil face check PHOTOS...\n"
                "  .venv/bin/seuil face verify --enrol PHOTO_FOLDER --probe PHOTO_OR_VIDEO",
            )
        )
        return
    typer.echo(
        t(
            "Démonstration seuil : vérification 1:1 (rien n'est enregistré).",
            "seuil demo: 1:1 verification (nothing is stored).",
        )
    )
    run_verify(
        root / "video/enrol/obama",
        [
            root / "video/obama.mp4",
            root / "video/biden.mp4",
            root / "faces/portraits/obama-720p.jpg",
            root / "faces/portraits/biden.jpg",
        ],
    )
