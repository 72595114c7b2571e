"""`seuil audit ...`: verify and read the tamper-evident audit trail."""

from __future__ import annotations

import json

import typer

from seuil.cli.db_cmd import URL_HELP, database_url
from seuil.cli.i18n import t
from seuil.domain.audit import AuditEntry
from seuil.domain.errors import AuditChainBrokenError

audit_app = typer.Typer(
    help="Journal d'audit : vérification et consultation. (Audit trail.)",
    no_args_is_help=True,
)


@audit_app.command("verify")
def verify_cmd(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Vérifie la chaîne de hachage du journal. (Verify the audit hash chain.)

    Exits with the audit_chain_broken code and names the first bad entry when an
    entry was edited or deleted.
    """
    from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine, verify_audit

    engine = create_storage_engine(database_url(url))
    try:
        with SqlUnitOfWork(engine, read_only=True) as uow:
            verdict = verify_audit(uow)
    finally:
        engine.dispose()
    if verdict.ok:
        typer.echo(t(f"OK : {verdict.entries} entrées vérifiées", f"OK: {verdict.entries} entries"))
        return
    where = (
        t(f"entrée {verdict.first_bad_seq}", f"entry {verdict.first_bad_seq}")
        if verdict.first_bad_seq is not None
        else t("ancre", "anchor")
    )
    raise AuditChainBrokenError(
        t(
            f"journal d'audit altéré, {where} : {verdict.problem}",
            f"audit trail broken at {where}: {verdict.problem}",
        )
    )


@audit_app.command("list")
def list_cmd(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="nombre d'entrées (les dernières)"),
    action: str | None = typer.Option(
        None, "--action", help="action exacte, ou préfixe terminé par * (credential.*)"
    ),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Affiche les dernières entrées du journal. (List the latest audit entries.)"""
    from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine

    engine = create_storage_engine(database_url(url))
    try:
        with SqlUnitOfWork(engine, read_only=True) as uow:
            entries = uow.audit.latest(limit=limit, action=action)
    except (ValueError, TypeError) as exc:
        raise AuditChainBrokenError(
            t(
                "une entrée du journal est illisible : lancez `seuil audit verify`",
                "an audit entry cannot be read: run `seuil audit verify`",
            )
        ) from exc
    finally:
        engine.dispose()
    if not entries:
        typer.echo(t("aucune entrée", "no entries"))
    for entry in entries:
        typer.echo(format_entry(entry))


def format_entry(entry: AuditEntry) -> str:
    """One line per entry: seq, UTC time, actor, action, target, reason, details."""
    parts = [
        f"{entry.seq:>6}",
        entry.at.strftime("%Y-%m-%d %H:%M:%S") + "Z",
        entry.actor,
        entry.action,
        entry.target or "-",
    ]
    if entry.reason:
        parts.append(repr(entry.reason))
    if entry.details:
        parts.append(json.dumps(entry.details, ensure_ascii=False, sort_keys=True))
    return "  ".join(parts)
