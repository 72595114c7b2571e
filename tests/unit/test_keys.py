"""Key directory: permissions, atomic writes, rotation, the site key and its errors."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seuil.adapters.crypto import keys as keys_module
from seuil.adapters.crypto.keys import (
    KEY_DIR_ENV,
    SITE_KEY_ENV,
    Keyring,
    PublicKeyring,
    SiteKey,
    init_site_key,
    key_id_for,
    load_site_key,
    resolve_key_dir,
    site_key_path,
)
from seuil.domain.errors import ConfigurationError, ConflictError, NotFoundError

T0 = datetime(2025, 8, 1, tzinfo=UTC)
T1 = datetime(2026, 8, 1, tzinfo=UTC)
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


# -- signing keys --------------------------------------------------------------------


@posix_only
def test_created_files_are_private(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    init_site_key(key_dir)
    assert mode(key_dir) == 0o700
    assert mode(key_dir / f"signing-{ring.active_key_id}.pem") == 0o600
    assert mode(key_dir / "index.json") == 0o600
    assert mode(site_key_path(key_dir)) == 0o600
    assert not [p for p in key_dir.iterdir() if p.name.endswith(".tmp")]


def test_key_id_is_four_hex_of_the_public_key(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    (info,) = ring.keys
    assert len(info.key_id) == 4 and int(info.key_id, 16) >= 0
    assert info.key_id == key_id_for(info.public_key) == ring.active_key_id
    assert info.created_at == T0 and not info.retired


def test_index_holds_no_private_key(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    index = (key_dir / "index.json").read_text()
    pem = (key_dir / f"signing-{ring.active_key_id}.pem").read_text()
    assert "PRIVATE" in pem and "PRIVATE" not in index
    assert "PRIVATE" not in ring.verifier().to_json()
    assert key_dir.name not in repr(ring.verifier().key_ids)


def test_load_signs_like_the_original(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    loaded = Keyring.load(key_dir)
    key_id, signature = loaded.sign(b"data")
    assert key_id == ring.active_key_id
    public = ring.public_key(key_id)
    assert public is not None
    public.verify(signature, b"data")  # raises if wrong


def test_create_refuses_an_existing_ring_and_open_reuses_it(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    with pytest.raises(ConflictError):
        Keyring.create(key_dir, T0)
    assert Keyring.open(key_dir, T1).active_key_id == ring.active_key_id
    assert Keyring.open(key_dir / "new", T1).keys[0].created_at == T1


def test_rotation_is_seen_by_another_process_after_reload(key_dir: Path) -> None:
    admin = Keyring.create(key_dir, T0)
    gate_side = Keyring.load(key_dir)
    old = admin.active_key_id
    new = admin.rotate(T1).key_id
    assert gate_side.active_key_id == old  # not yet re-read
    gate_side.reload()
    assert gate_side.active_key_id == new
    assert Keyring.load(key_dir).active_key_id == new
    assert [k.key_id for k in Keyring.load(key_dir).keys] == [old, new]


def test_rotation_from_a_stale_instance_keeps_every_key(key_dir: Path) -> None:
    first = Keyring.create(key_dir, T0)
    stale = Keyring.load(key_dir)
    a = first.rotate(T1).key_id
    b = stale.rotate(T1).key_id  # re-reads the index under the lock first
    ids = [k.key_id for k in Keyring.load(key_dir).keys]
    assert a in ids and b in ids and len(set(ids)) == 3


def test_failed_index_write_leaves_the_old_ring(
    key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = Keyring.create(key_dir, T0)
    before = (key_dir / "index.json").read_bytes()
    real_replace = os.replace

    def failing_replace(src: str, dst: str | Path) -> None:
        if str(dst).endswith("index.json"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(keys_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        ring.rotate(T1)
    monkeypatch.undo()
    assert (key_dir / "index.json").read_bytes() == before
    assert not [p for p in key_dir.iterdir() if p.name.endswith(".tmp")]
    assert Keyring.load(key_dir).active_key_id == ring.keys[0].key_id


def test_leftover_temporary_file_is_ignored(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    (key_dir / ".index.json.abc.tmp").write_text("{half a fi")
    assert Keyring.load(key_dir).active_key_id == ring.active_key_id


def test_retire(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    old = ring.active_key_id
    with pytest.raises(ConflictError, match="rotate first"):
        ring.retire(old)
    with pytest.raises(NotFoundError):
        ring.retire("zzzz")
    new = ring.rotate(T1).key_id
    ring.retire(old)
    assert not (key_dir / f"signing-{old}.pem").exists()
    assert ring.public_key(old) is None
    loaded = Keyring.load(key_dir)
    assert [k.retired for k in loaded.keys] == [True, False]
    assert loaded.public_key(old) is None
    assert loaded.verifier().key_ids == (new,)


def test_public_keyring_file_round_trip(key_dir: Path, tmp_path: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    ring.rotate(T1)
    path = tmp_path / "gate" / "verifier.json"
    path.parent.mkdir()
    ring.verifier().save(path)
    gate = PublicKeyring.load(path)
    assert set(gate.key_ids) == {k.key_id for k in ring.keys}
    key_id, signature = ring.sign(b"x")
    public = gate.public_key(key_id)
    assert public is not None
    public.verify(signature, b"x")


@pytest.mark.parametrize("text", ["", "{}", "not json", '{"keys": [{"id": "abcd"}]}'])
def test_bad_public_key_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "verifier.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError):
        PublicKeyring.load(path)
    with pytest.raises(ConfigurationError):
        PublicKeyring.load(tmp_path / "absent.json")


def test_missing_ring_is_a_configuration_error(key_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="no key ring"):
        Keyring.load(key_dir)


def test_corrupt_index_is_a_configuration_error(key_dir: Path) -> None:
    Keyring.create(key_dir, T0)
    (key_dir / "index.json").write_text("{")
    with pytest.raises(ConfigurationError, match="not a valid key index"):
        Keyring.load(key_dir)


def test_index_with_a_forged_public_key_is_refused(key_dir: Path) -> None:
    Keyring.create(key_dir, T0)
    index = json.loads((key_dir / "index.json").read_text())
    index["keys"][0]["public"] = base64.b64encode(b"\1" * 32).decode()
    (key_dir / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConfigurationError):
        Keyring.load(key_dir)


def test_missing_private_key_file(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    (key_dir / f"signing-{ring.active_key_id}.pem").unlink()
    with pytest.raises(ConfigurationError, match="missing"):
        Keyring.load(key_dir)


def test_swapped_private_key_file(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    old = ring.active_key_id
    new = ring.rotate(T1).key_id
    old_pem = key_dir / f"signing-{old}.pem"
    new_pem = key_dir / f"signing-{new}.pem"
    old_pem.write_bytes(new_pem.read_bytes())
    with pytest.raises(ConfigurationError, match="does not match"):
        Keyring.load(key_dir)


@posix_only
def test_private_key_readable_by_others_is_refused(key_dir: Path) -> None:
    ring = Keyring.create(key_dir, T0)
    pem = key_dir / f"signing-{ring.active_key_id}.pem"
    pem.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        Keyring.load(key_dir)


def test_naive_creation_time_is_refused(key_dir: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        Keyring.create(key_dir, datetime(2025, 8, 1))


# -- key directory -------------------------------------------------------------------


def test_resolve_key_dir(tmp_path: Path) -> None:
    assert resolve_key_dir(tmp_path, {KEY_DIR_ENV: "/elsewhere"}) == tmp_path
    assert resolve_key_dir(None, {KEY_DIR_ENV: "/srv/seuil/keys"}) == Path("/srv/seuil/keys")
    with pytest.raises(ConfigurationError, match=KEY_DIR_ENV):
        resolve_key_dir(None, {})


# -- site template key ---------------------------------------------------------------


def test_site_key_from_the_environment(tmp_path: Path) -> None:
    raw = os.urandom(32)
    key = load_site_key(None, {SITE_KEY_ENV: base64.b64encode(raw).decode()})
    assert key.key == raw
    # The environment wins over the file.
    init_site_key(tmp_path)
    assert load_site_key(tmp_path, {SITE_KEY_ENV: base64.b64encode(raw).decode()}).key == raw


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (base64.b64encode(b"k" * 16).decode(), "32 bytes"),
        (base64.b64encode(b"k" * 33).decode(), "32 bytes"),
        ("not base64 !!", "base64"),
    ],
)
def test_bad_site_key_in_the_environment(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_site_key(None, {SITE_KEY_ENV: value})
    assert SITE_KEY_ENV in caught.value.message


def test_missing_site_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=SITE_KEY_ENV):
        load_site_key(None, {})
    with pytest.raises(ConfigurationError, match="missing"):
        load_site_key(tmp_path, {})


def test_init_site_key_creates_once(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    first = init_site_key(key_dir)
    second = init_site_key(key_dir)
    assert first.key == second.key == load_site_key(key_dir, {}).key
    assert len(first.key) == 32


def test_site_key_file_of_wrong_length(tmp_path: Path) -> None:
    path = site_key_path(tmp_path)
    path.write_text(base64.b64encode(b"short").decode())
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="32 bytes"):
        load_site_key(tmp_path, {})


@posix_only
def test_site_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    init_site_key(tmp_path)
    site_key_path(tmp_path).chmod(0o640)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_site_key(tmp_path, {})


def test_site_key_never_shows_itself() -> None:
    raw = os.urandom(32)
    key = SiteKey(raw)
    assert raw.hex() not in repr(key) and base64.b64encode(raw).decode() not in repr(key)
    assert key.key_id.startswith("site-") and key.key_id == SiteKey(raw).key_id
    assert SiteKey(os.urandom(32)).key_id != key.key_id
    with pytest.raises(ConfigurationError):
        SiteKey(b"short")
