"""AES-256-GCM for templates and enrolment photos kept on the site.

Blob format::

    version (1 byte, 0x01) | nonce (12 random bytes) | AES-GCM ciphertext and 16-byte tag

The associated data binds a blob to its purpose and its person::

    b"seuil-blob" | version | 0x00 | purpose | 0x00 | person ref (UTF-8)

so a blob copied onto another person's row, or a photo passed off as a template, fails
to decrypt just like a tampered blob or a wrong key: :class:`DecryptionError`.

The key is the site key (*site database* storage, photos) or a per-person key that only
the credential carries (*key on the credential* storage, :func:`new_person_key`).
:class:`SiteBlobCipher` serves the :class:`~seuil.ports.crypto.BlobCipher` port with both.
"""

from __future__ import annotations

import os
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seuil.domain.errors import ConfigurationError, DecryptionError

__all__ = ["BLOB_VERSION", "BlobPurpose", "SiteBlobCipher", "TemplateCipher", "new_person_key"]

BLOB_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class BlobPurpose(StrEnum):
    TEMPLATE = "template"
    PHOTO = "photo"


def new_person_key() -> bytes:
    """A fresh random 32-byte AES key for one person's *key on the credential* template."""
    return os.urandom(KEY_BYTES)


def _associated_data(person_ref: str, purpose: BlobPurpose) -> bytes:
    if not person_ref:
        raise ValueError("a blob must be bound to a person ref")
    return b"".join(
        (
            b"seuil-blob",
            bytes([BLOB_VERSION]),
            b"\0",
            purpose.value.encode("ascii"),
            b"\0",
            person_ref.encode("utf-8"),
        )
    )


class TemplateCipher:
    """Encrypts and decrypts blobs with one AES-256 key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"an AES-256 key is {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "TemplateCipher(<key hidden>)"

    def encrypt(self, plaintext: bytes, *, person_ref: str, purpose: BlobPurpose) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, _associated_data(person_ref, purpose))
        return bytes([BLOB_VERSION]) + nonce + sealed

    def decrypt(self, blob: bytes, *, person_ref: str, purpose: BlobPurpose) -> bytes:
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError(f"the encrypted {purpose} is truncated")
        if blob[0] != BLOB_VERSION:
            raise DecryptionError(f"the encrypted {purpose} has unknown format {blob[0]}")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, _associated_data(person_ref, purpose))
        except InvalidTag:
            raise DecryptionError(
                f"the encrypted {purpose} does not decrypt: wrong key, altered, "
                "or belonging to another person"
            ) from None


class SiteBlobCipher:
    """The :class:`~seuil.ports.crypto.BlobCipher` port: the site key, or a person's key.

    ``purpose`` is a :class:`BlobPurpose` value ("template" or "photo"); ``key`` is the
    per-person key a credential carries, or ``None`` for the site key.
    """

    __slots__ = ("_site",)

    def __init__(self, site_key: bytes) -> None:
        self._site = TemplateCipher(site_key)

    def __repr__(self) -> str:
        return "SiteBlobCipher(<key hidden>)"

    def _cipher(self, key: bytes | None) -> TemplateCipher:
        return self._site if key is None else TemplateCipher(key)

    def seal(self, data: bytes, person_ref: str, purpose: str, key: bytes | None = None) -> bytes:
        return self._cipher(key).encrypt(data, person_ref=person_ref, purpose=BlobPurpose(purpose))

    def open(self, blob: bytes, person_ref: str, purpose: str, key: bytes | None = None) -> bytes:
        return self._cipher(key).decrypt(blob, person_ref=person_ref, purpose=BlobPurpose(purpose))
