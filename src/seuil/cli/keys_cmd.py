"""`seuil keys ...`: the site's signing keys (rotation) and the gates' public keyring."""

from __future__ import annotations

from pathlib import Path

import typer

from seuil.cli.context import actor, site
from seuil.cli.i18n import t
from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction

keys_app = typer.Typer(
    help="Clés de signature des titres. (Credential signing keys.)", no_args_is_help=True
)


def _audit(action: AuditAction, target: str) -> None:
    s = site()
    with s.uow() as uow:
        uow.audit.append(AuditEvent(actor(), action, target), s.clock.now())
        uow.commit()


@keys_app.command("list")
def list_keys() -> None:
    """Liste les clés (active, retirées). (List keys.)"""
    ring = site().keyring
    for info in ring.keys:
        state = (
            "active"
            if info.key_id == ring.active_key_id
            else (
                t("retirée", "retired") if info.retired else t("vérifie seulement", "verify only")
            )
        )
        typer.echo(f"{info.key_id}  {info.created_at:%Y-%m-%d %H:%M}  {state}")


@keys_app.command("rotate")
def rotate() -> None:
    """Nouvelle clé de signature ; les anciens titres restent valables. (Rotate.)"""
    s = site()
    info = s.keyring.rotate(s.clock.now())
    _audit(AuditAction.KEYS_ROTATE, info.key_id)
    typer.echo(t(f"Nouvelle clé active : {info.key_id}", f"New active key: {info.key_id}"))


@keys_app.command("retire")
def retire(key_id: str) -> None:
    """Retire une ancienne clé : ses titres sont refusés. (Retire a key.)"""
    site().keyring.retire(key_id)
    _audit(AuditAction.KEYS_RETIRE, key_id)
    typer.echo(t(f"Clé {key_id} retirée", f"Key {key_id} retired"))


@keys_app.command("export-verifier")
def export_verifier(out: Path) -> None:
    """Écrit les clés publiques pour les entrées. (Public keys for gates.)"""
    site().keyring.verifier().save(out)
    typer.echo(str(out))
