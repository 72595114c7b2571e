"""The site's pseudonymisation secret and its hub token, read from files (never the DB).

``hub_pseudonym.key`` (32 random bytes, base64, mode 0600) sits beside the signing keys
and never leaves the site: without it the hub cannot reverse or link a pseudonym.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from seuil.domain.errors import ConfigurationError
from seuil.domain.hub import Pseudonymizer

SECRET_FILE = "hub_pseudonym.key"  # noqa: S105 (a file name)
TOKEN_ENV = "SEUIL_HUB_TOKEN"  # noqa: S105 (the variable's name, not a secret)


def load_or_create_pseudonymizer(key_dir: Path) -> Pseudonymizer:
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_dir / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)) + b"\n")
    try:
        secret = base64.b64decode(path.read_bytes().strip(), validate=True)
        return Pseudonymizer(secret)
    except (ValueError, OSError) as exc:
        raise ConfigurationError(f"unreadable pseudonymisation secret {path}: {exc}") from None


def read_hub_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the hub token file {token_file}: {exc}"
            ) from None
    else:
        token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigurationError(
            f"no hub token: set hub_link.token_file or {TOKEN_ENV} "
            "(printed once by `seuil hub sites add` on the hub)"
        )
    return token
