"""Roster diff rules: arrivals, departures, changes, returns, conflicts (fictional people)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seuil.domain.errors import ConflictError, DataFormatError
from seuil.domain.people import Person, PersonKind, PersonStatus
from seuil.domain.roster import (
    ConflictReason,
    DepartureReason,
    FieldChange,
    RosterDiff,
    RosterEntry,
    diff_roster,
)

TODAY = date(2025, 1, 20)
PAST = TODAY - timedelta(days=5)
FUTURE = TODAY + timedelta(days=30)


def entry(external_id: str, **fields: object) -> RosterEntry:
    values: dict[str, object] = {
        "last_name": "MARTIN",
        "first_name": "Éloïse",
        "group": "2NDE1",
        "birth_date": date(2009, 2, 14),
    }
    values.update(fields)
    return RosterEntry(external_id=external_id, **values)  # type: ignore[arg-type]


def person(external_id: str | None, **fields: object) -> Person:
    base = entry(external_id or "none").to_person(f"P-{external_id}")
    return replace(base, external_id=external_id, **fields)  # type: ignore[arg-type]


def diff(current: list[Person], incoming: list[RosterEntry], full: bool = True) -> RosterDiff:
    return diff_roster(current, incoming, full_export=full, today=TODAY)


# --- one rule at a time -------------------------------------------------------------


def test_unknown_entry_is_an_arrival() -> None:
    result = diff([], [entry("1")])
    assert [e.external_id for e in result.arrivals] == ["1"]
    assert result.counts()["arrivals"] == 1
    assert not result.is_empty


def test_unknown_entry_that_already_left_is_ignored() -> None:
    result = diff([], [entry("1", leave_date=PAST)])
    assert result.arrivals == ()
    assert [e.external_id for e in result.ignored] == ["1"]
    assert result.is_empty


def test_identical_entry_is_unchanged() -> None:
    result = diff([person("1")], [entry("1")])
    assert result.unchanged == 1
    assert result.is_empty


def test_past_leave_date_is_a_departure_with_its_reason() -> None:
    result = diff([person("1")], [entry("1", leave_date=PAST)], full=False)
    (departure,) = result.departures
    assert departure.reason is DepartureReason.LEAVE_DATE_PASSED
    assert departure.reason.description == "date_sortie in the past"
    assert departure.leave_date == PAST
    assert departure.entry is not None


def test_leave_date_today_is_not_yet_a_departure() -> None:
    result = diff([person("1")], [entry("1", leave_date=TODAY)])
    assert result.departures == ()
    assert result.changes[0].fields == (FieldChange("leave_date", None, TODAY),)


def test_future_leave_date_is_a_change() -> None:
    result = diff([person("1")], [entry("1", leave_date=FUTURE)])
    assert result.departures == ()
    assert [f.name for f in result.changes[0].fields] == ["leave_date"]


def test_missing_from_a_full_export_departs() -> None:
    result = diff([person("1"), person("2")], [entry("1")], full=True)
    (departure,) = result.departures
    assert departure.person.external_id == "2"
    assert departure.reason is DepartureReason.MISSING_FROM_FULL_EXPORT
    assert departure.reason.description == "missing from a full export"
    assert departure.entry is None


def test_missing_from_a_partial_export_stays() -> None:
    result = diff([person("1"), person("2")], [entry("1")], full=False)
    assert result.departures == ()


def test_stored_leave_date_passed_departs_even_in_a_partial_export() -> None:
    result = diff([person("1"), person("2", leave_date=PAST)], [entry("1")], full=False)
    (departure,) = result.departures
    assert departure.reason is DepartureReason.LEAVE_DATE_PASSED
    assert departure.leave_date == PAST


def test_suspended_and_excluded_people_missing_from_a_full_export_depart() -> None:
    current = [
        person("1", status=PersonStatus.SUSPENDED),
        person("2", status=PersonStatus.EXCLUDED),
        person("3", status=PersonStatus.LEFT),
    ]
    result = diff(current, [entry("9")])
    assert sorted(d.person.external_id or "" for d in result.departures) == ["1", "2"]


def test_field_changes_have_before_and_after() -> None:
    result = diff([person("1")], [entry("1", group="1G2", last_name="MARTIN-DURAND")])
    (change,) = result.changes
    assert change.fields == (
        FieldChange("last_name", "MARTIN", "MARTIN-DURAND"),
        FieldChange("group", "2NDE1", "1G2"),
    )
    updated = change.updated()
    assert (updated.group, updated.last_name, updated.ref) == ("1G2", "MARTIN-DURAND", "P-1")


def test_empty_optional_values_never_erase() -> None:
    result = diff([person("1")], [entry("1", group="", birth_date=None)])
    assert result.unchanged == 1


def test_empty_leave_date_cancels_a_planned_departure() -> None:
    result = diff([person("1", leave_date=FUTURE)], [entry("1")])
    assert result.changes[0].fields == (FieldChange("leave_date", FUTURE, None),)


def test_left_person_who_reappears_is_a_return() -> None:
    result = diff([person("1", status=PersonStatus.LEFT)], [entry("1", group="TG1")])
    (back,) = result.returns
    assert back.person.status is PersonStatus.LEFT
    assert [f.name for f in back.fields] == ["group"]
    assert result.changes == () and result.arrivals == ()


def test_left_person_still_listed_as_left_is_unchanged() -> None:
    result = diff([person("1", status=PersonStatus.LEFT)], [entry("1", leave_date=PAST)])
    assert result.is_empty and result.unchanged == 1


def test_excluded_person_listed_as_enrolled_is_a_conflict_not_a_change() -> None:
    current = [person("1", status=PersonStatus.EXCLUDED)]
    result = diff(current, [entry("1", group="1G2")])
    (conflict,) = result.conflicts
    assert conflict.reason is ConflictReason.EXCLUDED_BUT_ENROLLED
    assert [f.name for f in conflict.fields] == ["group"]
    assert result.changes == () and result.returns == ()
    assert result.is_empty  # nothing is applied without a review


def test_excluded_person_with_past_leave_date_departs() -> None:
    current = [person("1", status=PersonStatus.EXCLUDED)]
    result = diff(current, [entry("1", leave_date=PAST)])
    assert result.departures[0].reason is DepartureReason.LEAVE_DATE_PASSED


def test_suspended_person_gets_changes_and_keeps_status() -> None:
    result = diff([person("1", status=PersonStatus.SUSPENDED)], [entry("1", group="1G2")])
    assert result.changes[0].updated().status is PersonStatus.SUSPENDED


def test_match_is_within_the_kind() -> None:
    staff = person("1", kind=PersonKind.STAFF)
    result = diff([staff], [entry("1")])
    assert [e.external_id for e in result.arrivals] == ["1"]
    assert result.departures == ()  # staff are outside a pupil export's scope


def test_explicit_scope_lets_an_empty_staff_file_mean_no_staff() -> None:
    staff = person("1", kind=PersonKind.STAFF)
    result = diff_roster(
        [staff, person("2")], [], full_export=True, today=TODAY, scope={PersonKind.STAFF}
    )
    assert [d.person.external_id for d in result.departures] == ["1"]


def test_people_without_external_id_are_never_touched() -> None:
    result = diff([person(None)], [entry("1")])
    assert result.departures == ()


def test_duplicated_incoming_id_names_both_places() -> None:
    first = replace(entry("7"), location="line 3")
    second = replace(entry("7"), location="line 9")
    with pytest.raises(DataFormatError, match="line 3 and line 9"):
        diff([], [first, second])


def test_two_people_sharing_an_id_is_a_conflict_error() -> None:
    with pytest.raises(ConflictError, match="share the external id"):
        diff([person("1"), replace(person("1"), ref="P-other")], [])


def test_a_left_homonym_gives_way_to_the_current_person() -> None:
    old = replace(person("1", status=PersonStatus.LEFT), ref="P-old")
    result = diff([old, person("1")], [entry("1", group="1G2")])
    assert result.changes[0].person.ref == "P-1"


def test_arrival_becomes_an_active_person() -> None:
    new = entry("5", leave_date=FUTURE).to_person("P-NEW")
    assert (new.ref, new.status, new.external_id, new.leave_date) == (
        "P-NEW",
        PersonStatus.ACTIVE,
        "5",
        FUTURE,
    )


def test_location_is_not_part_of_equality() -> None:
    assert replace(entry("1"), location="line 2") == entry("1")


def test_two_thousand_pupils_diff_fast() -> None:
    current = [person(str(i), group=f"G{i % 40}") for i in range(2000)]
    incoming = [entry(str(i), group=f"G{(i + (i % 25 == 0)) % 40}") for i in range(100, 2100)]
    started = time.perf_counter()
    result = diff(current, incoming)
    elapsed = time.perf_counter() - started
    assert (len(result.arrivals), len(result.departures)) == (100, 100)
    assert elapsed < 0.25, f"diff took {elapsed * 1000:.0f} ms"


# --- properties ----------------------------------------------------------------------

IDS = st.sampled_from([str(n) for n in range(12)])
NAMES = st.sampled_from(["MARTIN", "LEFÈVRE", "N'DIAYE", "GARÇON"])
GROUPS = st.sampled_from(["", "2NDE1", "1G2", "TG3"])
LEAVES = st.sampled_from([None, PAST, TODAY, FUTURE])
STATUSES = st.sampled_from(list(PersonStatus))


@st.composite
def rosters(draw: st.DrawFn) -> tuple[list[Person], list[RosterEntry]]:
    known = draw(st.lists(IDS, unique=True))
    listed = draw(st.lists(IDS, unique=True))
    current = [
        person(
            i,
            last_name=draw(NAMES),
            group=draw(GROUPS.filter(bool)),
            status=draw(STATUSES),
            leave_date=draw(LEAVES),
        )
        for i in known
    ]
    incoming = [
        entry(i, last_name=draw(NAMES), group=draw(GROUPS), leave_date=draw(LEAVES)) for i in listed
    ]
    return current, incoming


def apply(current: list[Person], result: RosterDiff) -> list[Person]:
    """What a sync service does with a diff (conflicts are left for a person to review)."""
    people = {p.ref: p for p in current}
    for change in result.changes:
        people[change.person.ref] = change.updated()
    for back in result.returns:
        people[back.person.ref] = back.updated().with_status(PersonStatus.ACTIVE, "return")
    for departure in result.departures:
        left = departure.person.with_status(PersonStatus.LEFT, departure.reason)
        people[left.ref] = replace(left, leave_date=departure.leave_date or left.leave_date)
    for arrival in result.arrivals:
        people[f"P-new-{arrival.external_id}"] = arrival.to_person(f"P-new-{arrival.external_id}")
    return list(people.values())


@given(rosters(), st.booleans())
@settings(max_examples=300)
def test_every_entry_lands_in_exactly_one_bucket(
    roster: tuple[list[Person], list[RosterEntry]], full: bool
) -> None:
    current, incoming = roster
    result = diff(current, incoming, full)
    placed = (
        [e.external_id for e in result.arrivals]
        + [e.external_id for e in result.ignored]
        + [c.entry.external_id for c in (*result.changes, *result.returns)]
        + [c.entry.external_id for c in result.conflicts]
        + [d.entry.external_id for d in result.departures if d.entry]
    )
    assert len(placed) == len(set(placed))
    assert len(placed) + result.unchanged == len(incoming)


@given(rosters())
@settings(max_examples=300)
def test_full_export_applied_leaves_exactly_the_listed_people_admitted_or_held(
    roster: tuple[list[Person], list[RosterEntry]],
) -> None:
    current, incoming = roster
    after = apply(current, diff(current, incoming, full=True))
    present = {p.external_id for p in after if p.status is not PersonStatus.LEFT}
    listed = {e.external_id for e in incoming if not e.has_left_by(TODAY)}
    assert present == listed


@given(rosters())
@settings(max_examples=300)
def test_partial_export_never_departs_by_absence(
    roster: tuple[list[Person], list[RosterEntry]],
) -> None:
    current, incoming = roster
    result = diff(current, incoming, full=False)
    for departure in result.departures:
        assert departure.reason is DepartureReason.LEAVE_DATE_PASSED
        stored_passed = departure.person.has_left_by(TODAY)
        assert departure.entry is not None or stored_passed


@given(rosters(), st.booleans())
@settings(max_examples=300)
def test_a_diff_once_applied_leaves_nothing_to_do(
    roster: tuple[list[Person], list[RosterEntry]], full: bool
) -> None:
    current, incoming = roster
    after = apply(current, diff(current, incoming, full))
    again = diff(after, incoming, full)
    assert again.is_empty, again.counts()


@given(st.lists(IDS, unique=True))
def test_a_roster_diffed_against_itself_is_empty(ids: list[str]) -> None:
    incoming = [entry(i) for i in ids]
    current = [e.to_person(f"P-{e.external_id}") for e in incoming]
    result = diff(current, incoming)
    assert result.is_empty and result.conflicts == ()
    assert result.unchanged == len(ids)
