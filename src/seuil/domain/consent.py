"""Biometric consent: who said what, when, on which form. Standard library only.

No consent, no template: enrolment is refused without a current GIVEN record, and a
WITHDRAWN record erases the template at once. Refusing costs nothing: the person gets
a credential for the non-biometric path (visual check by the gate agent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ConsentState(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ConsentGiver(StrEnum):
    SELF = "self"  # the pupil (adult, or a minor where the form allows it) or staff member
    GUARDIAN = "guardian"  # a legal guardian of a minor


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    person_ref: str
    state: ConsentState
    given_by: ConsentGiver
    recorded_at: datetime
    form_version: str
    evidence_ref: str = ""  # where the signed form is filed (never the form itself)
    recorded_by: str = ""  # the staff account that recorded it


def current_consent(records: Iterable[ConsentRecord]) -> ConsentRecord | None:
    """The latest record, which is the one in force."""
    latest: ConsentRecord | None = None
    for record in records:
        if latest is None or record.recorded_at >= latest.recorded_at:
            latest = record
    return latest


def biometrics_allowed(records: Iterable[ConsentRecord]) -> bool:
    current = current_consent(records)
    return current is not None and current.state is ConsentState.GIVEN
