"""Roster sync rules: what a school-information-system export changes. Standard library only.

An export (SIECLE, a CSV) is a list of :class:`RosterEntry`. :func:`diff_roster` compares it
with the people seuil already knows and returns a :class:`RosterDiff` that a person reviews
(``--dry-run``) before a service applies it in one transaction. The diff is pure: it
reads nothing, writes nothing and never looks at the clock (``today`` is passed in).

Rules:

- entries match people by ``external_id`` within the same kind (a pupil never matches a
  staff member); people without an ``external_id`` are never touched;
- a ``leave_date`` (SIECLE ``DATE_SORTIE``) before ``today`` is a departure; on ``today``
  itself the person is still there (same rule as :meth:`Person.has_left_by`);
- in a *full* export, a known person of a kind the file covers who is not in the file
  and has not left is a departure; a *partial* export never causes departures by absence;
- people already ``LEFT`` who appear again without a past leave date are *returns*;
- an ``EXCLUDED`` person listed as enrolled is a *conflict* for a person to review: the
  sync never lifts an exclusion by itself;
- empty optional values in the file (class, birth or entry date) mean "not provided" and
  never erase what seuil knows; the leave date follows the file (an empty one cancels a
  planned departure).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from seuil.domain.errors import ConflictError, DataFormatError
from seuil.domain.people import Person, PersonKind, PersonStatus

# Fields compared between a person and an entry, in display order.
_COMPARED = ("last_name", "first_name", "group", "birth_date", "entry_date", "leave_date")
# Fields where an empty incoming value means "not provided", not "erase".
_KEEP_WHEN_EMPTY = frozenset({"group", "birth_date", "entry_date"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RosterEntry:
    """One person as the school information system lists them."""

    external_id: str
    kind: PersonKind = PersonKind.PUPIL
    last_name: str
    first_name: str
    group: str = ""  # class code for pupils ("2NDE3"), role for staff
    birth_date: date | None = None
    entry_date: date | None = None
    leave_date: date | None = None
    # Where in the source file, for messages ("line 12"); not part of equality.
    location: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[PersonKind, str]:
        return (self.kind, self.external_id)

    def has_left_by(self, today: date) -> bool:
        return self.leave_date is not None and self.leave_date < today

    def to_person(self, ref: str) -> Person:
        """A new active person built from this entry (an arrival), under ``ref``."""
        return Person(
            ref=ref,
            kind=self.kind,
            last_name=self.last_name,
            first_name=self.first_name,
            external_id=self.external_id,
            group=self.group,
            birth_date=self.birth_date,
            entry_date=self.entry_date,
            leave_date=self.leave_date,
        )


class DepartureReason(StrEnum):
    LEAVE_DATE_PASSED = "leave_date_passed"
    MISSING_FROM_FULL_EXPORT = "missing_from_full_export"

    @property
    def description(self) -> str:
        if self is DepartureReason.LEAVE_DATE_PASSED:
            return "date_sortie in the past"
        return "missing from a full export"


class ConflictReason(StrEnum):
    EXCLUDED_BUT_ENROLLED = "excluded_but_enrolled"

    @property
    def description(self) -> str:
        return "excluded in seuil but listed as enrolled: review before lifting the exclusion"


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    before: str | date | None
    after: str | date | None


@dataclass(frozen=True, slots=True)
class Change:
    """A known person whose details differ in the file (also used for returns)."""

    person: Person
    entry: RosterEntry
    fields: tuple[FieldChange, ...]

    def updated(self) -> Person:
        """The person with the new values applied (status untouched)."""
        values: dict[str, Any] = {f.name: f.after for f in self.fields}
        return replace(self.person, **values)


@dataclass(frozen=True, slots=True)
class Departure:
    person: Person
    reason: DepartureReason
    entry: RosterEntry | None = None  # None when the person is missing from the file
    leave_date: date | None = None  # from the file or the stored record, if known


@dataclass(frozen=True, slots=True)
class Conflict:
    person: Person
    entry: RosterEntry
    reason: ConflictReason
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class RosterDiff:
    """Everything a sync would do, for review before it is applied."""

    full_export: bool
    arrivals: tuple[RosterEntry, ...] = ()
    departures: tuple[Departure, ...] = ()
    changes: tuple[Change, ...] = ()
    returns: tuple[Change, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    # Entries for people seuil never knew who have already left: nothing to do.
    ignored: tuple[RosterEntry, ...] = ()
    unchanged: int = 0
    scope: frozenset[PersonKind] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        """True when applying the diff would change nothing."""
        return not (self.arrivals or self.departures or self.changes or self.returns)

    def counts(self) -> dict[str, int]:
        return {
            "arrivals": len(self.arrivals),
            "departures": len(self.departures),
            "changes": len(self.changes),
            "returns": len(self.returns),
            "conflicts": len(self.conflicts),
            "ignored": len(self.ignored),
            "unchanged": self.unchanged,
        }


def diff_roster(
    current: Iterable[Person],
    incoming: Iterable[RosterEntry],
    *,
    full_export: bool,
    today: date,
    scope: Collection[PersonKind] | None = None,
) -> RosterDiff:
    """Compare the people seuil knows with an export; see the module rules.

    ``scope`` is the set of kinds the file covers (only those can depart by absence);
    by default, the kinds present in the file, or pupils for an empty file.

    Raises :class:`DataFormatError` if ``incoming`` lists one id twice, and
    :class:`ConflictError` if two people who have not left share one external id.
    """
    entries = _index_entries(incoming)
    known = _index_people(current)
    kinds = frozenset(scope) if scope is not None else _default_scope(entries.values())

    arrivals: list[RosterEntry] = []
    departures: list[Departure] = []
    changes: list[Change] = []
    returns: list[Change] = []
    conflicts: list[Conflict] = []
    ignored: list[RosterEntry] = []
    unchanged = 0

    for key, entry in entries.items():
        person = known.get(key)
        if person is None:
            (ignored if entry.has_left_by(today) else arrivals).append(entry)
            continue
        if entry.has_left_by(today):
            if person.status is PersonStatus.LEFT:
                unchanged += 1
            else:
                departures.append(
                    Departure(person, DepartureReason.LEAVE_DATE_PASSED, entry, entry.leave_date)
                )
            continue
        fields = compare(person, entry)
        if person.status is PersonStatus.LEFT:
            returns.append(Change(person, entry, fields))
        elif person.status is PersonStatus.EXCLUDED:
            conflicts.append(Conflict(person, entry, ConflictReason.EXCLUDED_BUT_ENROLLED, fields))
        elif fields:
            changes.append(Change(person, entry, fields))
        else:
            unchanged += 1

    for key, person in known.items():
        if key in entries or person.status is PersonStatus.LEFT or person.kind not in kinds:
            continue
        if person.has_left_by(today):
            departures.append(
                Departure(person, DepartureReason.LEAVE_DATE_PASSED, None, person.leave_date)
            )
        elif full_export:
            departures.append(Departure(person, DepartureReason.MISSING_FROM_FULL_EXPORT))

    return RosterDiff(
        full_export=full_export,
        arrivals=tuple(arrivals),
        departures=tuple(departures),
        changes=tuple(changes),
        returns=tuple(returns),
        conflicts=tuple(conflicts),
        ignored=tuple(ignored),
        unchanged=unchanged,
        scope=kinds,
    )


def compare(person: Person, entry: RosterEntry) -> tuple[FieldChange, ...]:
    """The fields whose value in ``entry`` would change ``person``."""
    found: list[FieldChange] = []
    for name in _COMPARED:
        before = getattr(person, name)
        after = getattr(entry, name)
        if after in (None, "") and name in _KEEP_WHEN_EMPTY:
            continue
        if before != after:
            found.append(FieldChange(name, before, after))
    return tuple(found)


def _index_entries(incoming: Iterable[RosterEntry]) -> dict[tuple[PersonKind, str], RosterEntry]:
    index: dict[tuple[PersonKind, str], RosterEntry] = {}
    for entry in incoming:
        first = index.setdefault(entry.key, entry)
        if first is not entry:
            where = " and ".join(e.location for e in (first, entry) if e.location)
            raise DataFormatError(
                f"duplicated id {entry.external_id!r} ({entry.kind})"
                + (f": {where}" if where else "")
            )
    return index


def _index_people(current: Iterable[Person]) -> dict[tuple[PersonKind, str], Person]:
    """People by (kind, external id); a person who has not left wins over one who has."""
    index: dict[tuple[PersonKind, str], Person] = {}
    for person in current:
        if person.external_id is None:
            continue
        key = (person.kind, person.external_id)
        other = index.get(key)
        if other is None or other.status is PersonStatus.LEFT:
            index[key] = person
        elif person.status is not PersonStatus.LEFT:
            raise ConflictError(
                f"people {other.ref} and {person.ref} share the external id "
                f"{person.external_id!r} ({person.kind})"
            )
    return index


def _default_scope(entries: Iterable[RosterEntry]) -> frozenset[PersonKind]:
    kinds = frozenset(entry.kind for entry in entries)
    return kinds or frozenset({PersonKind.PUPIL})
