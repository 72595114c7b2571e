"""The site's key material, kept in a key directory and never in the database.

Layout of a key directory (created with mode 0700)::

    index.json          public part: key ids, created times, retired flags, public keys,
                        and which key signs new credentials
    signing-<id>.pem    one PKCS#8 Ed25519 private key per usable signing key (0600)
    site.key            the AES-256 site template key, base64 (0600)

Every file is written atomically (temporary file in the same directory, fsync, rename),
so a reader sees the old version or the new one, never half a file; mutations hold an
advisory lock and re-read the index first, so two administrators cannot lose a key.

Signing keys: :meth:`Keyring.rotate` adds a new active key; credentials signed by an
older key keep verifying until :meth:`Keyring.retire` removes it (its private key file is
deleted; its id stays in the index so it is never reused). Gates get a
:class:`PublicKeyring` (public keys only, see :meth:`Keyring.verifier`).

The site template key comes from ``SEUIL_SITE_KEY`` (base64 of 32 bytes) when set,
else from ``site.key`` in the key directory (:func:`init_site_key` creates it).
Nothing here logs or prints a key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from seuil.domain.errors import ConfigurationError, ConflictError, NotFoundError

__all__ = [
    "KEY_DIR_ENV",
    "SITE_KEY_ENV",
    "KeyInfo",
    "Keyring",
    "PublicKeyring",
    "SiteKey",
    "Verifier",
    "init_site_key",
    "key_id_for",
    "load_site_key",
    "resolve_key_dir",
    "site_key_path",
]

logger = logging.getLogger(__name__)

KEY_DIR_ENV = "SEUIL_KEY_DIR"
SITE_KEY_ENV = "SEUIL_SITE_KEY"
KEY_ID_BYTES = 2  # 4 hex characters
SITE_KEY_BYTES = 32
_INDEX = "index.json"
_LOCK = ".lock"
_SITE_KEY_FILE = "site.key"
_FORMAT = 1


# -- helpers -------------------------------------------------------------------------


def key_id_for(public_raw: bytes) -> str:
    """A short id for a public key: the first 4 hex characters of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[: 2 * KEY_ID_BYTES]


def resolve_key_dir(configured: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The key directory from the settings, else ``SEUIL_KEY_DIR``."""
    env = os.environ if environ is None else environ
    if configured is not None:
        return configured
    if env.get(KEY_DIR_ENV):
        return Path(env[KEY_DIR_ENV])
    raise ConfigurationError(
        f"no key directory: set it in the settings or in the {KEY_DIR_ENV} environment variable"
    )


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _read_secret(path: Path) -> bytes:
    """A private file's bytes; refuses a file that other users may read (as ssh does)."""
    try:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise ConfigurationError(f"{path} is readable by other users: run `chmod 600 {path}`")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(f"key file {path} is missing") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from exc


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on the key directory (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        yield
        return
    import fcntl

    fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# -- signing keys --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The public facts about one signing key."""

    key_id: str
    created_at: datetime
    public_key: bytes  # raw 32-byte Ed25519 public key
    retired: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.key_id,
            "created": self.created_at.isoformat(),
            "retired": self.retired,
            "public": base64.b64encode(self.public_key).decode("ascii"),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KeyInfo:
        created = datetime.fromisoformat(str(raw["created"]))
        if created.tzinfo is None:
            raise ValueError("a key's created time has no time zone")
        public = base64.b64decode(str(raw["public"]), validate=True)
        key_id = str(raw["id"])
        if len(public) != 32 or key_id != key_id_for(public):
            raise ValueError(f"key {key_id}: the public key does not match its id")
        return cls(key_id, created, public, bool(raw["retired"]))


class Verifier(Protocol):
    """Looks up the public key that checks a signature; ``None`` if unknown or retired."""

    def public_key(self, key_id: str) -> Ed25519PublicKey | None: ...


class PublicKeyring:
    """Verifier-only key ring: the public keys of the usable signing keys (for gates)."""

    def __init__(self, keys: Iterable[KeyInfo]) -> None:
        self._infos = tuple(k for k in keys if not k.retired)
        self._keys = {
            k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in self._infos
        }

    def public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def to_json(self) -> str:
        keys = [k.to_json() for k in self._infos]
        return json.dumps({"format": _FORMAT, "keys": keys}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "verifier keys") -> PublicKeyring:
        try:
            raw = json.loads(text)
            return cls(KeyInfo.from_json(k) for k in raw["keys"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ConfigurationError(f"{source}: not a valid seuil public key file") from exc

    @classmethod
    def load(cls, path: Path) -> PublicKeyring:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read public keys {path}: {exc.strerror}") from exc
        return cls.from_json(text, str(path))

    def save(self, path: Path) -> None:
        _write_atomic(path, self.to_json().encode("utf-8"))


class Keyring:
    """The site's Ed25519 signing keys, stored in a key directory.

    Build one with :meth:`create` (a new directory and its first key), :meth:`load`, or
    :meth:`open` (load, or create when the directory has no index yet).
    """

    def __init__(
        self,
        directory: Path,
        infos: tuple[KeyInfo, ...],
        active: str,
        private: dict[str, Ed25519PrivateKey],
    ) -> None:
        self.directory = directory
        self._infos = infos
        self._active = active
        self._private = private
        self._public = {k: p.public_key() for k, p in private.items()}

    def __repr__(self) -> str:
        return f"Keyring({str(self.directory)!r}, active={self._active!r})"

    # -- construction ----------------------------------------------------------------
    @classmethod
    def create(cls, directory: Path, now: datetime) -> Keyring:
        """A new key directory with one active signing key; refuses an existing one."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(directory):
            if (directory / _INDEX).exists():
                raise ConflictError(f"{directory} already holds a key ring")
            ring = cls(directory, (), "", {})
            ring._add_key(now)
            return ring

    @classmethod
    def load(cls, directory: Path) -> Keyring:
        """The key ring of ``directory``: index and the private keys it names."""
        index_path = directory / _INDEX
        try:
            raw = json.loads(index_path.read_text(encoding="utf-8"))
            infos = tuple(KeyInfo.from_json(k) for k in raw["keys"])
            active = str(raw["active"])
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"no key ring in {directory}: create one first (keys init)"
            ) from exc
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ConfigurationError(f"{index_path}: not a valid key index") from exc
        usable = {k.key_id: k for k in infos if not k.retired}
        if active not in usable:
            raise ConfigurationError(f"{index_path}: the active key is missing or retired")
        private = {kid: cls._load_private(directory, info) for kid, info in usable.items()}
        return cls(directory, infos, active, private)

    @classmethod
    def open(cls, directory: Path, now: datetime) -> Keyring:
        """Load the key ring, creating it (with a first key) when absent."""
        if (directory / _INDEX).exists():
            return cls.load(directory)
        try:
            return cls.create(directory, now)
        except ConflictError:  # created meanwhile by another process
            return cls.load(directory)

    @staticmethod
    def _load_private(directory: Path, info: KeyInfo) -> Ed25519PrivateKey:
        path = directory / f"signing-{info.key_id}.pem"
        data = _read_secret(path)
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ConfigurationError(f"{path}: not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path}: not an Ed25519 key")
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        if raw != info.public_key:
            raise ConfigurationError(f"{path}: does not match the public key in the index")
        return key

    def reload(self) -> None:
        """Re-read the directory (after another process rotated or retired a key)."""
        fresh = Keyring.load(self.directory)
        self._infos, self._active = fresh._infos, fresh._active
        self._private, self._public = fresh._private, fresh._public

    # -- reading ---------------------------------------------------------------------
    @property
    def active_key_id(self) -> str:
        return self._active

    @property
    def keys(self) -> tuple[KeyInfo, ...]:
        """Every key the index knows, retired ones included, oldest first."""
        return self._infos

    def public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._public.get(key_id)

    def sign(self, data: bytes) -> tuple[str, bytes]:
        """The active key's id and its 64-byte signature of ``data``."""
        return self._active, self._private[self._active].sign(data)

    def verifier(self) -> PublicKeyring:
        """Public keys only, for gates (write it with :meth:`PublicKeyring.save`)."""
        return PublicKeyring(self._infos)

    # -- changes ---------------------------------------------------------------------
    def rotate(self, now: datetime) -> KeyInfo:
        """Add a new signing key and make it the one that signs new credentials."""
        with _locked(self.directory):
            self.reload()
            return self._add_key(now)

    def retire(self, key_id: str) -> None:
        """Stop accepting credentials signed by ``key_id`` and delete its private key."""
        with _locked(self.directory):
            self.reload()
            if key_id not in {k.key_id for k in self._infos}:
                raise NotFoundError(f"no signing key {key_id}")
            if key_id == self._active:
                raise ConflictError(f"key {key_id} signs new credentials: rotate first")
            infos = tuple(
                replace(k, retired=True) if k.key_id == key_id else k for k in self._infos
            )
            self._write_index(infos, self._active)
            self._infos = infos
            self._private.pop(key_id, None)
            self._public.pop(key_id, None)
            (self.directory / f"signing-{key_id}.pem").unlink(missing_ok=True)
            logger.info("signing key %s retired", key_id)

    def _add_key(self, now: datetime) -> KeyInfo:
        if now.tzinfo is None:
            raise ValueError("key creation time must be timezone-aware")
        taken = {k.key_id for k in self._infos}
        while True:  # a 4-hex id may collide with an earlier key's: draw again
            private = Ed25519PrivateKey.generate()
            raw = private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            if key_id_for(raw) not in taken:
                break
        info = KeyInfo(key_id_for(raw), now, raw)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # The private key first: the index never names a key whose file is missing.
        _write_atomic(self.directory / f"signing-{info.key_id}.pem", pem)
        infos = (*self._infos, info)
        self._write_index(infos, info.key_id)
        self._infos, self._active = infos, info.key_id
        self._private[info.key_id] = private
        self._public[info.key_id] = private.public_key()
        logger.info("signing key %s added and active", info.key_id)
        return info

    def _write_index(self, infos: tuple[KeyInfo, ...], active: str) -> None:
        body = {"format": _FORMAT, "active": active, "keys": [k.to_json() for k in infos]}
        _write_atomic(self.directory / _INDEX, (json.dumps(body, indent=2) + "\n").encode())


# -- the site template key -----------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class SiteKey:
    """The AES-256 key that encrypts templates and photos kept on the site."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != SITE_KEY_BYTES:
            raise ConfigurationError(
                f"the site key must be {SITE_KEY_BYTES} bytes, got {len(self.key)}"
            )

    @property
    def key_id(self) -> str:
        """A short id (stored beside each blob) that reveals nothing of the key."""
        return "site-" + hashlib.sha256(b"seuil site key id\0" + self.key).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"SiteKey({self.key_id})"


def site_key_path(key_dir: Path) -> Path:
    return key_dir / _SITE_KEY_FILE


def _decode_site_key(text: str, source: str) -> SiteKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"{source}: the site key is not valid base64") from exc
    try:
        return SiteKey(raw)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc.message}") from exc


def load_site_key(key_dir: Path | None, environ: Mapping[str, str] | None = None) -> SiteKey:
    """``SEUIL_SITE_KEY`` (base64) when set, else ``site.key`` in ``key_dir``."""
    env = os.environ if environ is None else environ
    if env.get(SITE_KEY_ENV):
        return _decode_site_key(env[SITE_KEY_ENV], SITE_KEY_ENV)
    if key_dir is None:
        raise ConfigurationError(
            f"no site key: set {SITE_KEY_ENV} (base64 of 32 bytes) or configure a key directory"
        )
    path = site_key_path(key_dir)
    if not path.exists():
        raise ConfigurationError(f"no site key: {path} is missing (create it with keys init)")
    try:
        text = _read_secret(path).decode("ascii")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: the site key is not base64 text") from exc
    return _decode_site_key(text, str(path))


def init_site_key(key_dir: Path) -> SiteKey:
    """Create ``site.key`` (32 random bytes, mode 0600) unless it exists; return the key."""
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = site_key_path(key_dir)
    with _locked(key_dir):
        if not path.exists():
            key = SiteKey(secrets.token_bytes(SITE_KEY_BYTES))
            _write_atomic(path, base64.b64encode(key.key) + b"\n")
            logger.info("site key %s created", key.key_id)
            return key
    return load_site_key(key_dir, environ={})
