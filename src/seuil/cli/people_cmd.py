"""`seuil people ...`: add, list, show, exclude, suspend, reinstate."""

from __future__ import annotations

from datetime import date

import typer

from seuil.cli.context import actor, site
from seuil.cli.i18n import t
from seuil.domain.people import Person, PersonKind, PersonStatus

people_app = typer.Typer(
    help="Personnes : élèves, personnels, visiteurs. (People.)", no_args_is_help=True
)


def _line(p: Person) -> str:
    return f"{p.ref}  {p.kind.value:<7} {p.group:<8} {p.status.value:<9} {p.display_name}"


@people_app.command("add")
def add(
    last_name: str = typer.Option(..., "--nom", "--last-name"),
    first_name: str = typer.Option(..., "--prenom", "--first-name"),
    kind: PersonKind = typer.Option(PersonKind.PUPIL, "--type", "--kind"),
    group: str = typer.Option("", "--classe", "--group", help="classe ou fonction"),
    external_id: str | None = typer.Option(None, "--id", help="identifiant SIECLE / RH"),
    birth_date: str | None = typer.Option(None, "--naissance", help="AAAA-MM-JJ"),
) -> None:
    """Ajoute une personne. (Add a person.)"""
    born = date.fromisoformat(birth_date) if birth_date else None
    person = site().people.create(
        actor(), kind, last_name, first_name, external_id=external_id, group=group,
        birth_date=born,
    )  # fmt: skip
    typer.echo(_line(person))


@people_app.command("list")
def list_people(
    group: str | None = typer.Option(None, "--classe", "--group"),
    status: PersonStatus | None = typer.Option(None, "--statut", "--status"),
    text: str | None = typer.Option(None, "--cherche", "--search"),
    limit: int = typer.Option(50, min=1, max=1000),
    reason: str = typer.Option("", "--motif", "--reason", help="motif de la consultation"),
) -> None:
    """Liste ou cherche des personnes (consultation journalisée). (List/search; audited.)"""
    from seuil.ports.storage import PeopleQuery

    found = site().people.search(
        actor(), PeopleQuery(status=status, group=group, text=text, limit=limit), reason
    )
    for p in found:
        typer.echo(_line(p))
    typer.echo(t(f"{len(found)} personne(s)", f"{len(found)} person(s)"))


@people_app.command("show")
def show(
    ref: str,
    reason: str = typer.Option("", "--motif", "--reason", help="motif de la consultation"),
) -> None:
    """Fiche d'une personne : statut, consentement, titres. (Person page; audited.)"""
    s = site()
    person = s.people.get(actor(), ref, reason)
    typer.echo(_line(person))
    if person.status_reason:
        until = f" ({t('jusqu’au', 'until')} {person.status_until})" if person.status_until else ""
        typer.echo(f"  {t('motif', 'reason')}: {person.status_reason}{until}")
    history = s.consent.history(actor(), ref)
    for record in history:
        typer.echo(
            f"  {t('consentement', 'consent')}: {record.state.value} "
            f"({record.given_by.value}, {record.form_version}, "
            f"{record.recorded_at:%Y-%m-%d %H:%M})"
        )
    for c in s.credentials.list_for(actor(), ref):
        state = f"{t('révoqué', 'revoked')} ({c.revocation_reason})" if c.revoked_at else "actif"
        typer.echo(
            f"  {t('titre', 'credential')} {c.id[:12]}… {c.kind.value} {c.storage.value} "
            f"{c.valid_from:%Y-%m-%d} → {c.valid_until:%Y-%m-%d}  {state}"
        )


def _set(ref: str, status: PersonStatus, reason: str, until: str | None) -> None:
    end = date.fromisoformat(until) if until else None
    done = site().people.set_status(actor(), ref, status, reason, end)
    msg = t(f"{ref} : {status.value}", f"{ref}: {status.value}")
    if done is not None:
        msg += t(
            f" — {done.revoked} titre(s) révoqué(s), gabarit effacé : {done.template_erased}",
            f" — {done.revoked} credential(s) revoked, template erased: {done.template_erased}",
        )
    typer.echo(msg)


@people_app.command("exclude")
def exclude(ref: str, reason: str = typer.Option(..., "--motif", "--reason")) -> None:
    """Exclut : révoque tous les titres, efface gabarit et photo. (Exclude.)"""
    _set(ref, PersonStatus.EXCLUDED, reason, None)


@people_app.command("suspend")
def suspend(
    ref: str,
    until: str = typer.Option(..., "--jusqu-au", "--until", help="AAAA-MM-JJ"),
    reason: str = typer.Option(..., "--motif", "--reason"),
) -> None:
    """Suspend jusqu'à une date, avec les mêmes effets. (Suspend until a date.)"""
    _set(ref, PersonStatus.SUSPENDED, reason, until)


@people_app.command("reinstate")
def reinstate(ref: str, reason: str = typer.Option(..., "--motif", "--reason")) -> None:
    """Rétablit (de nouveaux titres sont à émettre). (Reinstate; issue new credentials.)"""
    _set(ref, PersonStatus.ACTIVE, reason, None)
