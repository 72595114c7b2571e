"""People the school admits: pupils, staff and regular visitors. Standard library only.

A person is known inside seuil by ``ref``, a random pseudonymous reference that means
nothing outside the site (the regional hub only ever sees it, never a name). The
school information system's own identifier (SIECLE ``ELEVE_ID``, a staff number) is
kept as ``external_id`` to match roster syncs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum


class PersonKind(StrEnum):
    PUPIL = "pupil"
    STAFF = "staff"
    VISITOR = "visitor"  # regular visitors: contractors, caterers, interns


class PersonStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # temporary: a date ends it
    EXCLUDED = "excluded"  # disciplinary exclusion
    LEFT = "left"  # departure: roster sync or staff decision

    @property
    def admits(self) -> bool:
        """Whether a person in this status may pass a gate."""
        return self is PersonStatus.ACTIVE


def new_person_ref() -> str:
    """A random pseudonymous reference, e.g. ``P-K3J9X2M4QH7T`` (60 bits)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "P-" + "".join(secrets.choice(alphabet) for _ in range(12))


@dataclass(frozen=True, slots=True)
class Person:
    ref: str
    kind: PersonKind
    last_name: str
    first_name: str
    external_id: str | None = None
    group: str = ""  # class code for pupils ("2NDE3"), role for staff ("CPE")
    birth_date: date | None = None
    entry_date: date | None = None
    leave_date: date | None = None
    status: PersonStatus = PersonStatus.ACTIVE
    status_reason: str = ""
    status_until: date | None = None  # end of a suspension
    updated_at: datetime | None = None

    @property
    def display_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}".strip()

    def with_status(self, status: PersonStatus, reason: str, until: date | None = None) -> Person:
        return replace(self, status=status, status_reason=reason, status_until=until)

    def has_left_by(self, today: date) -> bool:
        """A departure date in the past means the person has left, whatever the status."""
        return self.leave_date is not None and self.leave_date < today
