"""Shared pieces of the roster readers: the result type, size limits, dates and text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from seuil.domain.errors import DataFormatError
from seuil.domain.roster import RosterEntry

# A 2,000-pupil SIECLE export is a few megabytes; anything near this is not a roster.
MAX_FILE_BYTES = 64 * 1024 * 1024
DEFAULT_DATE_FORMATS: tuple[str, ...] = ("%d/%m/%Y", "%Y-%m-%d")

_MIDNIGHT = re.compile(r"^(\S+)[ T]00:00(:00)?$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

RosterFormat = Literal["csv", "siecle"]


@dataclass(frozen=True, slots=True)
class RosterFile:
    """A parsed export: complete (the parser returned) or nothing (it raised)."""

    entries: tuple[RosterEntry, ...]
    full_export: bool
    source: str  # the file name, for messages and the audit trail
    format: RosterFormat
    warnings: tuple[str, ...] = ()  # never names: counts, ids, line numbers
    exported_on: date | None = None  # SIECLE DATE_EXPORT when present


def read_limited(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, refusing files larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DataFormatError(
                f"{path.name}: file too large for a roster ({size} bytes, limit {max_bytes})"
            )
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as error:
        raise DataFormatError(f"{path.name}: cannot read the file ({error.strerror})") from error
    if len(data) > max_bytes:
        raise DataFormatError(f"{path.name}: file too large for a roster (limit {max_bytes})")
    return data


def clean_text(value: str | None) -> str:
    """NFC-normalised text with runs of whitespace collapsed to one space."""
    if not value:
        return ""
    return " ".join(unicodedata.normalize("NFC", value).split())


def header_key(value: str) -> str:
    """A column header compared case-, accent- and punctuation-insensitively.

    ``"Date_de_Naissance"``, ``"date de naissance"`` and ``"DATE DE NAISSANCE "`` give the
    same key; ``"Prénom"`` and ``"PRENOM"`` too.
    """
    decomposed = unicodedata.normalize("NFKD", value.strip().lstrip("\ufeff"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NOT_ALNUM.sub(" ", bare).strip()


def parse_date(value: str, formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> date | None:
    """A date in one of ``formats`` (an empty value gives None); ValueError otherwise.

    A midnight time part (``"04/03/2008 00:00:00"``, as spreadsheets write it) is accepted.
    """
    text = value.strip()
    if not text:
        return None
    midnight = _MIDNIGHT.match(text)
    if midnight:
        text = midnight.group(1)
    for pattern in formats:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"unparseable date {value.strip()!r} (expected dd/mm/yyyy or yyyy-mm-dd)")
