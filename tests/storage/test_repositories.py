"""Every repository method, the unit of work's atomicity and time zones, on both back-ends."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine
from seuil.adapters.storage.db import search_key
from seuil.adapters.storage.engine import truncate_wal
from seuil.adapters.storage.tables import metadata
from seuil.domain.consent import ConsentGiver, ConsentRecord, ConsentState, current_consent
from seuil.domain.credentials import (
    CheckResult,
    Credential,
    CredentialKind,
    RevocationReason,
    TemplateStorage,
)
from seuil.domain.errors import ConflictError, NotFoundError, StorageUnavailableError
from seuil.domain.people import Person, PersonKind, PersonStatus
from seuil.ports.storage import PeopleQuery, StoredTemplate

T0 = datetime(2025, 9, 1, 7, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")

UowFactory = Callable[..., SqlUnitOfWork]
PersonFactory = Callable[..., Person]


def _add(uow: UowFactory, *people: Person) -> None:
    with uow() as u:
        for person in people:
            u.people.add(person)
        u.commit()


def _credential(person_ref: str, **fields: object) -> Credential:
    values: dict[str, object] = {
        "id": secrets.token_hex(16),
        "person_ref": person_ref,
        "site_id": "0830042X",
        "kind": CredentialKind.QR,
        "storage": TemplateStorage.KEY_ON_CREDENTIAL,
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=365),
        "issued_at": T0,
        "key_id": "k1",
    }
    values.update(fields)
    return Credential(**values)  # type: ignore[arg-type]


# --- people -------------------------------------------------------------------------


def test_person_round_trip_keeps_every_field(uow: UowFactory, make_person: PersonFactory) -> None:
    person = make_person(
        kind=PersonKind.STAFF,
        group="CPE",
        leave_date=date(2026, 7, 4),
        status=PersonStatus.SUSPENDED,
        status_reason="conseil de discipline",
        status_until=date(2025, 10, 1),
        updated_at=datetime(2025, 9, 3, 9, 15, 0, 123456, tzinfo=PARIS),
    )
    _add(uow, person)
    with uow() as u:
        stored = u.people.get(person.ref)
    assert stored == person
    assert stored is not None and stored.updated_at is not None
    assert stored.updated_at.tzinfo is not None and stored.updated_at.utcoffset() == timedelta(0)


def test_unknown_person_is_none(uow: UowFactory) -> None:
    with uow() as u:
        assert u.people.get("P-NOBODY") is None
        assert u.people.by_external_id(PersonKind.PUPIL, "404") is None


def test_by_external_id_is_scoped_by_kind(uow: UowFactory, make_person: PersonFactory) -> None:
    pupil = make_person(external_id="1234")
    staff = make_person(kind=PersonKind.STAFF, external_id="1234")
    _add(uow, pupil, staff)
    with uow() as u:
        assert u.people.by_external_id(PersonKind.PUPIL, "1234") == pupil
        assert u.people.by_external_id(PersonKind.STAFF, "1234") == staff
        assert u.people.by_external_id(PersonKind.VISITOR, "1234") is None


def test_all_of_kind(uow: UowFactory, make_person: PersonFactory) -> None:
    pupils = [make_person() for _ in range(3)]
    _add(uow, *pupils, make_person(kind=PersonKind.STAFF))
    with uow() as u:
        assert sorted(p.ref for p in u.people.all_of_kind(PersonKind.PUPIL)) == sorted(
            p.ref for p in pupils
        )
        assert u.people.all_of_kind(PersonKind.VISITOR) == []


def test_update_replaces_fields_and_unknown_is_not_found(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    person = make_person()
    _add(uow, person)
    left = person.with_status(PersonStatus.LEFT, "départ")
    with uow() as u:
        u.people.update(left)
        with pytest.raises(NotFoundError):
            u.people.update(make_person())
        u.commit()
    with uow() as u:
        assert u.people.get(person.ref) == left


@pytest.mark.parametrize("clash", ["ref", "external_id"])
def test_duplicates_are_conflicts(uow: UowFactory, make_person: PersonFactory, clash: str) -> None:
    first = make_person(external_id="E1")
    _add(uow, first)
    second = make_person(**{clash: getattr(first, clash)})
    with pytest.raises(ConflictError) as caught, uow() as u:
        u.people.add(second)
    assert "Zoë" not in caught.value.message and "Durand" not in caught.value.message


def test_search_filters_sort_and_page(uow: UowFactory, make_person: PersonFactory) -> None:
    names = [("Éluard", "Paul"), ("Durand", "Zoë"), ("Cœur", "Ève"), ("Martin", "Léa")]
    people = [make_person(last_name=last, first_name=first) for last, first in names]
    staff = make_person(kind=PersonKind.STAFF, last_name="Durand", first_name="Anne", group="CPE")
    gone = make_person(last_name="Abel", status=PersonStatus.LEFT, group="1ERE2")
    _add(uow, *people, staff, gone)
    with uow() as u:
        everyone = u.people.search(PeopleQuery())
        assert [p.last_name for p in everyone] == [
            "Abel", "Cœur", "Durand", "Durand", "Éluard", "Martin",
        ]  # fmt: skip
        pupils = PeopleQuery(kind=PersonKind.PUPIL)
        assert u.people.count(pupils) == 5
        assert len(u.people.search(PeopleQuery(kind=PersonKind.PUPIL, limit=2))) == 2
        page2 = u.people.search(PeopleQuery(kind=PersonKind.PUPIL, limit=2, offset=2))
        assert [p.last_name for p in page2] == ["Durand", "Éluard"]
        assert u.people.count(PeopleQuery(status=PersonStatus.LEFT)) == 1
        assert [p.ref for p in u.people.search(PeopleQuery(group="CPE"))] == [staff.ref]
        assert u.people.count(PeopleQuery(kind=PersonKind.PUPIL, limit=1)) == 5  # no paging


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("durand", {"Zoë", "Anne"}),
        ("DURAND zoe", {"Zoë"}),
        ("zoé durand", {"Zoë"}),  # any word order
        ("eluard", {"Paul"}),
        ("ÉLUARD", {"Paul"}),
        ("coeur", {"Ève"}),
        ("eve", {"Ève"}),
        ("ran", {"Zoë", "Anne"}),  # substring
        ("xyz", set()),
        ("%", {"Zoë", "Anne", "Paul", "Ève"}),  # no letters: no filter, never a LIKE wildcard
        ("_", {"Zoë", "Anne", "Paul", "Ève"}),
    ],
)
def test_text_search_is_case_and_accent_insensitive(
    uow: UowFactory, make_person: PersonFactory, text: str, expected: set[str]
) -> None:
    _add(
        uow,
        make_person(last_name="Durand", first_name="Zoë"),
        make_person(last_name="Durand", first_name="Anne"),
        make_person(last_name="Éluard", first_name="Paul"),
        make_person(last_name="Cœur", first_name="Ève"),
    )
    with uow() as u:
        found = {p.first_name for p in u.people.search(PeopleQuery(text=text))}
        assert u.people.count(PeopleQuery(text=text)) == len(found)
    assert found == expected


def test_search_key() -> None:
    assert search_key("Zoë D'Arc-Œil") == "zoe d arc oeil"
    assert search_key("  ÉMILE   Straße ") == "emile strasse"
    assert search_key("100%_x") == "100 x"


# --- consent ------------------------------------------------------------------------


def test_consent_history_is_ordered_and_append_only(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    person = make_person()
    _add(uow, person)
    given = ConsentRecord(
        person.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, T0, "2025-1", "GED-17", "cpe.martin"
    )
    withdrawn = ConsentRecord(
        person.ref, ConsentState.WITHDRAWN, ConsentGiver.SELF, T0 + timedelta(days=30), "2025-1"
    )
    with uow() as u:
        u.consents.add(withdrawn)  # inserted first, but later in time
        u.consents.add(given)
        u.commit()
    with uow() as u:
        history = u.consents.history(person.ref)
        assert history == [given, withdrawn]
        assert current_consent(history) == withdrawn
        assert u.consents.history("P-OTHER") == []


def test_consent_for_unknown_person_is_a_conflict(uow: UowFactory) -> None:
    record = ConsentRecord("P-NOBODY", ConsentState.GIVEN, ConsentGiver.SELF, T0, "2025-1")
    with pytest.raises(ConflictError), uow() as u:
        u.consents.add(record)


# --- credentials --------------------------------------------------------------------


def test_credential_round_trip_and_for_person(uow: UowFactory, make_person: PersonFactory) -> None:
    person, other = make_person(), make_person()
    _add(uow, person, other)
    first = _credential(person.ref)
    second = _credential(
        person.ref, issued_at=T0 + timedelta(hours=1), storage=TemplateStorage.NONE
    )
    theirs = _credential(other.ref)
    with uow() as u:
        for credential in (second, first, theirs):
            u.credentials.add(credential)
        u.commit()
    with uow() as u:
        assert u.credentials.get(first.id) == first
        assert u.credentials.get("0" * 32) is None
        assert u.credentials.for_person(person.ref) == [first, second]
        assert u.credentials.for_person("P-NOBODY") == []


def test_by_badge_prefers_the_unrevoked_then_the_latest(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    person = make_person()
    _add(uow, person)
    badge = {"kind": CredentialKind.BADGE, "badge_number": "0012345678"}
    old = _credential(
        person.ref, **badge, revoked_at=T0 + timedelta(days=2),
        revocation_reason=RevocationReason.REPLACED,
    )  # fmt: skip
    last_year = _credential(person.ref, **badge, valid_until=T0, issued_at=T0 - timedelta(days=365))
    current = _credential(person.ref, **badge, issued_at=T0 + timedelta(days=2))
    with uow() as u:
        for credential in (old, last_year, current):
            u.credentials.add(credential)
        u.commit()
    with uow() as u:
        assert u.credentials.by_badge("0012345678") == current
        assert u.credentials.by_badge("999") is None
        u.credentials.revoke(current.id, RevocationReason.LOST, T0 + timedelta(days=3))
        u.credentials.revoke(last_year.id, RevocationReason.LOST, T0 + timedelta(days=3))
        found = u.credentials.by_badge("0012345678")
        assert found is not None and found.revoked_at is not None  # still refused, never None


def test_revoke_records_time_and_reason_once(uow: UowFactory, make_person: PersonFactory) -> None:
    person = make_person()
    _add(uow, person)
    credential = _credential(person.ref)
    at = datetime(2025, 11, 5, 10, 0, tzinfo=PARIS)
    with uow() as u:
        u.credentials.add(credential)
        u.credentials.revoke(credential.id, RevocationReason.LOST, at)
        u.credentials.revoke(credential.id, RevocationReason.LEFT, at + timedelta(days=1))
        with pytest.raises(NotFoundError):
            u.credentials.revoke("f" * 32, RevocationReason.LOST, at)
        u.commit()
    with uow() as u:
        stored = u.credentials.get(credential.id)
    assert stored is not None
    assert stored.revoked_at == at and stored.revoked_at.tzinfo == UTC
    assert stored.revocation_reason is RevocationReason.LOST
    assert stored.check_window(at) is CheckResult.REVOKED


def test_revoked_since_is_inclusive_and_ordered(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    person = make_person()
    _add(uow, person)
    creds = [_credential(person.ref) for _ in range(4)]
    times = [T0 + timedelta(minutes=m) for m in (5, 1, 3)]
    with uow() as u:
        for credential in creds:
            u.credentials.add(credential)
        for credential, at in zip(creds, times, strict=False):
            u.credentials.revoke(credential.id, RevocationReason.EXCLUDED, at)
        u.commit()
    with uow() as u:
        everything = u.credentials.revoked_since(None)
        assert everything == [
            (creds[1].id, times[1]),
            (creds[2].id, times[2]),
            (creds[0].id, times[0]),
        ]
        assert u.credentials.revoked_since(times[2]) == everything[1:]
        assert u.credentials.revoked_since(T0 + timedelta(hours=1)) == []


# --- templates and photos -------------------------------------------------------------


def test_templates_put_get_replace_erase(uow: UowFactory, make_person: PersonFactory) -> None:
    a, b, c = make_person(), make_person(), make_person()
    _add(uow, a, b, c)
    site = StoredTemplate(a.ref, TemplateStorage.SITE_DATABASE, b"\x00cipher-a", "site-2025", T0)
    keyed = StoredTemplate(b.ref, TemplateStorage.KEY_ON_CREDENTIAL, b"cipher-b", "credential", T0)
    with uow() as u:
        u.templates.put(site)
        u.templates.put(keyed)
        u.commit()
    with uow() as u:
        assert u.templates.get(a.ref) == site
        assert u.templates.get(c.ref) is None
        assert u.templates.all_site_templates() == [site]
        newer = StoredTemplate(
            b.ref, TemplateStorage.SITE_DATABASE, b"cipher-b2", "site-2026", T0 + timedelta(days=1)
        )
        u.templates.put(newer)
        assert u.templates.get(b.ref) == newer
        assert u.templates.all_site_templates() == sorted([site, newer], key=lambda s: s.person_ref)
        assert u.templates.erase(a.ref) is True
        assert u.templates.erase(a.ref) is False
        assert u.templates.get(a.ref) is None
        u.commit()


def test_photos_put_get_replace_erase(uow: UowFactory, make_person: PersonFactory) -> None:
    person = make_person()
    _add(uow, person)
    with uow() as u:
        assert u.photos.get(person.ref) is None
        u.photos.put(person.ref, b"photo-1", T0)
        u.photos.put(person.ref, b"photo-2", T0 + timedelta(days=1))
        assert u.photos.get(person.ref) == b"photo-2"
        assert u.photos.erase(person.ref) is True
        assert u.photos.erase(person.ref) is False
        assert u.photos.get(person.ref) is None


def test_template_for_unknown_person_is_a_conflict(uow: UowFactory) -> None:
    template = StoredTemplate("P-NOBODY", TemplateStorage.SITE_DATABASE, b"x", "k", T0)
    with pytest.raises(ConflictError), uow() as u:
        u.templates.put(template)


# --- the unit of work ---------------------------------------------------------------


def test_exception_mid_unit_leaves_nothing(uow: UowFactory, make_person: PersonFactory) -> None:
    person = make_person()
    with pytest.raises(RuntimeError, match="boom"), uow() as u:
        u.people.add(person)
        u.credentials.add(_credential(person.ref))
        u.photos.put(person.ref, b"photo", T0)
        raise RuntimeError("boom")
    with uow() as u:
        assert u.people.get(person.ref) is None
        assert u.credentials.for_person(person.ref) == []
        assert u.photos.get(person.ref) is None


def test_leaving_without_commit_rolls_back(uow: UowFactory, make_person: PersonFactory) -> None:
    person = make_person()
    with uow() as u:
        u.people.add(person)
        assert u.people.get(person.ref) == person  # visible inside its own unit
    with uow() as u:
        assert u.people.get(person.ref) is None


def test_a_failed_statement_rolls_back_the_whole_unit(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    kept = make_person()
    _add(uow, kept)
    newcomer = make_person()
    with pytest.raises(ConflictError), uow() as u:
        u.people.add(newcomer)
        u.people.add(kept)  # duplicate: the newcomer goes too
        u.commit()
    with uow() as u:
        assert u.people.get(newcomer.ref) is None


def test_commit_then_continue_and_explicit_rollback(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    first, second, third = make_person(), make_person(), make_person()
    with uow() as u:
        u.people.add(first)
        u.commit()
        u.people.add(second)
        u.rollback()
        u.people.add(third)
        u.commit()
    with uow() as u:
        assert u.people.get(first.ref) is not None
        assert u.people.get(second.ref) is None
        assert u.people.get(third.ref) is not None


def test_a_unit_is_reusable_but_not_reentrant(uow: UowFactory, make_person: PersonFactory) -> None:
    unit = uow()
    with pytest.raises(RuntimeError, match="inside"):
        unit.people.get("P-X")
    with pytest.raises(RuntimeError, match="inside"):
        unit.commit()
    with unit:
        with pytest.raises(RuntimeError, match="already open"), unit:
            pass
        unit.people.add(make_person())
        unit.commit()
    with unit:
        assert unit.people.count(PeopleQuery()) == 1


def test_naive_datetimes_are_refused(uow: UowFactory, make_person: PersonFactory) -> None:
    naive = make_person(updated_at=datetime(2025, 9, 1, 8, 0))
    with pytest.raises(ValueError, match="naive"), uow() as u:
        u.people.add(naive)


def test_times_come_back_aware_in_utc(uow: UowFactory, make_person: PersonFactory) -> None:
    person = make_person()
    _add(uow, person)
    summer = datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=PARIS)  # 21:59:59Z
    winter = datetime(2025, 12, 31, 0, 30, tzinfo=PARIS)  # 23:30Z the day before
    with uow() as u:
        u.photos.put(person.ref, b"p", summer)
        u.templates.put(StoredTemplate(person.ref, TemplateStorage.NONE, b"t", "k", winter))
        u.commit()
    with uow() as u:
        template = u.templates.get(person.ref)
    assert template is not None
    assert template.created_at == winter
    assert template.created_at.tzinfo == UTC
    assert template.created_at.isoformat() == "2025-12-30T23:30:00+00:00"


def test_read_only_unit_reads_while_a_writer_holds_the_lock(
    uow: UowFactory, make_person: PersonFactory
) -> None:
    person = make_person()
    _add(uow, person)
    with uow() as writer:
        writer.people.update(person.with_status(PersonStatus.EXCLUDED, "x"))
        with uow(read_only=True) as reader:
            seen = reader.people.get(person.ref)
            assert seen is not None and seen.status is PersonStatus.ACTIVE  # not yet committed
        writer.commit()


def test_read_only_unit_refuses_writes(uow: UowFactory, make_person: PersonFactory) -> None:
    with pytest.raises(StorageUnavailableError, match="read"), uow(read_only=True) as u:
        u.people.add(make_person())
    with uow() as u:  # the pooled connection is writable again for the next unit
        u.people.add(make_person())
        u.commit()


# --- erasure leaves no trace in the SQLite file -----------------------------------------


def _database_bytes(path: Path) -> bytes:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def _checkpoint(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert truncate_wal(conn)


def test_erased_blobs_leave_no_bytes_in_the_sqlite_file(
    tmp_path: Path, make_person: PersonFactory
) -> None:
    path = tmp_path / "erase.sqlite3"
    engine = create_storage_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    person, kept = make_person(), make_person()
    template = b"TPL!" + secrets.token_bytes(600)  # a template: one page
    photo = b"IMG!" + secrets.token_bytes(20_000)  # a photo: overflow pages
    kept_photo = b"KEEP" + secrets.token_bytes(3000)
    with SqlUnitOfWork(engine) as u:
        u.people.add(person)
        u.people.add(kept)
        u.templates.put(
            StoredTemplate(person.ref, TemplateStorage.SITE_DATABASE, template, "k", T0)
        )
        u.photos.put(person.ref, photo, T0)
        u.photos.put(kept.ref, kept_photo, T0)
        u.commit()
    _checkpoint(engine)  # the blobs are now in the main database file
    before = _database_bytes(path)
    assert template[:64] in before and photo[-64:] in before  # the search itself works

    with SqlUnitOfWork(engine) as u:
        assert u.templates.erase(person.ref)
        assert u.photos.erase(person.ref)
        u.commit()  # zeroes the freed pages (secure_delete) and truncates the WAL
    # Read while the pool still holds the connection open (closing the last one would
    # checkpoint by itself and hide a missing truncation).
    after = _database_bytes(path)
    engine.dispose()
    assert kept_photo[-64:] in after  # the rest of the data is still there
    for blob in (template, photo):
        for start in range(0, len(blob) - 32, 32):
            assert blob[start : start + 32] not in after, f"erased bytes found at offset {start}"


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_storage_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "journal_mode",
                "foreign_keys",
                "synchronous",
                "secure_delete",
                "busy_timeout",
            )
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
        "secure_delete": 1,
        "busy_timeout": 15000,
    }
