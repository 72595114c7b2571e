"""The 1:N gallery on a real site (SQLite and PostgreSQL): consenting site-database
templates only, reloaded on revocation or erasure, and the candidate checked again."""

from __future__ import annotations

import numpy as np
import pytest

from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import CheckResult, RevocationReason, TemplateStorage
from seuil.domain.gate import FaceVerdict
from seuil.domain.people import PersonKind, PersonStatus
from seuil.engine.scoring import DecisionBand
from seuil.gate.identification import GalleryIdentifier
from seuil.ports.storage import StoredTemplate
from seuil.services.enrolment import TEMPLATE
from seuil.services.identification import IdentificationGallery

ACTOR = "test:cpe"
DIM = 128


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _person(site, seed, *, consent=True, storage=TemplateStorage.SITE_DATABASE, badge=None):
    person = site.people.create(ACTOR, PersonKind.PUPIL, f"Nom{seed}", "Test")
    if consent:
        site.consent.record(ACTOR, person.ref, ConsentState.GIVEN, ConsentGiver.SELF, "v1")
    blob = site.cipher.seal(_unit(seed).astype("<f4").tobytes(), person.ref, TEMPLATE)
    with site.uow() as uow:
        uow.templates.put(StoredTemplate(person.ref, storage, blob, "site", site.clock.now()))
        uow.commit()
    issued = site.credentials.issue_badge(ACTOR, person.ref, badge or str(1000 + seed),
                                          TemplateStorage.SITE_DATABASE)  # fmt: skip
    return person, issued.credential


@pytest.fixture
def gallery(site):
    return IdentificationGallery(site.reader, site.cipher, site.clock)


def test_only_consenting_site_database_templates_are_searched(site, gallery):
    alice, _ = _person(site, 1)
    bob, _ = _person(site, 2, consent=False)  # a template without consent: never searched
    carol, _ = _person(site, 3, storage=TemplateStorage.KEY_ON_CREDENTIAL)
    assert gallery.search(_unit(1)).best_ref == alice.ref
    assert gallery.size == 1
    found = gallery.search(_unit(2))
    assert found.best_ref == alice.ref and found.best < 0.5  # bob is not in the gallery
    assert bob.ref and carol.ref


def test_top_two_and_margin(site, gallery):
    a, _ = _person(site, 1)
    _person(site, 2)
    _person(site, 3)
    probe = 0.9 * _unit(1) + 0.1 * _unit(3)
    found = gallery.search(probe / np.linalg.norm(probe))
    assert found.best_ref == a.ref and found.best > found.second > 0
    assert found.margin == pytest.approx(found.best - found.second)


def test_revocation_reloads_the_cache_and_confirm_refuses(site, gallery):
    a, credential = _person(site, 1)
    _person(site, 2)
    assert gallery.search(_unit(1)).best_ref == a.ref
    loads = gallery.loads
    gallery.search(_unit(1))
    assert gallery.loads == loads  # cached: nothing changed
    site.credentials.revoke(ACTOR, credential.id, RevocationReason.LOST)
    assert gallery.confirm(a.ref).result is CheckResult.REVOKED
    gallery.search(_unit(1))
    assert gallery.loads == loads + 1  # a revocation since the load: reloaded


def test_consent_withdrawal_erases_and_leaves_the_gallery(site, gallery):
    a, _ = _person(site, 1)
    b, _ = _person(site, 2)
    assert gallery.search(_unit(1)).best_ref == a.ref
    site.consent.record(ACTOR, a.ref, ConsentState.WITHDRAWN, ConsentGiver.SELF, "v1")
    assert gallery.confirm(a.ref).result is not CheckResult.VALID
    assert gallery.search(_unit(1)).best_ref == b.ref and gallery.size == 1


def test_confirm_of_a_valid_person(site, gallery):
    a, credential = _person(site, 1)
    check = gallery.confirm(a.ref)
    assert check.result is CheckResult.VALID and check.credential_id == credential.id
    assert check.storage is TemplateStorage.SITE_DATABASE and check.person.ref == a.ref
    site.people.set_status(ACTOR, a.ref, PersonStatus.EXCLUDED, "conseil de discipline")
    assert gallery.confirm(a.ref).result is CheckResult.PERSON_INACTIVE


def test_identifier_grants_only_with_a_margin(site, gallery):
    a, _ = _person(site, 1)
    band = DecisionBand(0.95, 0.80)
    identifier = GalleryIdentifier(gallery, band, margin=0.05)
    found = identifier.identify(_unit(1))
    assert found.verdict is FaceVerdict.MATCH and found.check.person.ref == a.ref
    nobody = identifier.identify(_unit(99))
    assert nobody.check is None and nobody.verdict is None
    # A twin enrolled: the best is still above the threshold, but not ahead by the margin.
    twin = site.people.create(ACTOR, PersonKind.PUPIL, "Jumeau", "Test")
    site.consent.record(ACTOR, twin.ref, ConsentState.GIVEN, ConsentGiver.SELF, "v1")
    near = _unit(1) + 0.05 * _unit(7)
    blob = site.cipher.seal((near / np.linalg.norm(near)).astype("<f4").tobytes(), twin.ref,
                            TEMPLATE)  # fmt: skip
    with site.uow() as uow:
        uow.templates.put(StoredTemplate(twin.ref, TemplateStorage.SITE_DATABASE, blob, "site",
                                         site.clock.now()))  # fmt: skip
        uow.commit()
    gallery.invalidate()
    found = identifier.identify(_unit(1))
    assert found.verdict is FaceVerdict.REFER and found.score > 0.95


def test_empty_gallery_identifies_nobody(site, gallery):
    found = GalleryIdentifier(gallery, DecisionBand(0.95, 0.8)).identify(_unit(1))
    assert found.check is None and found.score is None
