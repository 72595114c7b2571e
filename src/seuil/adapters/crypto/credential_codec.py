"""The compact signed credential printed as a QR code.

Binary layout (big-endian integers)::

    size   field
    1      version = 0x01
    1      storage type: 0 none, 1 on the credential, 2 key on the credential, 3 site database
    16     credential id (random; the revocation list names it)
    1+n    person ref: length n (1-255), then n printable ASCII characters
    1+m    site id (e.g. the school's UAI "0830042X"): length m (1-255), then ASCII
    4      valid from: uint32 seconds since 1970-01-01 UTC
    4      valid until: uint32 seconds (exclusive)
    2      signing key id (its 4 hex characters as 2 bytes)
    2+p    payload: length p (uint16), then
             on the credential:     1 byte format (1 int8, 2 float16) + the quantised
                                    template (see seuil.engine.quantise; int8 = 132 bytes)
             key on the credential: the 32-byte per-person AES-256 key
             otherwise:             nothing
    64     Ed25519 signature of every byte before it

Text form (what the QR code holds): ``"SE1:"`` + base45 of the bytes (RFC 9285, the QR
alphanumeric alphabet, as the EU digital COVID certificate uses). A credential without a
template is about 180 characters; with an int8 template about 380 (QR version 12-M).

:func:`decode` checks, in this order, and refuses with a distinct
:class:`~seuil.domain.credentials.CheckResult`: MALFORMED (no prefix, not base45,
trailing bytes), TRUNCATED (shorter than its own length fields say), UNSUPPORTED_VERSION,
UNKNOWN_KEY (unknown or retired signing key), FORGED (bad signature), then, on signed
content only, MALFORMED (impossible field values), WRONG_SITE, NOT_YET_VALID, EXPIRED.
Revocation is checked by the caller against the revocation list, by
:attr:`DecodedCredential.id`. Times are whole seconds: encoding drops fractions.
"""

from __future__ import annotations

import logging
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import base45  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidSignature

from seuil.adapters.crypto.keys import KEY_ID_BYTES, Verifier
from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.errors import (
    ConfigurationError,
    CredentialRejectedError,
    DataFormatError,
    SeuilError,
)
from seuil.engine.quantise import QuantKind, check_quantised, dequantise, quantise
from seuil.ports.crypto import CredentialClaims, SignedCredential

__all__ = [
    "PREFIX",
    "VERSION",
    "CarriedTemplate",
    "CredentialCheckError",
    "CredentialContent",
    "DecodedCredential",
    "SignedCredentialCodec",
    "Signer",
    "binary_to_text",
    "decode",
    "encode",
    "text_to_binary",
]

PREFIX = "SE1:"
VERSION = 1
ID_BYTES = 16
PERSON_KEY_BYTES = 32
SIGNATURE_BYTES = 64
MAX_TEXT = 2048  # far above any real credential: refuse before decoding a huge string

_STORAGE = {
    TemplateStorage.NONE: 0,
    TemplateStorage.ON_CREDENTIAL: 1,
    TemplateStorage.KEY_ON_CREDENTIAL: 2,
    TemplateStorage.SITE_DATABASE: 3,
}
_STORAGE_BY_CODE = {code: storage for storage, code in _STORAGE.items()}
_QUANT = {QuantKind.INT8: 1, QuantKind.FLOAT16: 2}
_QUANT_BY_CODE = {code: kind for kind, code in _QUANT.items()}
_TIMES = struct.Struct(">II")
_U16 = struct.Struct(">H")
_UINT32_MAX = 2**32 - 1


def _check_ascii(value: str, what: str) -> None:
    if not 1 <= len(value) <= 255 or not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise ValueError(f"the {what} must be 1 to 255 printable ASCII characters")


def _seconds(moment: datetime, what: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    value = int(moment.timestamp())
    if not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"{what} is outside 1970-2106")
    return value


@dataclass(frozen=True, slots=True)
class CarriedTemplate:
    """A quantised template carried by the credential (*on the credential* storage)."""

    kind: QuantKind
    data: bytes

    def __post_init__(self) -> None:
        if self.kind not in _QUANT:
            raise ValueError(f"a credential carries int8 or float16 templates, not {self.kind}")
        check_quantised(self.data, self.kind)

    def vector(self) -> npt.NDArray[np.float32]:
        """The template as a float32 unit vector."""
        return dequantise(self.data, self.kind)

    def __repr__(self) -> str:
        return f"CarriedTemplate({self.kind}, <{len(self.data)} bytes>)"


@dataclass(frozen=True, slots=True, repr=False)
class CredentialContent:
    """Everything a credential states; its payload depends on the storage type."""

    credential_id: bytes
    person_ref: str
    site_id: str
    storage: TemplateStorage
    valid_from: datetime
    valid_until: datetime
    template: CarriedTemplate | None = None  # ON_CREDENTIAL only
    person_key: bytes | None = None  # KEY_ON_CREDENTIAL only

    def __post_init__(self) -> None:
        if len(self.credential_id) != ID_BYTES:
            raise ValueError(f"a credential id is {ID_BYTES} bytes")
        _check_ascii(self.person_ref, "person ref")
        _check_ascii(self.site_id, "site id")
        if _seconds(self.valid_from, "valid_from") >= _seconds(self.valid_until, "valid_until"):
            raise ValueError("valid_from must be before valid_until")
        on_card = self.storage is TemplateStorage.ON_CREDENTIAL
        key_on_card = self.storage is TemplateStorage.KEY_ON_CREDENTIAL
        if (self.template is not None) != on_card:
            raise ValueError("a template is carried exactly when the storage is on_credential")
        if (self.person_key is not None) != key_on_card:
            raise ValueError("a key is carried exactly when the storage is key_on_credential")
        if self.person_key is not None and len(self.person_key) != PERSON_KEY_BYTES:
            raise ValueError(f"a person key is {PERSON_KEY_BYTES} bytes")

    @property
    def id(self) -> str:
        """The credential id in hex, as the site records it."""
        return self.credential_id.hex()

    def __repr__(self) -> str:  # never shows the template or the key
        return (
            f"CredentialContent(id={self.id}, person_ref={self.person_ref!r}, "
            f"site_id={self.site_id!r}, storage={self.storage}, "
            f"valid={self.valid_from.isoformat()}..{self.valid_until.isoformat()})"
        )


@dataclass(frozen=True, slots=True)
class DecodedCredential:
    """A credential whose signature, site and validity window were checked."""

    content: CredentialContent
    key_id: str

    @property
    def id(self) -> str:
        return self.content.id


class CredentialCheckError(CredentialRejectedError):
    """A refused credential; ``credential`` is set when its signature was good
    (wrong site, not yet valid, expired), so the gate can say whose it is."""

    def __init__(
        self, message: str, reason: CheckResult, credential: DecodedCredential | None = None
    ) -> None:
        super().__init__(message, reason=reason.value)
        self.result = reason
        self.credential = credential


class Signer(Protocol):
    @property
    def active_key_id(self) -> str: ...

    def sign(self, data: bytes) -> tuple[str, bytes]: ...


# -- text form -----------------------------------------------------------------------


def binary_to_text(raw: bytes) -> str:
    encoded: bytes = base45.b45encode(raw)
    return PREFIX + encoded.decode("ascii")


def text_to_binary(text: str) -> bytes:
    """The credential's bytes; MALFORMED when the prefix or the base45 is wrong."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise CredentialCheckError("not a seuil credential", CheckResult.MALFORMED)
    if len(text) > MAX_TEXT:
        raise CredentialCheckError("the credential text is too long", CheckResult.MALFORMED)
    try:
        raw: bytes = base45.b45decode(text[len(PREFIX) :])
    except ValueError:
        raise CredentialCheckError(
            "the credential is not valid base45", CheckResult.MALFORMED
        ) from None
    return raw


# -- binary form ---------------------------------------------------------------------


def _payload(content: CredentialContent) -> bytes:
    if content.template is not None:
        return bytes([_QUANT[content.template.kind]]) + content.template.data
    if content.person_key is not None:
        return content.person_key
    return b""


def _body(content: CredentialContent, key_id: str) -> bytes:
    key = bytes.fromhex(key_id)
    if len(key) != KEY_ID_BYTES:
        raise ValueError(f"a key id is {2 * KEY_ID_BYTES} hex characters")
    person = content.person_ref.encode("ascii")
    site = content.site_id.encode("ascii")
    payload = _payload(content)
    return b"".join(
        (
            bytes([VERSION, _STORAGE[content.storage]]),
            content.credential_id,
            bytes([len(person)]),
            person,
            bytes([len(site)]),
            site,
            _TIMES.pack(
                _seconds(content.valid_from, "valid_from"),
                _seconds(content.valid_until, "valid_until"),
            ),
            key,
            _U16.pack(len(payload)),
            payload,
        )
    )


def _sign(content: CredentialContent, keyring: Signer) -> tuple[str, str]:
    for _ in range(3):  # a rotation between reading the key id and signing: sign again
        key_id = keyring.active_key_id
        body = _body(content, key_id)
        used, signature = keyring.sign(body)
        if used == key_id:
            return binary_to_text(body + signature), key_id
    raise ConfigurationError("the signing key keeps changing: retry when rotation is over")


def encode(content: CredentialContent, keyring: Signer) -> str:
    """Sign ``content`` with the keyring's active key; the text to put in the QR code."""
    return _sign(content, keyring)[0]


class _TruncatedError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Parsed:
    body: bytes
    signature: bytes
    storage_code: int
    credential_id: bytes
    person_ref: bytes
    site_id: bytes
    valid_from: int
    valid_until: int
    key_id: str
    payload: bytes


def _parse(raw: bytes) -> _Parsed:
    """Split the bytes along their own length fields (no meaning checked yet)."""
    if not raw:
        raise CredentialCheckError("the credential is empty", CheckResult.TRUNCATED)
    if raw[0] != VERSION:
        raise CredentialCheckError(
            f"credential format {raw[0]} is not supported", CheckResult.UNSUPPORTED_VERSION
        )
    pos = 2 + ID_BYTES

    def take(size: int) -> bytes:
        nonlocal pos
        if pos + size > len(raw):
            raise _TruncatedError
        chunk = raw[pos : pos + size]
        pos += size
        return chunk

    try:
        person = take(take(1)[0])
        site = take(take(1)[0])
        valid_from, valid_until = _TIMES.unpack(take(_TIMES.size))
        key_id = take(KEY_ID_BYTES).hex()
        payload = take(_U16.unpack(take(_U16.size))[0])
        end = pos
        signature = take(SIGNATURE_BYTES)
    except _TruncatedError:
        raise CredentialCheckError("the credential is truncated", CheckResult.TRUNCATED) from None
    if pos != len(raw):
        raise CredentialCheckError("the credential has trailing bytes", CheckResult.MALFORMED)
    return _Parsed(
        raw[:end],
        signature,
        raw[1],
        raw[2 : 2 + ID_BYTES],
        person,
        site,
        valid_from,
        valid_until,
        key_id,
        payload,
    )


def _content(parsed: _Parsed) -> CredentialContent:
    """The signed fields, typed; ValueError/DataFormatError when they make no sense."""
    storage = _STORAGE_BY_CODE.get(parsed.storage_code)
    if storage is None:
        raise ValueError("unknown storage type")
    template = person_key = None
    if storage is TemplateStorage.ON_CREDENTIAL:
        if not parsed.payload or parsed.payload[0] not in _QUANT_BY_CODE:
            raise ValueError("unknown template format")
        template = CarriedTemplate(_QUANT_BY_CODE[parsed.payload[0]], parsed.payload[1:])
    elif storage is TemplateStorage.KEY_ON_CREDENTIAL:
        person_key = parsed.payload
    elif parsed.payload:
        raise ValueError("unexpected payload")
    return CredentialContent(
        credential_id=parsed.credential_id,
        person_ref=parsed.person_ref.decode("ascii"),
        site_id=parsed.site_id.decode("ascii"),
        storage=storage,
        valid_from=datetime.fromtimestamp(parsed.valid_from, UTC),
        valid_until=datetime.fromtimestamp(parsed.valid_until, UTC),
        template=template,
        person_key=person_key,
    )


def decode(text: str, verifier: Verifier, site_id: str, now: datetime) -> DecodedCredential:
    """Check a credential's text for this site at ``now``; raise CredentialCheckError if refused."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parsed = _parse(text_to_binary(text))
    public_key = verifier.public_key(parsed.key_id)
    if public_key is None:
        raise CredentialCheckError(
            f"signed with key {parsed.key_id}, unknown here or retired", CheckResult.UNKNOWN_KEY
        )
    try:
        public_key.verify(parsed.signature, parsed.body)
    except InvalidSignature:
        raise CredentialCheckError("the signature does not verify", CheckResult.FORGED) from None
    try:
        content = _content(parsed)
    except (ValueError, DataFormatError):
        raise CredentialCheckError(
            "the credential's signed content is invalid", CheckResult.MALFORMED
        ) from None
    decoded = DecodedCredential(content, parsed.key_id)
    if content.site_id != site_id:
        raise CredentialCheckError(
            f"issued for site {content.site_id}", CheckResult.WRONG_SITE, decoded
        )
    if now < content.valid_from:
        raise CredentialCheckError(
            f"valid from {content.valid_from.isoformat()}", CheckResult.NOT_YET_VALID, decoded
        )
    if now >= content.valid_until:
        raise CredentialCheckError(
            f"expired on {content.valid_until.isoformat()}", CheckResult.EXPIRED, decoded
        )
    return decoded


# -- the CredentialCodec port --------------------------------------------------------


KEY_REFRESH_S = 30.0
logger = logging.getLogger(__name__)


class SignedCredentialCodec:
    """The :class:`~seuil.ports.crypto.CredentialCodec` port for one site.

    The port's ``payload`` is the template quantised as ``template_kind`` (on the
    credential) or the 32-byte person key (key on the credential). A gate builds it with
    a :class:`~seuil.adapters.crypto.keys.PublicKeyring` and no signer; the office with
    the :class:`~seuil.adapters.crypto.keys.Keyring` as both.
    """

    def __init__(
        self,
        site_id: str,
        verifier: Verifier,
        signer: Signer | None = None,
        template_kind: QuantKind = QuantKind.INT8,
    ) -> None:
        if template_kind not in _QUANT:
            raise ConfigurationError(f"a credential cannot carry a {template_kind} template")
        self.site_id = site_id
        self._verifier = verifier
        self._signer = signer
        self._kind = template_kind
        self._keys_read_at = time.monotonic()

    def _refresh_keys(self) -> None:
        """A long-running gate sees a key rotated or retired by the office within a minute."""
        reload = getattr(self._verifier, "reload", None)
        if reload is not None and time.monotonic() - self._keys_read_at >= KEY_REFRESH_S:
            self._keys_read_at = time.monotonic()
            try:
                reload()
            except (OSError, SeuilError) as exc:  # keep the keys we have; say why
                logger.warning("signing keys could not be re-read: %s", type(exc).__name__)

    def encode(self, claims: CredentialClaims) -> SignedCredential:
        if self._signer is None:
            raise ConfigurationError("this codec only checks credentials: it has no signing key")
        storage, payload = claims.storage, claims.payload
        try:
            content = CredentialContent(
                claims.credential_id,
                claims.person_ref,
                claims.site_id,
                storage,
                claims.valid_from,
                claims.valid_until,
                template=(
                    CarriedTemplate(self._kind, payload)
                    if storage is TemplateStorage.ON_CREDENTIAL
                    else None
                ),
                person_key=payload if storage is TemplateStorage.KEY_ON_CREDENTIAL else None,
            )
            if storage not in _CARRIES and payload:
                raise ValueError(f"a {storage} credential carries no payload")
        except (ValueError, DataFormatError) as exc:
            raise ConfigurationError(f"cannot issue this credential: {exc}") from exc
        text, key_id = _sign(content, self._signer)
        return SignedCredential(text, key_id)

    def decode(self, text: str, now: datetime) -> CredentialClaims:
        self._refresh_keys()
        decoded = decode(text, self._verifier, self.site_id, now)
        c = decoded.content
        payload = c.person_key or b""
        if c.template is not None:
            payload = c.template.data
            if c.template.kind is not self._kind:  # issued with another setting
                payload = quantise(c.template.vector(), self._kind)
        return CredentialClaims(
            c.credential_id,
            c.person_ref,
            c.site_id,
            c.valid_from,
            c.valid_until,
            c.storage,
            payload,
            decoded.key_id,
        )


_CARRIES = (TemplateStorage.ON_CREDENTIAL, TemplateStorage.KEY_ON_CREDENTIAL)
