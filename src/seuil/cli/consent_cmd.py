"""`seuil consent ...`: record biometric consent, refusal or withdrawal."""

from __future__ import annotations

import typer

from seuil.cli.context import actor, site
from seuil.cli.i18n import t
from seuil.domain.consent import ConsentGiver, ConsentState

consent_app = typer.Typer(
    help="Consentement biométrique. (Biometric consent.)", no_args_is_help=True
)


def _record(ref: str, state: ConsentState, by: ConsentGiver, form: str, evidence: str) -> None:
    record = site().consent.record(actor(), ref, state, by, form, evidence)
    typer.echo(f"{ref}: {record.state.value} ({record.given_by.value}, {record.form_version})")
    if state is not ConsentState.GIVEN:
        typer.echo(
            t(
                "Gabarit et photo effacés ; titres biométriques révoqués. Un titre sans "
                "biométrie peut être émis : seuil credentials issue " + ref,
                "Template and photo erased; biometric credentials revoked. A "
                "non-biometric credential can be issued: seuil credentials issue " + ref,
            )
        )


_BY = typer.Option(ConsentGiver.GUARDIAN, "--par", "--by", help="self ou guardian")
_FORM = typer.Option(..., "--formulaire", "--form", help="version du formulaire")
_EVIDENCE = typer.Option("", "--preuve", "--evidence", help="référence du formulaire signé")


@consent_app.command("give")
def give(ref: str, by: ConsentGiver = _BY, form: str = _FORM, evidence: str = _EVIDENCE) -> None:
    """Enregistre un consentement. (Record consent given.)"""
    _record(ref, ConsentState.GIVEN, by, form, evidence)


@consent_app.command("refuse")
def refuse(ref: str, by: ConsentGiver = _BY, form: str = _FORM, evidence: str = _EVIDENCE) -> None:
    """Enregistre un refus (parcours sans biométrie). (Record a refusal.)"""
    _record(ref, ConsentState.REFUSED, by, form, evidence)


@consent_app.command("withdraw")
def withdraw(
    ref: str, by: ConsentGiver = _BY, form: str = _FORM, evidence: str = _EVIDENCE
) -> None:
    """Retrait : efface le gabarit immédiatement. (Withdraw: erases the template now.)"""
    _record(ref, ConsentState.WITHDRAWN, by, form, evidence)
