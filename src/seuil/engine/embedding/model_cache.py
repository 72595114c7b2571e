"""A checksummed cache of ONNX conversions of dlib models.

The first use of a dlib model converts it into the user cache directory
(``platformdirs.user_cache_dir("seuil")``, or ``$SEUIL_CACHE_DIR``). The file name holds
the source file's sha256 prefix and the converter version, so a new model or a new
converter never picks up a stale conversion. Next to each model a ``.sha256`` sidecar
holds the model's own checksum; a cached model whose checksum does not match (a torn or
corrupted file) is converted again.

Writes go to a temporary file in the same directory and are published with
``os.replace``, which is atomic: two processes converting at once each publish a
complete, identical file, and a reader never sees a partial one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs

from seuil.domain.errors import ModelConversionError
from seuil.engine.embedding import dlib_to_onnx

logger = logging.getLogger(__name__)

CACHE_ENV = "SEUIL_CACHE_DIR"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """The directory for converted models: ``$SEUIL_CACHE_DIR`` or the user cache dir."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("seuil")) / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _is_valid(model: Path) -> bool:
    sidecar = _sidecar(model)
    if not (model.is_file() and sidecar.is_file()):
        return False
    try:
        expected = sidecar.read_text(encoding="ascii").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return False
    return sha256_file(model) == expected


def cached_conversion(
    source: Path,
    converter: Callable[[Path, Path], None],
    *,
    kind: str,
    version: int,
    directory: Path | None = None,
) -> Path:
    """The cached output of ``converter(source, target)``, converting on first use."""
    source = Path(source)
    if not source.is_file():
        raise ModelConversionError(f"model file not found: {source}")
    directory = cache_dir() if directory is None else Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelConversionError(f"cannot create model cache {directory}: {exc}") from exc
    source_sha = sha256_file(source)
    target = directory / f"{source.stem}-{source_sha[:16]}-{kind}-v{version}.onnx"
    if _is_valid(target):
        return target
    if target.exists():
        logger.warning("cached model %s fails its checksum; converting again", target.name)
    logger.info("converting %s to ONNX in %s", source.name, directory)

    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        converter(source, tmp)
        checksum = sha256_file(tmp)
        os.replace(tmp, target)
        # If another process published its own (identical) conversion in between, the
        # sidecar still matches; if not, the next load sees a mismatch and converts again.
        _atomic_write_text(_sidecar(target), f"{checksum}  {target.name}\n")
    except OSError as exc:
        raise ModelConversionError(f"cannot write converted model {target}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def cached_onnx_model(dat_path: Path, directory: Path | None = None) -> Path:
    """The ONNX conversion of dlib's face recognition model ``dat_path``, cached."""
    return cached_conversion(
        Path(dat_path),
        dlib_to_onnx.convert,
        kind="face",
        version=dlib_to_onnx.CONVERTER_VERSION,
        directory=directory,
    )
