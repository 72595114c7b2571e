"""Ports for the site's cryptography: signed credentials and encrypted blobs.

The use cases never see key material: they ask a codec to sign or check a credential
and a cipher to seal or open a blob bound to one person and one purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from seuil.domain.credentials import TemplateStorage


@dataclass(frozen=True, slots=True)
class CredentialClaims:
    """What a signed credential says (the QR code's content, before encoding)."""

    credential_id: bytes  # 16 bytes
    person_ref: str
    site_id: str
    valid_from: datetime
    valid_until: datetime
    storage: TemplateStorage
    # quantised template (on credential) or the person's key: never in a repr or a log
    payload: bytes = field(default=b"", repr=False)
    key_id: str = ""  # filled in by the codec when it signs

    @property
    def id_hex(self) -> str:
        return self.credential_id.hex()


@dataclass(frozen=True, slots=True)
class SignedCredential:
    text: str = field(repr=False)  # what the QR code holds (it may carry a key)
    key_id: str  # the signing key used


class CredentialCodec(Protocol):
    """Signs claims into printable text, and checks text back into claims.

    ``decode`` raises CredentialRejectedError with a distinct CheckResult reason for a
    malformed, truncated, forged, wrong-site, not-yet-valid or expired credential.
    Revocation is not its business: the caller checks the id against the list.
    """

    def encode(self, claims: CredentialClaims) -> SignedCredential: ...
    def decode(self, text: str, now: datetime) -> CredentialClaims: ...


class BlobCipher(Protocol):
    """AES-256-GCM sealing bound to a person and a purpose ("template", "photo")."""

    def seal(
        self, data: bytes, person_ref: str, purpose: str, key: bytes | None = None
    ) -> bytes: ...
    def open(
        self, blob: bytes, person_ref: str, purpose: str, key: bytes | None = None
    ) -> bytes: ...
