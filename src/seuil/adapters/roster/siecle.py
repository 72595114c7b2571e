"""SIECLE ``ElevesSansAdresses.xml`` exports, bare or inside a ``.zip``.

Layout read (unknown elements are ignored)::

    BEE_ELEVES
      PARAMETRES/DATE_EXPORT                       (optional)
      DONNEES/ELEVES/ELEVE[@ELEVE_ID]
        NOM_USAGE | NOM_DE_FAMILLE | NOM, PRENOM, DATE_NAISS, DATE_ENTREE, DATE_SORTIE
      DONNEES/STRUCTURES/STRUCTURES_ELEVE[@ELEVE_ID]/STRUCTURE
        CODE_STRUCTURE, TYPE_STRUCTURE             ("D" = division, the class)

The XML goes through ``defusedxml`` with DTDs forbidden: entity bombs and external
entities are refused before any expansion. Archives are checked for member count and
size (declared and actually read) before the XML is parsed. A SIECLE export lists every
pupil of the school, so it is a full export.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from seuil.adapters.roster._common import (
    MAX_FILE_BYTES,
    RosterFile,
    clean_text,
    parse_date,
    read_limited,
)
from seuil.domain.errors import DataFormatError
from seuil.domain.people import PersonKind
from seuil.domain.roster import RosterEntry

ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")
MAX_ZIP_MEMBERS: Final = 4
_CHUNK: Final = 1 << 16
_LAST_NAME_TAGS: Final = ("NOM_USAGE", "NOM_DE_FAMILLE", "NOM")
_FIRST_NAME_TAGS: Final = ("PRENOM", "PRENOM1")
_DIVISION: Final = "D"
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def read_siecle(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> RosterFile:
    """Read ``ElevesSansAdresses.xml`` or a zip holding it."""
    return parse_siecle(read_limited(path, max_bytes), source=path.name, max_bytes=max_bytes)


def parse_siecle(data: bytes, *, source: str, max_bytes: int = MAX_FILE_BYTES) -> RosterFile:
    """Parse SIECLE bytes, bare XML or zip (``source`` names the file in messages)."""
    if data.startswith(ZIP_MAGIC):
        member, data = _unzip(data, source, max_bytes)
        source = f"{source}:{member}"
    root, lines, warnings = _parse_xml(data, source)
    return _read_export(root, lines, source, warnings)


def _unzip(data: bytes, source: str, max_bytes: int) -> tuple[str, bytes]:
    """The name and bytes of the archive's XML member, within the size limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = _pick_member(archive, source)
            if info.file_size > max_bytes:
                raise DataFormatError(
                    f"{source}: {info.filename} declares {info.file_size} bytes uncompressed "
                    f"(limit {max_bytes}): refused"
                )
            with archive.open(info) as stream:
                return info.filename, _read_capped(stream, source, info.filename, max_bytes)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise DataFormatError(f"{source}: corrupt or unsupported zip archive ({error})") from error
    except RuntimeError as error:  # encrypted member
        raise DataFormatError(f"{source}: cannot read the zip archive ({error})") from error


def _pick_member(archive: zipfile.ZipFile, source: str) -> zipfile.ZipInfo:
    files = [info for info in archive.infolist() if not info.is_dir()]
    if len(files) > MAX_ZIP_MEMBERS:
        raise DataFormatError(
            f"{source}: {len(files)} files in the archive (at most {MAX_ZIP_MEMBERS}): "
            "a SIECLE export holds one XML file"
        )
    xml = [
        info
        for info in files
        if info.filename.lower().endswith(".xml")
        and not info.filename.startswith("__MACOSX/")
        and not PurePosixPath(info.filename).name.startswith("._")
    ]
    if len(xml) > 1:
        xml = [i for i in xml if "eleves" in PurePosixPath(i.filename).name.lower()] or xml
    if len(xml) != 1:
        found = "no" if not xml else f"{len(xml)}"
        raise DataFormatError(f"{source}: {found} .xml file in the archive; expected one")
    if xml[0].flag_bits & 0x1:
        raise DataFormatError(f"{source}: {xml[0].filename} is encrypted")
    return xml[0]


def _read_capped(stream: IO[bytes], source: str, name: str, limit: int) -> bytes:
    """The stream's bytes, counted as they inflate: refused past ``limit``."""
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise DataFormatError(
                f"{source}: {name} inflates beyond {limit} bytes (zip bomb?): refused"
            )
        chunks.append(chunk)
    return b"".join(chunks)


class _LineTarget:
    """A tree builder that remembers the line where each element starts."""

    def __init__(self) -> None:
        self._builder = TreeBuilder()
        self.lines: dict[int, int] = {}
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self._builder.start(tag, attrs)
        if self.expat is not None:
            self.lines[id(element)] = self.expat.CurrentLineNumber
        return element

    def end(self, tag: str) -> Element:
        return self._builder.end(tag)

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> Element:
        return self._builder.close()


def _parse_xml(data: bytes, source: str) -> tuple[Element, dict[int, int], list[str]]:
    """The root element, element id -> line, and warnings; refuses DTDs and entities."""
    try:
        root, lines = _parse_safely(data, source)
    except ParseError as error:
        fixed = _reencode_mislabelled(data)
        if fixed is None:
            raise _malformed(error, source) from error
    else:
        return root, lines, []
    try:
        root, lines = _parse_safely(fixed, source)
    except ParseError as error:
        raise _malformed(error, source) from error
    return root, lines, ["declared UTF-8 but written in ISO-8859-15: read as ISO-8859-15"]


def _malformed(error: ParseError, source: str) -> DataFormatError:
    line, column = getattr(error, "position", (0, 0))
    return DataFormatError(f"{source}: line {line}, column {column}: malformed XML ({error})")


def _parse_safely(data: bytes, source: str) -> tuple[Element, dict[int, int]]:
    target = _LineTarget()
    parser = SafeET.XMLParser(target=target, forbid_dtd=True)
    target.expat = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as error:
        raise DataFormatError(
            f"{source}: refused XML: {type(error).__name__} (document type declarations "
            "and entities are not allowed: XML bomb or external entity)"
        ) from error
    except (LookupError, ValueError) as error:  # unknown or multi-byte declared encoding
        raise DataFormatError(f"{source}: unsupported XML encoding ({error})") from error
    return root, target.lines


def _reencode_mislabelled(data: bytes) -> bytes | None:
    """A UTF-8 copy of a file that claims UTF-8 (or nothing) but is ISO-8859-15; else None."""
    declared = _DECLARED_ENCODING.match(data[:200])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-15").encode("utf-8")
    return None


@dataclass
class _Reader:
    source: str
    lines: dict[int, int]
    warnings: list[str] = field(default_factory=list)

    def where(self, element: Element) -> str:
        line = self.lines.get(id(element))
        return f"line {line}" if line else f"<{element.tag}>"

    def fail(self, element: Element, message: str) -> DataFormatError:
        return DataFormatError(f"{self.source}: {self.where(element)}: {message}")


def _read_export(
    root: Element, lines: dict[int, int], source: str, warnings: list[str]
) -> RosterFile:
    reader = _Reader(source, lines, warnings)
    if root.tag != "BEE_ELEVES":
        raise DataFormatError(
            f"{source}: root element <{root.tag}>, expected <BEE_ELEVES> "
            "(not a SIECLE ElevesSansAdresses export)"
        )
    pupils = root.find("DONNEES/ELEVES")
    if pupils is None:
        raise DataFormatError(f"{source}: no DONNEES/ELEVES element")
    classes = _classes(root.find("DONNEES/STRUCTURES"), reader)

    entries: list[RosterEntry] = []
    seen: dict[str, Element] = {}
    for element in pupils.findall("ELEVE"):
        entry = _entry(element, classes.get(element.get("ELEVE_ID", "").strip(), ""), reader)
        first = seen.setdefault(entry.external_id, element)
        if first is not element:
            raise DataFormatError(
                f"{source}: duplicated ELEVE_ID {entry.external_id!r} at "
                f"{reader.where(first)} and {reader.where(element)}"
            )
        entries.append(entry)
    if not entries:
        raise DataFormatError(f"{source}: no ELEVE in DONNEES/ELEVES")
    without_class = sum(1 for entry in entries if not entry.group)
    if without_class:
        reader.warnings.append(f"{without_class} pupil(s) without a class (no STRUCTURE)")
    return RosterFile(
        entries=tuple(entries),
        full_export=True,
        source=source,
        format="siecle",
        warnings=tuple(reader.warnings),
        exported_on=_export_date(root),
    )


def _entry(element: Element, group: str, reader: _Reader) -> RosterEntry:
    external_id = clean_text(element.get("ELEVE_ID"))
    if not external_id:
        raise reader.fail(element, "ELEVE without an ELEVE_ID attribute")
    last_name = _first_text(element, _LAST_NAME_TAGS)
    first_name = _first_text(element, _FIRST_NAME_TAGS)
    if not last_name or not first_name:
        missing = "NOM_DE_FAMILLE/NOM" if not last_name else "PRENOM"
        raise reader.fail(element, f"ELEVE {external_id}: no {missing}")

    def day(tag: str) -> date | None:
        try:
            return parse_date(_first_text(element, (tag,)))
        except ValueError as error:
            raise reader.fail(element, f"ELEVE {external_id}, {tag}: {error}") from error

    return RosterEntry(
        external_id=external_id,
        kind=PersonKind.PUPIL,
        last_name=last_name,
        first_name=first_name,
        group=group,
        birth_date=day("DATE_NAISS"),
        entry_date=day("DATE_ENTREE"),
        leave_date=day("DATE_SORTIE"),
        location=reader.where(element),
    )


def _first_text(element: Element, tags: tuple[str, ...]) -> str:
    for tag in tags:
        text = clean_text(element.findtext(tag))
        if text:
            return text
    return ""


def _classes(structures: Element | None, reader: _Reader) -> dict[str, str]:
    """ELEVE_ID -> class code: the division ("D") if any, else the only structure."""
    if structures is None:
        reader.warnings.append("no DONNEES/STRUCTURES: classes unknown")
        return {}
    found: dict[str, list[tuple[str, str]]] = {}
    for holder in structures.iter("STRUCTURES_ELEVE"):
        pupil = clean_text(holder.get("ELEVE_ID"))
        found.setdefault(pupil, []).extend(_structures(holder))
    classes: dict[str, str] = {}
    guessed = 0
    for pupil, codes in found.items():
        division = next((code for code, kind in codes if kind == _DIVISION), None)
        if division is None and codes:
            guessed += 1
        if division or codes:
            classes[pupil] = division or codes[0][0]
    if guessed:
        reader.warnings.append(f"{guessed} pupil(s) without a division: first group used")
    return classes


def _structures(holder: Element) -> Iterator[tuple[str, str]]:
    for structure in holder.iter("STRUCTURE"):
        code = clean_text(structure.findtext("CODE_STRUCTURE"))
        if code:
            yield code, clean_text(structure.findtext("TYPE_STRUCTURE")).upper()


def _export_date(root: Element) -> date | None:
    try:
        return parse_date(clean_text(root.findtext("PARAMETRES/DATE_EXPORT")))
    except ValueError:
        return None
