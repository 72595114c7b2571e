"""How long each kind of personal data is kept: lawful defaults and upper bounds.

Standard library only. The site's settings may shorten a period (down to the minimum
the job needs) but never lengthen it past the upper bound: the bound is the law or the
French data-protection authority's guidance, not a preference. The purge service
(:mod:`seuil.services.purge`) applies the periods on a schedule.

Sources (each rule repeats the one it rests on):

- CNIL, *règlement type* on biometric access control at work (délibération
  n° 2019-001 of 10 January 2019), art. 9: templates and the data that produced them
  are kept no longer than the person's authorisation to enter; access logs are kept a
  short, defined time.
- CNIL, former *norme simplifiée* n° 42 on access control and the access-control
  guidance that replaced it: records of people's comings and goings are kept at most
  **three months**.
- Code de la sécurité intérieure, art. L. 252-5, and the CNIL's video-protection
  guidance: images are kept at most **one month** (a few days is the recommendation),
  except when they are needed for legal proceedings.
- CNIL, recommendation on logging (*journalisation*, délibération n° 2021-122): logs of
  accesses to personal data are kept **six months to one year**, longer only where a
  specific obligation requires it.
- GDPR art. 5(1)(e) (storage limitation) for everything else: no longer than the
  purpose needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from seuil.domain.errors import ConfigurationError


class DataKind(StrEnum):
    ENROLMENT_PHOTO = "enrolment_photo"
    TEMPLATE = "template"
    GATE_EVENT_IDENTIFIED = "gate_event_identified"  # events that still name a person
    GATE_EVENT_STATISTICS = "gate_event_statistics"  # pseudonymised events, for statistics
    INCIDENT_SNAPSHOT = "incident_snapshot"  # unknown-face images attached to incidents
    INCIDENT = "incident"
    AUDIT_ENTRY = "audit_entry"
    DEVICE_LOG = "device_log"
    DEPARTED_PERSON = "departed_person"  # the identity record after the person left


@dataclass(frozen=True, slots=True)
class RetentionRule:
    kind: DataKind
    default_days: int
    max_days: int
    min_days: int
    starts_fr: str  # when the period starts
    starts_en: str
    source: str  # the legal basis of the upper bound, for the DPIA


RULES: Mapping[DataKind, RetentionRule] = {
    rule.kind: rule
    for rule in (
        # Règlement type biométrie art. 9: no longer than the authorisation to enter. The
        # grace period covers the summer between two school years (card renewal).
        RetentionRule(
            DataKind.TEMPLATE,
            30,
            92,
            0,
            "fin de validité de la dernière carte (expiration ou révocation)",
            "end of the last credential (expiry or revocation)",
            "CNIL, règlement type biométrie (2019), art. 9",
        ),
        # Same rule: the photo only serves the agent's visual check of a valid card.
        RetentionRule(
            DataKind.ENROLMENT_PHOTO,
            30,
            92,
            0,
            "fin de validité de la dernière carte (expiration ou révocation)",
            "end of the last credential (expiry or revocation)",
            "CNIL, règlement type biométrie (2019), art. 9",
        ),
        # Comings and goings of named people: three months at most (NS-42).
        RetentionRule(
            DataKind.GATE_EVENT_IDENTIFIED,
            30,
            92,
            1,
            "passage à l'entrée",
            "the gate decision",
            "CNIL, norme simplifiée n° 42 (contrôle d'accès) : 3 mois",
        ),
        # Pseudonymised (no person, no credential): counts per gate and hour only.
        RetentionRule(
            DataKind.GATE_EVENT_STATISTICS,
            365,
            366,
            1,
            "passage à l'entrée",
            "the gate decision",
            "RGPD art. 5(1)(e) et 89 : statistiques sur données pseudonymisées",
        ),
        # CSI L. 252-5: images one month at most, the CNIL recommends a few days.
        RetentionRule(
            DataKind.INCIDENT_SNAPSHOT,
            7,
            30,
            0,
            "création de l'incident",
            "the incident's creation",
            "Code de la sécurité intérieure, art. L. 252-5 : 1 mois",
        ),
        # No specific text: the school year and the next one, for follow-up and claims.
        RetentionRule(
            DataKind.INCIDENT,
            365,
            730,
            30,
            "clôture de l'incident",
            "the incident's closure",
            "RGPD art. 5(1)(e) : durée de l'année scolaire et de la suivante",
        ),
        # CNIL logging recommendation: six months to one year.
        RetentionRule(
            DataKind.AUDIT_ENTRY,
            365,
            365,
            183,
            "écriture de l'entrée",
            "the entry's writing",
            "CNIL, recommandation journalisation (2021-122) : 6 mois à 1 an",
        ),
        # Device logs carry no name; kept for maintenance only.
        RetentionRule(
            DataKind.DEVICE_LOG,
            90,
            183,
            7,
            "réception du signal",
            "the signal's reception",
            "RGPD art. 5(1)(e) : maintenance des équipements",
        ),
        # Identity of a person who left: after the last credential has expired and
        # the year's disputes are settled.
        RetentionRule(
            DataKind.DEPARTED_PERSON,
            365,
            365,
            30,
            "date de départ",
            "the departure date",
            "RGPD art. 5(1)(e) ; règlement type biométrie art. 9",
        ),
    )
}


def check_period(kind: DataKind, days: int) -> int:
    """``days`` if the law allows it for ``kind``, else a ConfigurationError saying why."""
    rule = RULES[kind]
    if days > rule.max_days:
        raise ConfigurationError(
            f"retention {kind.value}: {days} days exceeds the lawful maximum of "
            f"{rule.max_days} days ({rule.source})"
        )
    if days < rule.min_days:
        raise ConfigurationError(
            f"retention {kind.value}: {days} days is below the {rule.min_days} days "
            "the purpose needs"
        )
    return days


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """The periods in force; every kind not given keeps its lawful default."""

    days: Mapping[DataKind, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = {kind: rule.default_days for kind, rule in RULES.items()}
        for kind, days in self.days.items():
            merged[DataKind(kind)] = check_period(DataKind(kind), days)
        identified = merged[DataKind.GATE_EVENT_IDENTIFIED]
        statistics = merged[DataKind.GATE_EVENT_STATISTICS]
        if statistics < identified:
            raise ConfigurationError(
                f"retention: gate_event_statistics ({statistics} days) cannot be shorter "
                f"than gate_event_identified ({identified} days)"
            )
        object.__setattr__(self, "days", merged)

    def period(self, kind: DataKind) -> timedelta:
        return timedelta(days=self.days[kind])

    def cutoff(self, kind: DataKind, now: datetime) -> datetime:
        """Data of ``kind`` whose period started before this time is past its period."""
        if now.tzinfo is None:
            raise ValueError("naive datetime: retention works in timezone-aware time")
        return now - self.period(kind)
