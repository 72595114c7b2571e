"""Use cases on a real SQLite site: revocation, consent, the three template storage types."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from tests.services.conftest import make_settings

from seuil.adapters.crypto.template_cipher import SiteBlobCipher
from seuil.bootstrap import build_site
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import CheckResult, RevocationReason, TemplateStorage
from seuil.domain.errors import ConflictError, ConsentRequiredError, DecryptionError
from seuil.domain.people import PersonKind, PersonStatus

ACTOR = "test:cpe"


def _photos(shared, n=3):
    files = sorted((shared / "video/enrol/obama").glob("*.jpg"))[:n]
    return [(p.name, p.read_bytes()) for p in files]


def _pupil(site, name="Martin"):
    return site.people.create(ACTOR, PersonKind.PUPIL, name, "Léa", group="2NDE1")


def _consent(site, ref, state=ConsentState.GIVEN):
    return site.consent.record(ACTOR, ref, state, ConsentGiver.GUARDIAN, "2026-v1", "ref-1")


def test_non_biometric_credential_checks_and_revokes(site):
    person = _pupil(site)
    issued = site.credentials.issue_qr(ACTOR, person.ref)
    check = site.credentials.check_text(issued.text)
    assert check.result is CheckResult.VALID and check.person.ref == person.ref
    assert check.storage is TemplateStorage.NONE
    site.credentials.revoke(ACTOR, issued.credential.id, RevocationReason.LOST)
    assert site.credentials.check_text(issued.text).result is CheckResult.REVOKED


def test_revocation_reaches_another_process_at_once(site, tmp_path):
    url = site.database_url
    # A gate is another process on the same database: it sees the revocation on its
    # very next check (no cache to expire).
    person = _pupil(site)
    issued = site.credentials.issue_qr(ACTOR, person.ref)
    gate = build_site(make_settings(tmp_path, url=url))
    try:
        assert gate.credentials.check_text(issued.text).result is CheckResult.VALID
        site.credentials.revoke(ACTOR, issued.credential.id, RevocationReason.LOST)
        assert gate.credentials.check_text(issued.text).result is CheckResult.REVOKED
    finally:
        gate.close()


def test_other_site_and_tampering_refused(site, tmp_path):
    person = _pupil(site)
    text = site.credentials.issue_qr(ACTOR, person.ref).text
    other = build_site(make_settings(tmp_path / "other", site_id="0060001A"))
    try:
        # Another school does not know this site's key: refused before reading the site.
        assert other.credentials.check_text(text).result is CheckResult.UNKNOWN_KEY
    finally:
        other.close()
    assert site.credentials.check_text(text[:-5]).result in {
        CheckResult.TRUNCATED,
        CheckResult.MALFORMED,
        CheckResult.FORGED,
    }
    assert site.credentials.check_text("hello").result is CheckResult.MALFORMED


def test_exclusion_revokes_everything(site):
    person = _pupil(site)
    a = site.credentials.issue_qr(ACTOR, person.ref)
    b = site.credentials.issue_badge(ACTOR, person.ref, "12345678", TemplateStorage.NONE)
    done = site.people.set_status(ACTOR, person.ref, PersonStatus.EXCLUDED, "conseil")
    assert done.revoked == 2
    assert site.credentials.check_text(a.text).result is CheckResult.REVOKED
    assert site.credentials.check_badge("12345678").result is CheckResult.REVOKED
    assert site.credentials.check_badge("999").result is CheckResult.UNKNOWN_BADGE
    with pytest.raises(ConflictError):
        site.credentials.issue_qr(ACTOR, person.ref)
    del b


def test_suspension_needs_an_end_date(site):
    person = _pupil(site)
    with pytest.raises(ConflictError):
        site.people.set_status(ACTOR, person.ref, PersonStatus.SUSPENDED, "retard", None)


def test_enrolment_requires_consent(site, shared):
    person = _pupil(site)
    with pytest.raises(ConsentRequiredError):
        site.enrolment.enrol(ACTOR, person.ref, _photos(shared), TemplateStorage.SITE_DATABASE)
    _consent(site, person.ref, ConsentState.REFUSED)
    with pytest.raises(ConsentRequiredError):
        site.enrolment.enrol(ACTOR, person.ref, _photos(shared), TemplateStorage.SITE_DATABASE)


def _blobs(site):
    with site.uow() as uow:
        return uow.templates.all_site_templates()


def test_key_on_credential_database_copy_yields_no_template(sqlite_site, shared, tmp_path):
    site = sqlite_site
    person = _pupil(site)
    _consent(site, person.ref)
    outcome = site.enrolment.enrol(
        ACTOR, person.ref, _photos(shared), TemplateStorage.KEY_ON_CREDENTIAL
    )
    assert outcome.enrolled
    with site.uow() as uow:
        stored = uow.templates.get(person.ref)
    assert stored is not None and stored.storage is TemplateStorage.KEY_ON_CREDENTIAL
    # A stolen copy of the database, even with the site key, cannot open the template.
    with pytest.raises(DecryptionError):
        site.cipher.open(stored.blob, person.ref, "template")
    with pytest.raises(DecryptionError):
        SiteBlobCipher(b"\x00" * 32).open(stored.blob, person.ref, "template")
    # The card carries the key: with it, the template opens and is a unit vector.
    check = site.credentials.check_text(outcome.issued.text)
    assert check.result is CheckResult.VALID and len(check.payload) == 32
    template = np.frombuffer(
        site.cipher.open(stored.blob, person.ref, "template", check.payload), "<f4"
    )
    assert template.shape == (128,) and abs(float(np.linalg.norm(template)) - 1) < 1e-4
    # Nothing in the database file is the plaintext template.
    raw = (tmp_path / "site.sqlite3").read_bytes()
    assert template.tobytes()[:32] not in raw


def test_on_credential_site_stores_no_template(site, shared):
    person = _pupil(site)
    _consent(site, person.ref)
    outcome = site.enrolment.enrol(
        ACTOR, person.ref, _photos(shared), TemplateStorage.ON_CREDENTIAL
    )
    with site.uow() as uow:
        assert uow.templates.get(person.ref) is None
        assert uow.photos.get(person.ref) is not None  # the photo for the visual check
    check = site.credentials.check_text(outcome.issued.text)
    assert check.storage is TemplateStorage.ON_CREDENTIAL and len(check.payload) >= 128


def test_withdrawal_erases_template_and_revokes_biometric_credentials(site, shared):
    person = _pupil(site)
    _consent(site, person.ref)
    bio = site.enrolment.enrol(ACTOR, person.ref, _photos(shared), TemplateStorage.SITE_DATABASE)
    plain = site.credentials.issue_qr(ACTOR, person.ref)
    assert site.enrolment.display_photo(ACTOR, person.ref, "visual check")[:2] == b"\xff\xd8"
    _consent(site, person.ref, ConsentState.WITHDRAWN)
    with site.uow() as uow:
        assert uow.templates.get(person.ref) is None
        assert uow.photos.get(person.ref) is None
    assert site.credentials.check_text(bio.issued.text).result is CheckResult.REVOKED
    assert site.credentials.check_text(plain.text).result is CheckResult.VALID


def test_enrolment_with_no_usable_photo_stores_nothing(site, tmp_path):
    person = _pupil(site)
    _consent(site, person.ref)
    outcome = site.enrolment.enrol(
        ACTOR, person.ref, [("x.jpg", b"not an image")], TemplateStorage.SITE_DATABASE
    )
    assert not outcome.enrolled and outcome.checks[0].reasons == ("invalid_image",)
    with site.uow() as uow:
        assert uow.templates.get(person.ref) is None
        assert uow.credentials.for_person(person.ref) == []


def test_every_action_is_in_a_verified_audit_chain(sqlite_site):
    site = sqlite_site
    from seuil.adapters.storage.audit_log import verify_audit

    person = _pupil(site)
    site.people.get(ACTOR, person.ref, "appel")
    site.credentials.issue_qr(ACTOR, person.ref)
    with site.uow() as uow:
        actions = [e.action for e in uow.audit.entries()]
        verdict = verify_audit(uow)
    assert actions == ["person.create", "person.read", "credential.issue"]
    assert verdict.ok and verdict.entries == 3
    # Tamper with the file directly: verification finds it.
    con = sqlite3.connect(site.database_url.removeprefix("sqlite:///"))
    con.execute("UPDATE audit_log SET actor='someone-else' WHERE seq=2")
    con.commit()
    con.close()
    with site.uow() as uow:
        verdict = verify_audit(uow)
    assert not verdict.ok and verdict.first_bad_seq == 2


def test_reprint_only_for_non_biometric(site, shared):
    person = _pupil(site)
    issued = site.credentials.issue_qr(ACTOR, person.ref)
    again = site.credentials.reprint(ACTOR, issued.credential.id)
    assert site.credentials.check_text(again.text).result is CheckResult.VALID
    assert again.text == issued.text  # same content, deterministic Ed25519 signature
    _consent(site, person.ref)
    bio = site.enrolment.enrol(ACTOR, person.ref, _photos(shared, 1), TemplateStorage.ON_CREDENTIAL)
    with pytest.raises(ConflictError, match="enrol again"):
        site.credentials.reprint(ACTOR, bio.issued.credential.id)


def test_a_running_gate_sees_a_retired_key(site, tmp_path, monkeypatch):
    import seuil.adapters.crypto.credential_codec as codec

    monkeypatch.setattr(codec, "KEY_REFRESH_S", 0.0)  # re-read at every check (30 s live)
    person = _pupil(site)
    text = site.credentials.issue_qr(ACTOR, person.ref).text
    gate = build_site(make_settings(tmp_path, url=site.database_url))
    try:
        assert gate.credentials.check_text(text).result is CheckResult.VALID
        old = site.keyring.active_key_id
        site.keyring.rotate(site.clock.now())
        site.keyring.retire(old)
        assert gate.credentials.check_text(text).result is CheckResult.UNKNOWN_KEY
    finally:
        gate.close()
