"""Subject access and erasure on SQLite and PostgreSQL, through the services and the CLI."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from tests.services.test_cli_site import cli  # noqa: F401 (fixture)
from tests.services.test_purge import Clock, add_biometrics, add_event

from seuil.adapters.reports.html import render_subject_html
from seuil.adapters.storage import verify_audit
from seuil.bootstrap import Site
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.incidents import Incident, IncidentType, Signal
from seuil.domain.people import PersonKind
from seuil.domain.retention import DataKind


@pytest.fixture
def clock(site: Site) -> Clock:
    c = Clock()
    site.set_clock(c)
    return c


def enrolled(site: Site, clock: Clock) -> tuple[str, bytes]:
    person = site.people.create("cpe", PersonKind.PUPIL, "Œuvrard", "Zoé", group="2NDE3")
    site.consent.record("cpe", person.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, "2025-v1",
                        "classeur 3")  # fmt: skip
    blob = secrets.token_bytes(600)
    add_biometrics(site, person.ref, clock, blob, valid_days=200)
    add_event(site, clock.now(), person.ref, "c" * 32)
    return person.ref, blob


def test_export_holds_everything_and_describes_the_template(site: Site, clock: Clock) -> None:
    ref, blob = enrolled(site, clock)
    site.people.get("dpo", ref, "demande d'accès")
    data = site.subjects.export("dpo", ref, "courrier du 02/09")
    assert data["identity"]["last_name"] == "Œuvrard" and data["identity"]["ref"] == ref
    assert [c["state"] for c in data["consents"]] == ["given"]
    assert data["consents"][0]["evidence_ref"] == "classeur 3"
    assert len(data["credentials"]) == 1 and data["credentials"][0]["storage"] == "site_database"
    template = data["biometrics"]["template"]
    assert template["held"] and template["encrypted_bytes"] == len(blob)
    assert "ne permet pas de reconstituer" in template["description_fr"]
    assert data["biometrics"]["enrolment_photo"]["held"]
    assert [e["person_ref"] for e in data["gate_events"]] == [ref]
    actions = {e["action"] for e in data["audit_entries"]}
    assert {"person.create", "consent.record", "person.read"} <= actions
    text = json.dumps(data)
    assert blob.hex() not in text and blob[:40].hex() not in text  # described, not dumped
    json.dumps(data)  # JSON-ready as it is
    html = render_subject_html(data)
    assert "Œuvrard" in html and "Passages aux entrées" in html and "<script" not in html
    with site.reader() as uow:
        assert uow.audit.latest(1, "subject.export")[0].target == ref


def test_html_escapes_what_people_typed(site: Site, clock: Clock) -> None:
    person = site.people.create("cpe", PersonKind.PUPIL, "<script>alert(1)</script>", "Zoé")
    html = render_subject_html(site.subjects.export("dpo", person.ref))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_erase_removes_everything_but_the_legal_exceptions(site: Site, clock: Clock) -> None:
    ref, _blob = enrolled(site, clock)
    with site.reader() as uow:
        credential = uow.credentials.for_person(ref)[0].id
    erasure = site.subjects.erase("dpo", ref, "demande du 03/09")
    assert erasure.template and erasure.photo and erasure.identity_erased
    assert erasure.credentials == 1 and erasure.consents == 1
    assert erasure.gate_events_pseudonymised == 1
    assert [e.what for e in erasure.exceptions] == ["audit_entries"]
    with site.reader() as uow:
        assert uow.people.get(ref) is None and uow.templates.get(ref) is None
        assert uow.photos.get(ref) is None and uow.consents.history(ref) == []
        assert uow.credentials.get(credential) is None
        assert uow.gate_events.for_person(ref) == []
        assert len(uow.gate_events.recent()) == 1  # statistics stay, unlinkable
        entry = uow.audit.latest(1, "subject.erase")[0]
        assert verify_audit(uow).ok
    assert entry.details["exceptions"] == {"audit_entries": erasure.exceptions[0].count}
    assert "Œuvrard" not in json.dumps(entry.details)
    with pytest.raises(NotFoundError):
        site.subjects.export("dpo", ref)


def open_incident(site: Site, clock: Clock, raw: str, note: str = "") -> str:
    """An incident whose signal (and optional acknowledgement note) carry ``raw``/``note``."""
    incident_id = f"I-{secrets.token_hex(4)}"
    signal = Signal("gate:entree-nord", "0830042X", "hall", "TG", raw, clock.now(),
                    IncidentType.PANIC)  # fmt: skip
    incident = Incident.open(incident_id, signal)
    if note:
        incident = incident.acknowledge("cpe", clock.now()).resolve(note, "cpe", clock.now())
    with site.uow() as uow:
        uow.incidents.add(incident)
        uow.commit()
    return incident_id


def test_incidents_that_name_the_person_are_exported(site: Site, clock: Clock) -> None:
    ref, _ = enrolled(site, clock)
    by_ref = open_incident(site, clock, f"tailgating person={ref}")
    clock.advance(1 / 24)  # exported oldest first
    by_name = open_incident(site, clock, "bouton hall", note="Zoé Œuvrard accompagnée, RAS")
    open_incident(site, clock, "bouton CDI", note="Œuvrard seul")  # a bare name: not hers
    incidents = site.subjects.export("dpo", ref)["incidents"]
    assert [i["id"] for i in incidents] == [by_ref, by_name]
    assert incidents[0]["signals"][0]["raw"] == f"tailgating person={ref}"
    assert incidents[1]["notes"][0]["note"] == "Zoé Œuvrard accompagnée, RAS"
    assert "Zoé Œuvrard" in render_subject_html(site.subjects.export("dpo", ref))


def test_an_open_incident_keeps_the_identity_and_says_why(site: Site, clock: Clock) -> None:
    ref, _ = enrolled(site, clock)
    incident_id = open_incident(site, clock, f"tailgating person={ref}")
    erasure = site.subjects.erase("dpo", ref, "demande")
    assert not erasure.identity_erased and erasure.template
    kept = {e.what: e for e in erasure.exceptions}
    assert kept["open_incidents"].count == 1 and "17(3)(e)" in kept["open_incidents"].ground_fr
    with site.reader() as uow:
        person = uow.people.get(ref)
        assert person is not None and person.status.value == "left"
        assert uow.templates.get(ref) is None and uow.credentials.for_person(ref) == []
    site.incidents.acknowledge(incident_id, "cpe")
    site.incidents.resolve(incident_id, "cpe", "fausse alerte")
    assert site.subjects.erase("dpo", ref, "demande, suite").identity_erased  # now complete


def test_bad_requests_are_refused_and_change_nothing(site: Site, clock: Clock) -> None:
    ref, _ = enrolled(site, clock)
    with pytest.raises(ConflictError, match="needs a reason"):
        site.subjects.erase("dpo", ref, "  ")
    with pytest.raises(NotFoundError):
        site.subjects.erase("dpo", "P-NOBODY", "demande")
    with site.reader() as uow:
        assert uow.people.get(ref) is not None and uow.templates.get(ref) is not None


def test_cli_export_and_erase(cli, tmp_path: Path) -> None:  # noqa: F811
    line = cli("people", "add", "--nom", "Martin", "--prenom", "Léa", "--classe", "1G2")
    ref = line.split()[0]
    out = cli("subject", "export", ref, "--sortie", str(tmp_path / "x"), "--motif", "courrier")
    json_path = Path(out.split()[0])
    assert json.loads(json_path.read_text(encoding="utf-8"))["identity"]["first_name"] == "Léa"
    assert "Léa" in json_path.with_suffix(".html").read_text(encoding="utf-8")
    assert "Effacé" in cli("subject", "erase", ref, "--motif", "demande écrite")
    cli("subject", "erase", ref, "--motif", "x", code=5)  # gone: not found, clear error
    assert "erreur" in cli("subject", "export", "P-NOBODY", code=5)


def test_cli_purge_dry_run(cli) -> None:  # noqa: F811
    out = cli("purge", "--dry-run")
    assert "Essai" in out and "gabarits: 0" in out
    assert "Purge" in cli("purge")


def test_export_shows_what_is_still_held_after_retention(site: Site, clock: Clock) -> None:
    ref, _ = enrolled(site, clock)
    clock.advance(site.retention.days[DataKind.GATE_EVENT_IDENTIFIED] + 1)
    site.purge.run()  # the old event no longer names the person
    assert site.subjects.export("dpo", ref)["gate_events"] == []
