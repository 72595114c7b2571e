"""The impact assessment (AIPD/DPIA) reference that opt-in identification needs.

Standard library only. Identification (1:N) compares every face against the whole
site gallery: GDPR art. 35 requires an impact assessment first, and the head of school,
as data controller, records its reference. A gate configured for identification names
the reference it relies on; it starts only if that is the reference in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seuil.domain.accounts import Role
from seuil.domain.errors import ConfigurationError, PermissionDeniedError

# Only the data controller records the assessment (the DPO advises, art. 35(2)).
RECORDERS = frozenset({Role.HEAD_OF_SCHOOL})


@dataclass(frozen=True, slots=True)
class ImpactAssessment:
    reference: str
    recorded_by: str  # account name (or the CLI signer)
    role: Role
    recorded_at: datetime
    note: str = ""


def check_recorder(role: Role) -> None:
    if role not in RECORDERS:
        raise PermissionDeniedError(
            "seul le chef d'établissement (responsable de traitement) enregistre la "
            "référence de l'AIPD (only the head of school records the DPIA reference)"
        )


def normalise_reference(reference: str) -> str:
    value = " ".join(reference.split())
    if not value or len(value) > 200:
        raise ConfigurationError("an impact-assessment reference is 1 to 200 characters")
    return value


def check_identification_allowed(
    gate_id: str, configured: str | None, in_force: ImpactAssessment | None
) -> None:
    """Refuse an identification gate unless its reference is the one recorded."""
    if in_force is None:
        raise ConfigurationError(
            f"gate {gate_id!r}: identification (1:N) refused: no impact assessment has been "
            "recorded by the head of school (`seuil dpia record`)"
        )
    if (configured or "").strip() != in_force.reference:
        raise ConfigurationError(
            f"gate {gate_id!r}: identification (1:N) refused: the configured "
            f"impact_assessment_ref {configured!r} is not the recorded reference "
            f"{in_force.reference!r}"
        )
