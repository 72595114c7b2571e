"""The signed credential: round trips, and a distinct refusal for every kind of bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from seuil.adapters.crypto.credential_codec import (
    PREFIX,
    CarriedTemplate,
    CredentialCheckError,
    CredentialContent,
    SignedCredentialCodec,
    binary_to_text,
    decode,
    encode,
    text_to_binary,
)
from seuil.adapters.crypto.keys import Keyring, PublicKeyring
from seuil.adapters.crypto.template_cipher import new_person_key
from seuil.domain.credentials import CheckResult, TemplateStorage, new_credential_id
from seuil.domain.errors import ConfigurationError, CredentialRejectedError
from seuil.engine.quantise import QuantKind, dequantise, quantise
from seuil.ports.crypto import CredentialClaims, CredentialCodec

SITE = "0830042X"
FROM = datetime(2025, 9, 1, tzinfo=UTC)
UNTIL = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)
REFUSALS = {r for r in CheckResult if r is not CheckResult.VALID}


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys", FROM - timedelta(days=30))


def _template(kind: QuantKind = QuantKind.INT8) -> CarriedTemplate:
    vec = np.random.default_rng(7).normal(size=128)
    return CarriedTemplate(kind, quantise(vec, kind))


def make_claims(storage: TemplateStorage, kind: QuantKind = QuantKind.INT8) -> CredentialContent:
    return CredentialContent(
        credential_id=new_credential_id(),
        person_ref="P-K3J9X2M4QH7T",
        site_id=SITE,
        storage=storage,
        valid_from=FROM,
        valid_until=UNTIL,
        template=_template(kind) if storage is TemplateStorage.ON_CREDENTIAL else None,
        person_key=new_person_key() if storage is TemplateStorage.KEY_ON_CREDENTIAL else None,
    )


def refusal(text: str, verifier: PublicKeyring, *, site: str = SITE, now: datetime = NOW) -> str:
    with pytest.raises(CredentialRejectedError) as caught:
        decode(text, verifier, site, now)
    return caught.value.reason


# -- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("storage", list(TemplateStorage))
def test_round_trip_for_every_storage_type(keyring: Keyring, storage: TemplateStorage) -> None:
    claims = make_claims(storage)
    text = encode(claims, keyring)
    assert text.startswith(PREFIX)
    decoded = decode(text, keyring.verifier(), SITE, NOW)
    assert decoded.content == claims
    assert decoded.key_id == keyring.active_key_id
    assert decoded.id == claims.credential_id.hex() == claims.id


def test_float16_template_round_trip_and_vector(keyring: Keyring) -> None:
    claims = make_claims(TemplateStorage.ON_CREDENTIAL, QuantKind.FLOAT16)
    decoded = decode(encode(claims, keyring), keyring.verifier(), SITE, NOW)
    assert decoded.content.template is not None
    assert decoded.content.template.kind is QuantKind.FLOAT16
    vec = decoded.content.template.vector()
    assert vec.dtype == np.float32 and vec.shape == (128,)
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5


def test_text_is_qr_alphanumeric_and_compact(keyring: Keyring) -> None:
    alphabet = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    sizes = {}
    for storage in TemplateStorage:
        text = encode(make_claims(storage), keyring)
        assert set(text) <= alphabet
        sizes[storage] = len(text)
    assert sizes[TemplateStorage.NONE] < 200
    assert sizes[TemplateStorage.ON_CREDENTIAL] < 400


def test_times_are_whole_seconds(keyring: Keyring) -> None:
    claims = make_claims(TemplateStorage.NONE)
    shifted = CredentialContent(
        claims.credential_id,
        claims.person_ref,
        claims.site_id,
        claims.storage,
        FROM + timedelta(microseconds=700_000),
        UNTIL,
    )
    decoded = decode(encode(shifted, keyring), keyring.verifier(), SITE, NOW)
    assert decoded.content.valid_from == FROM


# -- tampering -----------------------------------------------------------------------


@pytest.mark.parametrize("storage", list(TemplateStorage))
def test_every_bit_flip_of_the_binary_form_is_refused(
    keyring: Keyring, storage: TemplateStorage
) -> None:
    raw = text_to_binary(encode(make_claims(storage), keyring))
    verifier = keyring.verifier()
    for pos in range(len(raw)):
        for bit in range(8):
            mutated = bytearray(raw)
            mutated[pos] ^= 1 << bit
            reason = refusal(binary_to_text(bytes(mutated)), verifier)
            assert reason in REFUSALS, (pos, bit, reason)


def test_every_byte_value_at_every_position_is_refused(keyring: Keyring) -> None:
    raw = text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring))
    verifier = keyring.verifier()
    seen = set()
    for pos in range(len(raw)):
        for value in range(256):
            if value == raw[pos]:
                continue
            mutated = bytearray(raw)
            mutated[pos] = value
            try:
                decode(binary_to_text(bytes(mutated)), verifier, SITE, NOW)
            except CredentialCheckError as exc:
                assert exc.result in REFUSALS
                seen.add(exc.result)
            else:
                pytest.fail(f"byte {pos} set to {value} was accepted")
    assert {
        CheckResult.UNSUPPORTED_VERSION,
        CheckResult.UNKNOWN_KEY,
        CheckResult.FORGED,
        CheckResult.TRUNCATED,
    } <= seen


def test_which_field_gives_which_reason(keyring: Keyring) -> None:
    raw = text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring))
    verifier = keyring.verifier()

    def with_byte(pos: int, xor: int = 0x01) -> str:
        mutated = bytearray(raw)
        mutated[pos] ^= xor
        return binary_to_text(bytes(mutated))

    key_id_at = len(raw) - 64 - 2 - 2  # key id, payload length (empty), signature
    assert refusal(with_byte(0), verifier) == CheckResult.UNSUPPORTED_VERSION
    assert refusal(with_byte(1), verifier) == CheckResult.FORGED  # storage type
    assert refusal(with_byte(5), verifier) == CheckResult.FORGED  # credential id
    assert refusal(with_byte(20), verifier) == CheckResult.FORGED  # person ref
    assert refusal(with_byte(key_id_at), verifier) == CheckResult.UNKNOWN_KEY
    assert refusal(with_byte(len(raw) - 1), verifier) == CheckResult.FORGED  # signature
    assert refusal(with_byte(18, 0x80), verifier) == CheckResult.TRUNCATED  # person ref length


def test_every_character_change_of_the_text_is_refused(keyring: Keyring) -> None:
    text = encode(make_claims(TemplateStorage.KEY_ON_CREDENTIAL), keyring)
    verifier = keyring.verifier()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for pos in range(len(text)):
        for other in (alphabet[(alphabet.index(text[pos]) + 1) % 45], "a", "#"):
            changed = text[:pos] + other + text[pos + 1 :]
            assert refusal(changed, verifier) in REFUSALS


def test_truncation_at_every_length_is_refused_as_truncated(keyring: Keyring) -> None:
    raw = text_to_binary(encode(make_claims(TemplateStorage.ON_CREDENTIAL), keyring))
    verifier = keyring.verifier()
    for length in range(len(raw)):
        assert refusal(binary_to_text(raw[:length]), verifier) == CheckResult.TRUNCATED, length


def test_truncated_text_is_refused(keyring: Keyring) -> None:
    text = encode(make_claims(TemplateStorage.NONE), keyring)
    verifier = keyring.verifier()
    for length in range(len(text)):
        assert refusal(text[:length], verifier) in {CheckResult.MALFORMED, CheckResult.TRUNCATED}


def test_trailing_bytes_are_malformed(keyring: Keyring) -> None:
    raw = text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring))
    assert refusal(binary_to_text(raw + b"\0"), keyring.verifier()) == CheckResult.MALFORMED


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "SE1",
        "SE2:ABC",
        "se1:ABC",
        "SE1:abc",
        "SE1:A",
        "SE1:GGW",
        "SE1:\u00e9\u00e9\u00e9",
    ],
)
def test_not_a_credential_is_malformed(keyring: Keyring, text: str) -> None:
    assert refusal(text, keyring.verifier()) == CheckResult.MALFORMED


def test_huge_text_is_malformed_without_decoding(keyring: Keyring) -> None:
    assert refusal(PREFIX + "0" * 100_000, keyring.verifier()) == CheckResult.MALFORMED


def test_non_text_is_malformed(keyring: Keyring) -> None:
    assert refusal(b"SE1:00", keyring.verifier()) == CheckResult.MALFORMED  # type: ignore[arg-type]


def test_unsupported_version(keyring: Keyring) -> None:
    raw = bytearray(text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring)))
    raw[0] = 2
    body = bytes(raw[:-64])
    _, signature = keyring.sign(body)  # even properly signed, version 2 is unknown here
    assert refusal(binary_to_text(body + signature), keyring.verifier()) == (
        CheckResult.UNSUPPORTED_VERSION
    )


def test_signature_by_another_key_is_forged(keyring: Keyring, tmp_path: Path) -> None:
    raw = text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring))
    body = raw[:-64]
    attacker = Keyring.create(tmp_path / "attacker", NOW)
    _, signature = attacker.sign(body)  # the body still names the site's key id
    assert refusal(binary_to_text(body + signature), keyring.verifier()) == CheckResult.FORGED


def test_credential_from_an_unknown_key_is_refused(keyring: Keyring, tmp_path: Path) -> None:
    other = Keyring.create(tmp_path / "other-site", NOW)
    while other.active_key_id in {k.key_id for k in keyring.keys}:
        other.rotate(NOW)
    text = encode(make_claims(TemplateStorage.NONE), other)
    assert refusal(text, keyring.verifier()) == CheckResult.UNKNOWN_KEY


def test_signed_but_impossible_content_is_malformed(keyring: Keyring) -> None:
    raw = bytearray(text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring)))
    raw[1] = 9  # no such storage type, yet signed with the site's key
    body = bytes(raw[:-64])
    _, signature = keyring.sign(body)
    assert refusal(binary_to_text(body + signature), keyring.verifier()) == CheckResult.MALFORMED


# -- site and validity window --------------------------------------------------------


def test_wrong_site_carries_the_checked_credential(keyring: Keyring) -> None:
    claims = make_claims(TemplateStorage.NONE)
    with pytest.raises(CredentialCheckError) as caught:
        decode(encode(claims, keyring), keyring.verifier(), "0831234A", NOW)
    assert caught.value.reason == CheckResult.WRONG_SITE.value
    assert caught.value.credential is not None
    assert caught.value.credential.content == claims


def test_validity_window_bounds(keyring: Keyring) -> None:
    text = encode(make_claims(TemplateStorage.NONE), keyring)
    verifier = keyring.verifier()
    second = timedelta(seconds=1)
    assert refusal(text, verifier, now=FROM - second) == CheckResult.NOT_YET_VALID
    assert decode(text, verifier, SITE, FROM).content.valid_from == FROM
    assert decode(text, verifier, SITE, UNTIL - second) is not None
    assert refusal(text, verifier, now=UNTIL) == CheckResult.EXPIRED
    assert refusal(text, verifier, now=UNTIL + timedelta(days=400)) == CheckResult.EXPIRED


def test_forged_error_carries_no_credential(keyring: Keyring) -> None:
    raw = bytearray(text_to_binary(encode(make_claims(TemplateStorage.NONE), keyring)))
    raw[-1] ^= 1
    with pytest.raises(CredentialCheckError) as caught:
        decode(binary_to_text(bytes(raw)), keyring.verifier(), SITE, NOW)
    assert caught.value.result is CheckResult.FORGED
    assert caught.value.credential is None


def test_naive_now_is_a_programming_error(keyring: Keyring) -> None:
    text = encode(make_claims(TemplateStorage.NONE), keyring)
    with pytest.raises(ValueError, match="timezone"):
        decode(text, keyring.verifier(), SITE, datetime(2025, 10, 6))


# -- key rotation --------------------------------------------------------------------


def test_rotation_keeps_old_credentials_until_the_old_key_is_retired(keyring: Keyring) -> None:
    old_key = keyring.active_key_id
    old_text = encode(make_claims(TemplateStorage.NONE), keyring)
    keyring.rotate(NOW)
    new_key = keyring.active_key_id
    assert new_key != old_key
    new_text = encode(make_claims(TemplateStorage.NONE), keyring)

    verifier = keyring.verifier()
    assert decode(old_text, verifier, SITE, NOW).key_id == old_key
    assert decode(new_text, verifier, SITE, NOW).key_id == new_key

    keyring.retire(old_key)
    for gate in (keyring.verifier(), Keyring.load(keyring.directory).verifier()):
        assert refusal(old_text, gate) == CheckResult.UNKNOWN_KEY
        assert decode(new_text, gate, SITE, NOW).key_id == new_key


# -- claims are checked when built ---------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"credential_id": b"short"},
        {"person_ref": ""},
        {"person_ref": "Zoé"},
        {"person_ref": "has space"},
        {"site_id": "x" * 256},
        {"valid_from": UNTIL},
        {"valid_from": datetime(2025, 9, 1)},
        {"valid_until": datetime(2107, 1, 1, tzinfo=UTC)},
        {"template": _template()},  # NONE storage must carry nothing
        {"person_key": b"k" * 32},
    ],
)
def test_invalid_claims_are_refused(change: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "credential_id": new_credential_id(),
        "person_ref": "P-1",
        "site_id": SITE,
        "storage": TemplateStorage.NONE,
        "valid_from": FROM,
        "valid_until": UNTIL,
    }
    fields.update(change)
    with pytest.raises(ValueError):
        CredentialContent(**fields)  # type: ignore[arg-type]


def test_person_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        CredentialContent(
            new_credential_id(),
            "P-1",
            SITE,
            TemplateStorage.KEY_ON_CREDENTIAL,
            FROM,
            UNTIL,
            person_key=b"k" * 16,
        )


def test_repr_shows_no_secret() -> None:
    claims = make_claims(TemplateStorage.KEY_ON_CREDENTIAL)
    assert claims.person_key is not None
    assert claims.person_key.hex() not in repr(claims)
    template_claims = make_claims(TemplateStorage.ON_CREDENTIAL)
    assert template_claims.template is not None
    assert template_claims.template.data.hex()[:16] not in repr(template_claims)
    assert "bytes" in repr(template_claims.template)


# -- the CredentialCodec port --------------------------------------------------------


def port_claims(storage: TemplateStorage, payload: bytes = b"") -> CredentialClaims:
    return CredentialClaims(
        new_credential_id(), "P-K3J9X2M4QH7T", SITE, FROM, UNTIL, storage, payload
    )


@pytest.mark.parametrize("storage", list(TemplateStorage))
def test_port_round_trip(keyring: Keyring, storage: TemplateStorage) -> None:
    payload = {
        TemplateStorage.ON_CREDENTIAL: quantise(np.ones(128), QuantKind.INT8),
        TemplateStorage.KEY_ON_CREDENTIAL: new_person_key(),
    }.get(storage, b"")
    office: CredentialCodec = SignedCredentialCodec(SITE, keyring, keyring)
    gate: CredentialCodec = SignedCredentialCodec(SITE, keyring.verifier())
    claims = port_claims(storage, payload)
    signed = office.encode(claims)
    assert signed.key_id == keyring.active_key_id
    back = gate.decode(signed.text, NOW)
    assert back == replace(claims, key_id=signed.key_id)
    assert back.id_hex == claims.id_hex


def test_port_refusals_keep_their_reason(keyring: Keyring) -> None:
    office = SignedCredentialCodec(SITE, keyring, keyring)
    text = office.encode(port_claims(TemplateStorage.NONE)).text
    with pytest.raises(CredentialRejectedError) as caught:
        SignedCredentialCodec("0831234A", keyring).decode(text, NOW)
    assert CheckResult(caught.value.reason) is CheckResult.WRONG_SITE
    with pytest.raises(CredentialRejectedError) as caught:
        office.decode(text, UNTIL)
    assert CheckResult(caught.value.reason) is CheckResult.EXPIRED


def test_a_gate_codec_cannot_sign(keyring: Keyring) -> None:
    with pytest.raises(ConfigurationError, match="no signing key"):
        SignedCredentialCodec(SITE, keyring.verifier()).encode(port_claims(TemplateStorage.NONE))


@pytest.mark.parametrize(
    ("storage", "payload"),
    [
        (TemplateStorage.NONE, b"x"),
        (TemplateStorage.SITE_DATABASE, b"x"),
        (TemplateStorage.KEY_ON_CREDENTIAL, b"short"),
        (TemplateStorage.ON_CREDENTIAL, b""),
    ],
)
def test_port_refuses_payloads_that_do_not_fit(
    keyring: Keyring, storage: TemplateStorage, payload: bytes
) -> None:
    with pytest.raises(ConfigurationError, match="cannot issue"):
        SignedCredentialCodec(SITE, keyring, keyring).encode(port_claims(storage, payload))


def test_port_gives_the_configured_template_kind(keyring: Keyring) -> None:
    """A card issued with float16 templates still gives the gate an int8 payload."""
    vec = np.random.default_rng(5).normal(size=128)
    half = SignedCredentialCodec(SITE, keyring, keyring, template_kind=QuantKind.FLOAT16)
    text = half.encode(port_claims(TemplateStorage.ON_CREDENTIAL, quantise(vec, "float16"))).text
    payload = SignedCredentialCodec(SITE, keyring).decode(text, NOW).payload
    assert len(payload) == 4 + 128
    back = dequantise(payload, QuantKind.INT8)
    assert float(np.dot(back, vec / np.linalg.norm(vec))) > 0.999
    with pytest.raises(ConfigurationError):
        SignedCredentialCodec(SITE, keyring, template_kind=QuantKind.FLOAT32)
