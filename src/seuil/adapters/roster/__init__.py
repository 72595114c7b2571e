"""Roster readers: SIECLE exports and CSV files, into :class:`RosterFile` entries.

The one entry point is :func:`read_roster` (or :func:`parse_roster` for uploaded bytes).
Parsing is all-or-nothing: a complete list of entries, or a
:class:`~seuil.domain.errors.DataFormatError` naming the file and the line or element.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePath
from typing import Literal

from seuil.adapters.roster._common import MAX_FILE_BYTES, RosterFile, RosterFormat, read_limited
from seuil.adapters.roster.csv_reader import CsvMapping, parse_csv_roster
from seuil.adapters.roster.siecle import ZIP_MAGIC, parse_siecle

__all__ = [
    "CsvMapping",
    "RosterFile",
    "RosterFormat",
    "detect_format",
    "parse_roster",
    "read_roster",
]

FormatChoice = Literal["auto", "csv", "siecle"]


def read_roster(
    path: Path | str,
    *,
    format: FormatChoice = "auto",
    mapping: CsvMapping | None = None,
    full_export: bool | None = None,
) -> RosterFile:
    """Read a roster file.

    ``format="auto"`` tells SIECLE (XML or zip) from CSV by content, then by extension.
    ``full_export`` says whether people missing from the file have left; by default a
    SIECLE export is full and a CSV is partial (absence then never causes a departure).
    """
    path = Path(path)
    return parse_roster(
        read_limited(path),
        source=path.name,
        format=format,
        mapping=mapping,
        full_export=full_export,
    )


def parse_roster(
    data: bytes,
    *,
    source: str,
    format: FormatChoice = "auto",
    mapping: CsvMapping | None = None,
    full_export: bool | None = None,
) -> RosterFile:
    """Like :func:`read_roster`, for bytes already in memory (an upload)."""
    chosen = detect_format(data, source) if format == "auto" else format
    if chosen == "siecle":
        roster = parse_siecle(data, source=source, max_bytes=MAX_FILE_BYTES)
        return roster if full_export is None else replace(roster, full_export=full_export)
    return parse_csv_roster(data, source=source, mapping=mapping, full_export=bool(full_export))


def detect_format(data: bytes, name: str = "") -> RosterFormat:
    """``"siecle"`` for a zip or XML (by content, then by extension), else ``"csv"``."""
    if data.startswith(ZIP_MAGIC):
        return "siecle"
    head = data[:256].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return "siecle"
    if PurePath(name).suffix.lower() in (".xml", ".zip"):
        return "siecle"
    return "csv"
