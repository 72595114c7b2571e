"""CSV rosters: configurable columns, ``;`` or ``,``, UTF-8 (BOM or not) or Windows-1252.

Parsing is all-or-nothing: the reader returns every row or raises
:class:`~seuil.domain.errors.DataFormatError` naming the file and the line.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, field_validator

from seuil.adapters.roster._common import (
    DEFAULT_DATE_FORMATS,
    RosterFile,
    clean_text,
    header_key,
    parse_date,
    read_limited,
)
from seuil.domain.errors import DataFormatError
from seuil.domain.people import PersonKind
from seuil.domain.roster import RosterEntry

REQUIRED: Final = ("external_id", "last_name", "first_name")
OPTIONAL: Final = ("group", "birth_date", "entry_date", "leave_date")
_DELIMITERS: Final = (";", ",", "\t")
_HEADER_SEARCH_ROWS = 10  # a title line or two may precede the header


class CsvMapping(BaseModel):
    """Which column holds which field: accepted header names, best first.

    Headers match case-, accent- and punctuation-insensitively ("PRENOM" = "Prénom").
    A single string is accepted for one header: ``CsvMapping(external_id="N° élève")``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    external_id: tuple[str, ...] = ("Identifiant", "ID", "Id élève", "ELEVE_ID", "INE", "Numéro")
    last_name: tuple[str, ...] = ("Nom", "Nom d'usage", "Nom de famille", "Last name")
    first_name: tuple[str, ...] = ("Prénom", "Premier prénom", "Prénom 1", "First name")
    group: tuple[str, ...] = ("Classe", "Division", "Structure", "Groupe", "Class")
    birth_date: tuple[str, ...] = ("Date de naissance", "Date naissance", "Né(e) le", "Naissance")
    entry_date: tuple[str, ...] = ("Date d'entrée", "Date entrée", "Entrée", "Date d'arrivée")
    leave_date: tuple[str, ...] = ("Date de sortie", "Date sortie", "Sortie", "Date de départ")
    kind: PersonKind = PersonKind.PUPIL
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    delimiter: str | None = None  # None: sniffed from the header line

    @field_validator(*REQUIRED, *OPTIONAL, "date_formats", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator(*REQUIRED, "date_formats")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one header name is required")
        return value

    @field_validator("delimiter")
    @classmethod
    def _known_delimiter(cls, value: str | None) -> str | None:
        if value is not None and value not in _DELIMITERS:
            raise ValueError(f"delimiter must be one of {_DELIMITERS!r}")
        return value


def read_csv_roster(
    path: Path, *, mapping: CsvMapping | None = None, full_export: bool = False
) -> RosterFile:
    """Read a CSV roster file; ``full_export`` says whether absence means departure."""
    return parse_csv_roster(
        read_limited(path), source=path.name, mapping=mapping, full_export=full_export
    )


def parse_csv_roster(
    data: bytes,
    *,
    source: str,
    mapping: CsvMapping | None = None,
    full_export: bool = False,
) -> RosterFile:
    """Parse CSV bytes (``source`` names the file in messages)."""
    mapping = mapping or CsvMapping()
    text, encoding_note = _decode(data, source)
    warnings = [encoding_note] if encoding_note else []
    delimiter = mapping.delimiter or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = _rows(reader, source)

    header_line, header, columns = _find_header(rows, mapping, source)
    if header_line > 1:
        warnings.append(f"header found on line {header_line}; lines above it ignored")
    used = set(columns.values())
    ignored = [clean_text(h) for i, h in enumerate(header) if i not in used and h.strip()]
    if ignored:
        warnings.append("columns ignored: " + ", ".join(ignored))

    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if any(cell.strip() for cell in row[len(header) :]):
            raise DataFormatError(
                f"{source}: line {line}: {len(row)} fields but the header has {len(header)} "
                f"(a {delimiter!r} inside an unquoted value?)"
            )
        entry = _entry(row, line, columns, mapping, source)
        first = seen.setdefault(entry.external_id, line)
        if first != line:
            raise DataFormatError(
                f"{source}: duplicated id {entry.external_id!r} on lines {first} and {line}"
            )
        entries.append(entry)
    if not entries:
        raise DataFormatError(f"{source}: no rows under the header")
    return RosterFile(
        entries=tuple(entries),
        full_export=full_export,
        source=source,
        format="csv",
        warnings=tuple(warnings),
    )


def _decode(data: bytes, source: str) -> tuple[str, str]:
    """Text and a note on the encoding used (empty for plain UTF-8)."""
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[len(codecs.BOM_UTF8) :], "utf-8", source), ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", source), "read as UTF-16 (byte order mark)"
    if b"\x00" in data[:4096]:
        raise DataFormatError(f"{source}: binary content, not a CSV text file")
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    return _strict(data, "cp1252", source), "read as Windows-1252 (not valid UTF-8)"


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        expected = "neither UTF-8 nor Windows-1252" if encoding == "cp1252" else encoding.upper()
        raise DataFormatError(
            f"{source}: line {line}: byte 0x{byte} is not valid text ({expected}); "
            "save the file as UTF-8 CSV"
        ) from error


def _sniff_delimiter(text: str) -> str:
    """The most frequent of ``;``, ``,`` and tab outside quotes in the first lines.

    A few lines are read so that a title line above the header does not decide;
    ``;`` (the French spreadsheet default) wins ties.
    """
    head = [line for line in text.splitlines()[:_HEADER_SEARCH_ROWS] if line.strip()]
    unquoted = "".join(part for i, part in enumerate("\n".join(head).split('"')) if i % 2 == 0)
    return max(_DELIMITERS, key=lambda d: (unquoted.count(d), d == ";"))


def _rows(reader: Iterator[list[str]], source: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line number where each ends."""
    rows: list[tuple[int, list[str]]] = []
    line = 0
    try:
        for row in reader:
            line = getattr(reader, "line_num", line + 1)
            if any(cell.strip() for cell in row):
                rows.append((line, row))
    except csv.Error as error:
        raise DataFormatError(f"{source}: line {line + 1}: malformed CSV ({error})") from error
    return rows


def _find_header(
    rows: list[tuple[int, list[str]]], mapping: CsvMapping, source: str
) -> tuple[int, list[str], dict[str, int]]:
    """The header's line, its cells and field -> column index; removes it and rows above."""
    if not rows:
        raise DataFormatError(f"{source}: empty file")
    first_error: DataFormatError | None = None
    for position, (line, row) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        try:
            columns = _resolve_columns(row, mapping, source, line)
        except DataFormatError as error:
            first_error = first_error or error
            continue
        del rows[: position + 1]
        return line, row, columns
    assert first_error is not None
    raise first_error


def _resolve_columns(
    headers: Sequence[str], mapping: CsvMapping, source: str, line: int
) -> dict[str, int]:
    keys = [header_key(h) for h in headers]
    columns: dict[str, int] = {}
    missing: list[str] = []
    for name in (*REQUIRED, *OPTIONAL):
        for candidate in getattr(mapping, name):
            wanted = header_key(candidate)
            found = [i for i, key in enumerate(keys) if key == wanted]
            if len(found) > 1:
                raise DataFormatError(
                    f"{source}: line {line}: column {candidate!r} appears {len(found)} times"
                )
            if found and found[0] not in columns.values():
                columns[name] = found[0]
                break
        else:
            if name in REQUIRED:
                missing.append(f"{name} (one of: {', '.join(getattr(mapping, name))})")
    if missing:
        present = ", ".join(clean_text(h) for h in headers if h.strip()) or "none"
        raise DataFormatError(
            f"{source}: line {line}: missing required column "
            + "; ".join(missing)
            + f". Columns found: {present}"
        )
    return columns


def _entry(
    row: list[str], line: int, columns: dict[str, int], mapping: CsvMapping, source: str
) -> RosterEntry:
    def cell(name: str) -> str:
        index = columns.get(name)
        return clean_text(row[index]) if index is not None and index < len(row) else ""

    def day(name: str) -> date | None:
        try:
            return parse_date(cell(name), mapping.date_formats)
        except ValueError as error:
            raise DataFormatError(
                f"{source}: line {line}, {name.replace('_', ' ')}: {error}"
            ) from error

    for name in REQUIRED:
        if not cell(name):
            raise DataFormatError(f"{source}: line {line}: empty {name.replace('_', ' ')}")
    return RosterEntry(
        external_id=cell("external_id"),
        kind=mapping.kind,
        last_name=cell("last_name"),
        first_name=cell("first_name"),
        group=cell("group"),
        birth_date=day("birth_date"),
        entry_date=day("entry_date"),
        leave_date=day("leave_date"),
        location=f"line {line}",
    )
