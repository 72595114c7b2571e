"""AES-256-GCM blobs: round trip, and refusal of tampered, swapped or wrongly keyed blobs."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seuil.adapters.crypto.keys import SiteKey
from seuil.adapters.crypto.template_cipher import (
    NONCE_BYTES,
    BlobPurpose,
    SiteBlobCipher,
    TemplateCipher,
    new_person_key,
)
from seuil.domain.errors import ConfigurationError, DecryptionError
from seuil.engine.quantise import QuantKind, dequantise, quantise
from seuil.ports.crypto import BlobCipher

ALICE, BOB = "P-ALICE000001", "P-BOB00000002"


@pytest.fixture
def cipher() -> TemplateCipher:
    return TemplateCipher(SiteKey(os.urandom(32)).key)


def template_bytes() -> bytes:
    return quantise(np.random.default_rng(3).normal(size=128), QuantKind.FLOAT32)


@pytest.mark.parametrize("purpose", list(BlobPurpose))
def test_round_trip(cipher: TemplateCipher, purpose: BlobPurpose) -> None:
    plain = template_bytes()
    blob = cipher.encrypt(plain, person_ref=ALICE, purpose=purpose)
    assert blob[0] == 1 and len(blob) == 1 + NONCE_BYTES + len(plain) + 16
    assert plain not in blob
    assert cipher.decrypt(blob, person_ref=ALICE, purpose=purpose) == plain
    vec = dequantise(cipher.decrypt(blob, person_ref=ALICE, purpose=purpose), QuantKind.FLOAT32)
    assert vec.shape == (128,)


def test_each_encryption_uses_a_fresh_nonce(cipher: TemplateCipher) -> None:
    plain = template_bytes()
    blobs = {
        cipher.encrypt(plain, person_ref=ALICE, purpose=BlobPurpose.TEMPLATE) for _ in range(20)
    }
    assert len(blobs) == 20
    assert len({b[1 : 1 + NONCE_BYTES] for b in blobs}) == 20


def test_every_byte_change_is_refused(cipher: TemplateCipher) -> None:
    blob = cipher.encrypt(b"photo bytes" * 10, person_ref=ALICE, purpose=BlobPurpose.PHOTO)
    for pos in range(len(blob)):
        mutated = bytearray(blob)
        mutated[pos] ^= 0x01
        with pytest.raises(DecryptionError):
            cipher.decrypt(bytes(mutated), person_ref=ALICE, purpose=BlobPurpose.PHOTO)


def test_truncated_blob_is_refused(cipher: TemplateCipher) -> None:
    blob = cipher.encrypt(b"x" * 40, person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(blob[:length], person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)


def test_blob_copied_to_another_person_does_not_decrypt(cipher: TemplateCipher) -> None:
    blob = cipher.encrypt(template_bytes(), person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)
    with pytest.raises(DecryptionError, match="another person"):
        cipher.decrypt(blob, person_ref=BOB, purpose=BlobPurpose.TEMPLATE)


def test_photo_cannot_pass_as_template(cipher: TemplateCipher) -> None:
    blob = cipher.encrypt(b"jpeg...", person_ref=ALICE, purpose=BlobPurpose.PHOTO)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)


def test_wrong_key_is_refused(cipher: TemplateCipher) -> None:
    blob = cipher.encrypt(template_bytes(), person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)
    with pytest.raises(DecryptionError):
        TemplateCipher(os.urandom(32)).decrypt(blob, person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)


def test_key_on_credential_blob_is_useless_with_the_site_key(cipher: TemplateCipher) -> None:
    """The site's database plus the site key still cannot open a person-keyed template."""
    person_key = new_person_key()
    assert len(person_key) == 32 and person_key != new_person_key()
    blob = TemplateCipher(person_key).encrypt(
        template_bytes(), person_ref=ALICE, purpose=BlobPurpose.TEMPLATE
    )
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)
    assert (
        TemplateCipher(person_key).decrypt(blob, person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)
        == template_bytes()
    )


def test_unknown_blob_version(cipher: TemplateCipher) -> None:
    blob = bytearray(cipher.encrypt(b"x", person_ref=ALICE, purpose=BlobPurpose.TEMPLATE))
    blob[0] = 2
    with pytest.raises(DecryptionError, match="unknown format"):
        cipher.decrypt(bytes(blob), person_ref=ALICE, purpose=BlobPurpose.TEMPLATE)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_key_must_be_32_bytes(size: int) -> None:
    with pytest.raises(ConfigurationError):
        TemplateCipher(b"k" * size)


def test_repr_hides_the_key() -> None:
    key = os.urandom(32)
    assert key.hex() not in repr(TemplateCipher(key))


def test_empty_person_ref_is_refused(cipher: TemplateCipher) -> None:
    with pytest.raises(ValueError):
        cipher.encrypt(b"x", person_ref="", purpose=BlobPurpose.TEMPLATE)


def test_blob_cipher_port_with_site_key_and_person_key() -> None:
    site_key, person_key = os.urandom(32), new_person_key()
    port: BlobCipher = SiteBlobCipher(site_key)
    photo = port.seal(b"jpeg", ALICE, "photo")
    assert port.open(photo, ALICE, "photo") == b"jpeg"
    assert (
        TemplateCipher(site_key).decrypt(photo, person_ref=ALICE, purpose=BlobPurpose.PHOTO)
        == b"jpeg"
    )
    sealed = port.seal(template_bytes(), ALICE, "template", person_key)
    assert port.open(sealed, ALICE, "template", person_key) == template_bytes()
    with pytest.raises(DecryptionError):
        port.open(sealed, ALICE, "template")  # the site key alone opens nothing
    with pytest.raises(DecryptionError):
        port.open(sealed, BOB, "template", person_key)
    with pytest.raises(ValueError):
        port.seal(b"x", ALICE, "fingerprint")
    assert site_key.hex() not in repr(port)
