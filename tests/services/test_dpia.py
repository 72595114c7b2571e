"""The impact assessment from the real configuration, and the recorded reference that
identification (1:N) gates need before they start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.services.test_cli_site import cli  # noqa: F401 (fixture)
from tests.services.test_purge import Clock

from seuil.adapters.reports.html import render_dpia_html
from seuil.adapters.reports.pdf import render_dpia_pdf
from seuil.bootstrap import Site, build_gate_lanes, gate_facts
from seuil.domain.accounts import Role
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.errors import ConfigurationError, PermissionDeniedError
from seuil.domain.people import PersonKind
from seuil.site_config import parse_site_config

SITE = """
[[doors]]
id = "porte"
kind = "simulated"

[[doors]]
id = "porte-b"
kind = "simulated"

[[cameras]]
id = "cam"
kind = "webcam"

[[cameras]]
id = "cam-b"
kind = "webcam"

[[readers]]
id = "qr"
kind = "qr-camera"
camera = "cam"

[[readers]]
id = "qr-b"
kind = "qr-camera"
camera = "cam-b"

[[gates]]
id = "entree-nord"
name = "Entrée principale"
camera = "cam"
readers = ["qr"]
door = "porte"
storage = ["key_on_credential", "none"]

[[gates]]
id = "parking"
camera = "cam-b"
readers = ["qr-b"]
door = "porte-b"
mode = "identification"
storage = ["site_database"]
impact_assessment_ref = "AIPD-2025-07"
"""


@pytest.fixture
def clock(site: Site) -> Clock:
    c = Clock()
    site.set_clock(c)
    return c


def consents(site: Site) -> None:
    for state in (ConsentState.GIVEN, ConsentState.GIVEN, ConsentState.REFUSED):
        person = site.people.create("cpe", PersonKind.PUPIL, "Nom", "Prénom")
        site.consent.record("cpe", person.ref, state, ConsentGiver.GUARDIAN, "v1")
    withdrawn = site.people.create("cpe", PersonKind.STAFF, "Nom", "Prénom")
    site.consent.record("cpe", withdrawn.ref, ConsentState.GIVEN, ConsentGiver.SELF, "v1")
    site.consent.record("cpe", withdrawn.ref, ConsentState.WITHDRAWN, ConsentGiver.SELF, "v1")


def test_the_document_comes_from_the_real_site(site: Site, clock: Clock) -> None:
    consents(site)
    site.impact_assessments.record("mme.proviseure", Role.HEAD_OF_SCHOOL, "AIPD-2025-07")
    config = parse_site_config(SITE, environ={})
    document = site.dpia().generate(gate_facts(config))
    assert document.facts["consents.given"] == 2
    assert document.facts["consents.refused"] == 1
    assert document.facts["consents.withdrawn"] == 1
    html = render_dpia_html(document)
    for expected in (
        "Entrée principale (entree-nord)",  # the gates, by name
        "chiffré par une clé portée par la carte",  # their storage types
        "identification 1:N",
        "AIPD-2025-07, enregistrée par mme.proviseure",  # the recorded reference
        "<td>donné</td><td>2</td>",
        "<td>refusé</td><td>1</td>",
        "<td>retiré</td><td>1</td>",
        "gate_event_identified</td><td>30 jours</td><td>92 jours",  # periods in force
        "norme simplifiée n° 42",  # and their legal source
        "droits des personnes (export, effacement)",  # the permission matrix
        "gate.denial : gate_id, reason, person (pseudonyme)",  # the hub's real allow-list
        "Accès illégitime",
        "Modification non désirée",
        "Disparition",  # CNIL risks
        "[À compléter par le responsable de traitement]",  # what only the controller says
        "intacte",  # the audit chain, verified now
        "Alternative non biométrique",
    ):
        assert expected in html, expected
    assert html.index("Contexte") < html.index("Durées de conservation") < html.index("Risque")
    pdf = render_dpia_pdf(document)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) >= 3  # a real multi-page document


def test_only_the_head_of_school_records_the_reference(site: Site, clock: Clock) -> None:
    with pytest.raises(PermissionDeniedError, match="chef d'établissement"):
        site.impact_assessments.record("dpo", Role.DPO, "AIPD-2025-07")
    with pytest.raises(ConfigurationError, match="1 to 200"):
        site.impact_assessments.record("proviseur", Role.HEAD_OF_SCHOOL, "   ")
    assert site.impact_assessments.current() is None
    recorded = site.impact_assessments.record("proviseur", Role.HEAD_OF_SCHOOL, " AIPD  2025 ")
    assert recorded.reference == "AIPD 2025" and recorded.recorded_at == clock.now()
    with site.reader() as uow:
        entry = uow.audit.latest(1, "dpia.record")[0]
    assert (entry.actor, entry.target) == ("proviseur", "AIPD 2025")


def test_identification_refuses_to_start_without_the_recorded_reference(
    site: Site, clock: Clock
) -> None:
    config = parse_site_config(SITE, environ={})

    def sink(_decision: object) -> None:
        raise AssertionError("no gate may run")

    with pytest.raises(ConfigurationError, match="no impact assessment has been recorded"):
        build_gate_lanes(site, config, sink)
    site.impact_assessments.record("proviseur", Role.HEAD_OF_SCHOOL, "AIPD-2024-01")
    with pytest.raises(ConfigurationError, match="is not the recorded reference 'AIPD-2024-01'"):
        build_gate_lanes(site, config, sink)
    clock.advance(1)
    site.impact_assessments.record("proviseur", Role.HEAD_OF_SCHOOL, "AIPD-2025-07")
    site.impact_assessments.check_gates([("parking", "AIPD-2025-07")])  # now it may start


def test_cli_dpia_record_and_generate(cli, tmp_path: Path) -> None:  # noqa: F811
    config = tmp_path / "site.toml"
    config.write_text(SITE, encoding="utf-8")
    assert "aucune référence" in cli("dpia", "show")
    assert "AIPD-2025-07" in cli("dpia", "record", "AIPD-2025-07", "--signataire", "M. Dupont")
    out = cli("dpia", "--config", str(config), "--sortie", str(tmp_path / "aipd"))
    html = (tmp_path / "aipd" / "aipd.html").read_text(encoding="utf-8")
    assert "parking" in html and "M. Dupont" in html
    assert (tmp_path / "aipd" / "aipd.pdf").read_bytes().startswith(b"%PDF-")
    assert "aipd.pdf" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("[[gates]]\nid = 3\n", encoding="utf-8")
    assert "erreur" in cli("dpia", "--config", str(bad), code=2)
