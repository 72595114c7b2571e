"""`seuil audit ...`: verify and read the tamper-evident audit trail."""

from __future__ import annotations

import json

import typer

from seuil.cli.db_cmd import URL_HELP, database_url
from seuil.cli.i18n import t
from seuil.domain.audit import AnchorVerdict, AuditEntry
from seuil.domain.errors import AuditChainBrokenError, ConfigurationError

audit_app = typer.Typer(
    help="Journal d'audit : vérification et consultation. (Audit trail.)",
    no_args_is_help=True,
)


@audit_app.command("verify")
def verify_cmd(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Vérifie la chaîne de hachage du journal. (Verify the audit hash chain.)

    Exits with the audit_chain_broken code and names the first bad entry when an
    entry was edited or deleted. With a hub link configured (SEUIL_HUB_LINK__URL), also
    checks the chain against the anchors the regional hub keeps: a chain rewritten
    wholesale (every hash recomputed) fails there.
    """
    from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine, verify_audit
    from seuil.bootstrap import verify_against_hub
    from seuil.settings import Settings

    settings = Settings()
    engine = create_storage_engine(database_url(url))
    try:
        with SqlUnitOfWork(engine, read_only=True) as uow:
            verdict = verify_audit(uow)
        anchors = None
        if settings.hub_link.url:
            anchors = verify_against_hub(settings, lambda: SqlUnitOfWork(engine, read_only=True))
    finally:
        engine.dispose()
    if anchors is not None:
        _report_anchors(anchors)
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


def _report_anchors(anchors: AnchorVerdict) -> None:
    if anchors.purged_too_early:
        raise AuditChainBrokenError(
            t(
                f"purge du journal d'audit falsifiée : l'entrée {anchors.rewritten_seq}, "
                "ancrée au centre régional il y a moins que la durée minimale de "
                "conservation, a été supprimée (purgée trop tôt)",
                f"audit trail purge forged: entry {anchors.rewritten_seq}, anchored at the "
                "regional hub less than the shortest retention period ago, was deleted "
                "(purged too early)",
            )
        )
    if anchors.rewritten:
        raise AuditChainBrokenError(
            t(
                f"journal d'audit réécrit : l'entrée {anchors.rewritten_seq} ne correspond "
                "plus à l'ancre conservée par le centre régional (ou a disparu)",
                f"audit trail rewritten: entry {anchors.rewritten_seq} no longer matches "
                "the anchor kept by the regional hub (or is gone)",
            )
        )
    if anchors.unavailable:
        typer.echo(
            t(f"ancres du centre régional non vérifiées : {anchors.unavailable}",
              f"regional hub anchors not checked: {anchors.unavailable}"),
            err=True,
        )  # fmt: skip
        return
    typer.echo(
        t(f"ancres du centre régional : {anchors.checked} vérifiées, {anchors.purged} "
          "antérieures à la purge (non vérifiables)",
          f"regional hub anchors: {anchors.checked} checked, {anchors.purged} older than "
          "the retention purge (not checkable)")
    )  # fmt: skip


@audit_app.command("anchor")
def anchor_cmd() -> None:
    """Envoie maintenant la tête de la chaîne au centre régional (via la file d'envoi).
    (Queue the audit chain's head for the regional hub now.)"""
    from seuil.cli.context import site

    seq = site().anchor_audit()
    if seq is None:
        raise ConfigurationError(
            t("aucun lien avec le centre régional (hub_link.url)",
              "no hub link configured (hub_link.url)")
        )  # fmt: skip
    typer.echo(t(f"ancre mise en file (événement {seq}) : le lien l'enverra",
                 f"anchor queued (event {seq}): the link sends it"))  # fmt: skip


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
