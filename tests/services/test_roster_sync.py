"""Roster sync on a real site: dry run, atomic apply, departures revoke and erase."""

from __future__ import annotations

import pytest

from seuil.adapters.roster import parse_roster, read_roster
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.people import PersonKind, PersonStatus
from seuil.ports.storage import PeopleQuery

FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "roster"
ACTOR = "test:cpe"


def _sync(site, roster, dry_run=False):
    return site.roster.sync(
        ACTOR, roster.entries, full_export=roster.full_export, source="test", dry_run=dry_run
    )


def _people(site):
    with site.uow() as uow:
        return {p.external_id: p for p in uow.people.all_of_kind(PersonKind.PUPIL)}


def test_dry_run_changes_nothing_then_apply(site):
    roster = read_roster(FIXTURES / "ElevesSansAdresses.xml")
    diff = _sync(site, roster, dry_run=True)
    assert len(diff.arrivals) == 3
    assert _people(site) == {}
    _sync(site, roster)
    people = _people(site)
    assert set(people) == {"3001", "3002", "3003"}
    assert people["3001"].first_name == "Maëlys" and people["3001"].group == "2NDE3"
    assert _sync(site, roster, dry_run=True).is_empty  # a second sync has nothing to do


def _export_without(roster, external_id):
    """The same SIECLE export with one pupil missing (a full export: they have left)."""
    text = (FIXTURES / "ElevesSansAdresses.xml").read_bytes().decode("iso-8859-15")
    start = text.index(f'<ELEVE ELEVE_ID="{external_id}"')
    end = text.index("</ELEVE>", start) + len("</ELEVE>")
    return parse_roster((text[:start] + text[end:]).encode("iso-8859-15"), source="next.xml")


def test_departure_revokes_and_erases(site, shared):
    roster = read_roster(FIXTURES / "ElevesSansAdresses.xml")
    _sync(site, roster)
    leaver = _people(site)["3002"]
    site.consent.record(ACTOR, leaver.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, "v1")
    photos = [
        (p.name, p.read_bytes()) for p in sorted((shared / "video/enrol/biden").glob("*.jpg"))[:2]
    ]
    enrolled = site.enrolment.enrol(ACTOR, leaver.ref, photos, TemplateStorage.SITE_DATABASE)
    booklet = site.credentials.issue_qr(ACTOR, leaver.ref)
    assert site.credentials.check_text(booklet.text).result is CheckResult.VALID

    diff = _sync(site, _export_without(roster, "3002"))
    assert [d.person.ref for d in diff.departures] == [leaver.ref]
    after = _people(site)["3002"]
    assert after.status is PersonStatus.LEFT and after.leave_date is not None
    # The old booklet, and the biometric card, are refused at every gate from now on.
    assert site.credentials.check_text(booklet.text).result is CheckResult.REVOKED
    assert site.credentials.check_text(enrolled.issued.text).result is CheckResult.REVOKED
    with site.uow() as uow:
        assert uow.templates.get(leaver.ref) is None and uow.photos.get(leaver.ref) is None
        actions = [e.action for e in uow.audit.entries()]
    assert actions[-1] == "roster.sync" and "biometrics.erase" in actions


def test_sync_is_all_or_nothing(site, monkeypatch):
    roster = read_roster(FIXTURES / "ElevesSansAdresses.xml")
    calls = {"n": 0}
    from seuil.adapters.storage import repositories

    original = repositories.SqlPeopleRepository.add

    def failing_add(self, person):  # the database fails on the third insert
        calls["n"] += 1
        if calls["n"] == 3:
            raise StorageUnavailableError("disk full")
        return original(self, person)

    monkeypatch.setattr(repositories.SqlPeopleRepository, "add", failing_add)
    with pytest.raises(StorageUnavailableError):
        _sync(site, roster)
    monkeypatch.undo()
    assert _people(site) == {}
    with site.uow() as uow:
        assert list(uow.audit.entries()) == []


def test_csv_partial_export_never_removes_by_absence(site):
    _sync(site, read_roster(FIXTURES / "ElevesSansAdresses.xml"))
    csv = "Identifiant;Nom;Prénom;Classe\n3001;ŒUVRARD;Maëlys;1G2\n".encode("cp1252")
    roster = parse_roster(csv, source="maj.csv", format="csv")
    assert roster.full_export is False
    diff = _sync(site, roster)
    assert diff.departures == () and len(diff.changes) == 1
    assert _people(site)["3001"].group == "1G2"
    assert site.people.search(ACTOR, PeopleQuery(status=PersonStatus.ACTIVE)).__len__() == 3


def test_mass_departure_needs_force(site):
    from seuil.domain.errors import ConflictError
    from seuil.domain.roster import RosterEntry

    many = [RosterEntry(external_id=f"9{n:04d}", last_name="ELEVE", first_name=f"N{n}",
                        group="2NDE1") for n in range(40)]  # fmt: skip
    site.roster.sync(ACTOR, many, full_export=True, source="all", dry_run=False)
    one_class = many[:5]  # a class extract mistaken for the full export
    with pytest.raises(ConflictError, match="full export"):
        site.roster.sync(ACTOR, one_class, full_export=True, source="class", dry_run=False)
    assert len(_people(site)) == 40
    assert all(p.status is PersonStatus.ACTIVE for p in _people(site).values())
    diff = site.roster.sync(ACTOR, one_class, full_export=True, source="class",
                            dry_run=False, force=True)  # fmt: skip
    assert len(diff.departures) == 35
