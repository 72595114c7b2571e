"""SIECLE ElevesSansAdresses reader: variants, zips, and hostile or broken input."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import date
from pathlib import Path

import pytest

from seuil.adapters.roster import detect_format, parse_roster, read_roster
from seuil.adapters.roster.siecle import _read_capped, parse_siecle, read_siecle
from seuil.domain.errors import DataFormatError
from seuil.domain.people import PersonKind
from seuil.domain.roster import DepartureReason, diff_roster

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "roster"
BARE = FIXTURES / "ElevesSansAdresses.xml"
VARIANT = FIXTURES / "ElevesSansAdresses_variant.xml"


def export(*pupils: str, structures: str = "", encoding: str = "UTF-8") -> bytes:
    """A minimal export around ``<ELEVE>`` snippets."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<BEE_ELEVES VERSION="3.1">\n'
        "<DONNEES>\n<ELEVES>\n" + "\n".join(pupils) + "\n</ELEVES>\n"
        f"<STRUCTURES>{structures}</STRUCTURES>\n</DONNEES>\n</BEE_ELEVES>\n"
    ).encode(encoding)


def pupil(eleve_id: str = "1", body: str = "<NOM>MARTIN</NOM><PRENOM>Léo</PRENOM>") -> str:
    return f'<ELEVE ELEVE_ID="{eleve_id}">{body}</ELEVE>'


def zipped(tmp_path: Path, members: dict[str, bytes], name: str = "export.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


# --- real-shaped exports ----------------------------------------------------------------


def test_bare_iso_8859_15_export() -> None:
    roster = read_roster(BARE)
    assert (roster.format, roster.full_export, roster.source) == (
        "siecle",
        True,
        "ElevesSansAdresses.xml",
    )
    assert roster.exported_on == date(2024, 9, 12)
    assert roster.warnings == ()
    first, second, third = roster.entries
    assert (first.external_id, first.last_name, first.first_name) == ("3001", "ŒUVRARD", "Maëlys")
    assert first.group == "2NDE3"  # the division, not the language group listed first
    assert (first.birth_date, first.entry_date, first.leave_date) == (
        date(2009, 4, 17),
        date(2024, 9, 2),
        None,
    )
    assert first.kind is PersonKind.PUPIL
    assert first.location == "line 11"
    assert (second.last_name, second.first_name, second.group) == ("CHÂTELAIN", "Jérôme", "1G1")
    assert third.birth_date == date(2008, 2, 29)


def test_zipped_export_gives_the_same_entries(tmp_path: Path) -> None:
    path = zipped(tmp_path, {"ElevesSansAdresses.xml": BARE.read_bytes()})
    roster = read_roster(path)
    assert roster.entries == read_roster(BARE).entries
    assert roster.source == "export.zip:ElevesSansAdresses.xml"
    assert roster.full_export


def test_variant_export() -> None:
    roster = read_siecle(VARIANT)
    usage, family_only, left, group_only = roster.entries
    assert roster.exported_on == date(2025, 1, 20)
    assert (usage.external_id, usage.last_name, usage.first_name, usage.group) == (
        "4001",
        "MOREAU-LEBLANC",  # NOM_USAGE preferred over NOM_DE_FAMILLE
        "Éloïse",  # whitespace and line break trimmed
        "TG2",
    )
    assert (family_only.last_name, family_only.group) == ("GIRARD", "")  # empty NOM_USAGE
    assert family_only.entry_date is None  # missing optional children
    assert left.leave_date == date(2025, 1, 10)
    assert group_only.group == "G_LATIN"
    assert "1 pupil(s) without a class (no STRUCTURE)" in roster.warnings
    assert "1 pupil(s) without a division: first group used" in roster.warnings


def test_variant_diff_departs_the_pupil_with_a_past_date_sortie() -> None:
    roster = read_siecle(VARIANT)
    result = diff_roster([], roster.entries, full_export=roster.full_export, today=date(2025, 2, 1))
    assert sorted(e.external_id for e in result.arrivals) == ["4001", "4002", "4004"]
    assert [e.external_id for e in result.ignored] == ["4003"]
    known = [e.to_person(f"P-{e.external_id}") for e in roster.entries]
    result = diff_roster(known, roster.entries, full_export=True, today=date(2025, 2, 1))
    (departure,) = result.departures
    assert departure.person.external_id == "4003"
    assert departure.reason is DepartureReason.LEAVE_DATE_PASSED


@pytest.mark.parametrize("encoding", ["ISO-8859-15", "windows-1252", "ISO-8859-1", "UTF-8"])
def test_declared_encodings(encoding: str) -> None:
    data = export(pupil(body="<NOM>GARÇON</NOM><PRENOM>Anaïs</PRENOM>"), encoding=encoding)
    (only,) = parse_siecle(data, source="e.xml").entries
    assert (only.last_name, only.first_name) == ("GARÇON", "Anaïs")


def test_latin9_file_mislabelled_as_utf8_is_read_with_a_warning() -> None:
    text = export(pupil(body="<NOM>ŒUVRARD</NOM><PRENOM>Zoé</PRENOM>")).decode()
    roster = parse_siecle(text.encode("iso-8859-15"), source="e.xml")
    assert roster.entries[0].last_name == "ŒUVRARD"
    assert any("ISO-8859-15" in w for w in roster.warnings)


def test_several_divisions_take_the_first_and_merged_holders() -> None:
    structures = (
        '<STRUCTURES_ELEVE ELEVE_ID="1"><STRUCTURE><CODE_STRUCTURE>G1</CODE_STRUCTURE>'
        "<TYPE_STRUCTURE>G</TYPE_STRUCTURE></STRUCTURE></STRUCTURES_ELEVE>"
        '<STRUCTURES_ELEVE ELEVE_ID="1"><STRUCTURE><CODE_STRUCTURE>2NDE5</CODE_STRUCTURE>'
        "<TYPE_STRUCTURE>D</TYPE_STRUCTURE></STRUCTURE></STRUCTURES_ELEVE>"
        '<STRUCTURES_ELEVE ELEVE_ID="999"><STRUCTURE><CODE_STRUCTURE>X</CODE_STRUCTURE>'
        "</STRUCTURE></STRUCTURES_ELEVE>"
    )
    (only,) = parse_siecle(export(pupil(), structures=structures), source="e.xml").entries
    assert only.group == "2NDE5"


def test_no_structures_element_at_all() -> None:
    data = (
        b'<?xml version="1.0"?><BEE_ELEVES><DONNEES><ELEVES>'
        b'<ELEVE ELEVE_ID="1"><NOM>A</NOM><PRENOM>B</PRENOM></ELEVE>'
        b"</ELEVES></DONNEES></BEE_ELEVES>"
    )
    roster = parse_siecle(data, source="e.xml")
    assert roster.entries[0].group == ""
    assert "no DONNEES/STRUCTURES: classes unknown" in roster.warnings


def test_full_export_can_be_overridden_and_bytes_parsed() -> None:
    roster = parse_roster(BARE.read_bytes(), source="upload", full_export=False)
    assert roster.format == "siecle" and not roster.full_export


def test_format_detection() -> None:
    xml = BARE.read_bytes()
    assert detect_format(xml, "roster.txt") == "siecle"  # content wins
    assert detect_format(b"\xef\xbb\xbf  <?xml", "x") == "siecle"
    assert detect_format(b"PK\x03\x04....", "x.bin") == "siecle"
    assert detect_format(b"ID;Nom;Prenom\n", "x.xml") == "siecle"  # then the extension
    assert detect_format(b"ID;Nom;Prenom\n", "x.csv") == "csv"


def test_forced_csv_format_on_xml_fails_clearly() -> None:
    with pytest.raises(DataFormatError, match="missing required column"):
        read_roster(BARE, format="csv")


# --- hostile input ------------------------------------------------------------------------


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(DataFormatError, match=r"billion_laughs\.xml: refused XML"):
        read_roster(FIXTURES / "billion_laughs.xml")


def test_external_entity_is_refused() -> None:
    with pytest.raises(DataFormatError, match=r"external_entity\.xml: refused XML"):
        read_roster(FIXTURES / "external_entity.xml")


def test_bare_doctype_is_refused() -> None:
    data = b'<?xml version="1.0"?>\n<!DOCTYPE BEE_ELEVES SYSTEM "http://example.invalid/x.dtd">\n<BEE_ELEVES/>'
    with pytest.raises(DataFormatError, match="refused XML"):
        parse_siecle(data, source="e.xml")


def test_zip_bomb_member_is_refused_by_declared_size(tmp_path: Path) -> None:
    path = zipped(tmp_path, {"ElevesSansAdresses.xml": b"\0" * (65 * 1024 * 1024)})
    assert path.stat().st_size < 1024 * 1024  # small on disk, huge inflated
    with pytest.raises(DataFormatError, match=r"declares \d+ bytes uncompressed"):
        read_roster(path)


def test_zip_member_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    path = zipped(tmp_path, {"ElevesSansAdresses.xml": b"\0" * 200_000})
    data = bytearray(path.read_bytes())
    # Make the archive claim 100 bytes uncompressed (local header and central directory).
    data[22:26] = struct.pack("<I", 100)
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 100)
    with pytest.raises(DataFormatError, match="zip"):
        parse_siecle(bytes(data), source="lying.zip", max_bytes=150_000)


def test_inflated_size_is_counted_while_reading() -> None:
    with pytest.raises(DataFormatError, match="inflates beyond 1000 bytes"):
        _read_capped(io.BytesIO(b"x" * 5000), "a.zip", "e.xml", 1000)


def test_zip_with_too_many_members(tmp_path: Path) -> None:
    path = zipped(tmp_path, {f"f{i}.txt": b"x" for i in range(5)} | {"e.xml": b"<a/>"})
    with pytest.raises(DataFormatError, match="6 files in the archive"):
        read_roster(path)


def test_zip_without_xml(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"no \.xml file in the archive"):
        read_roster(zipped(tmp_path, {"lisez-moi.txt": b"x"}))


def test_zip_picks_the_pupils_xml_among_several(tmp_path: Path) -> None:
    members = {"Nomenclature.xml": b"<x/>", "export/ElevesSansAdresses.xml": BARE.read_bytes()}
    roster = read_roster(zipped(tmp_path, members))
    assert len(roster.entries) == 3


def test_zip_with_two_candidate_xml_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match=r"2 \.xml file"):
        read_roster(zipped(tmp_path, {"a.xml": b"<a/>", "b.xml": b"<b/>"}))


def test_corrupt_zip(tmp_path: Path) -> None:
    data = zipped(tmp_path, {"ElevesSansAdresses.xml": BARE.read_bytes()}).read_bytes()
    with pytest.raises(DataFormatError, match="corrupt or unsupported zip"):
        parse_siecle(data[: len(data) // 2], source="cut.zip")


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="file too large"):
        read_siecle(BARE, max_bytes=100)


# --- broken exports: all or nothing, with the place named ----------------------------------


@pytest.mark.parametrize("encoding", [b"x-unknown", b"shift_jis"])
def test_unsupported_declared_encoding(encoding: bytes) -> None:
    data = b'<?xml version="1.0" encoding="' + encoding + b'"?><BEE_ELEVES/>'
    with pytest.raises(DataFormatError, match="unsupported XML encoding"):
        parse_siecle(data, source="e.xml")


def test_malformed_xml_names_line_and_column() -> None:
    data = export(pupil()).replace(b"</ELEVES>", b"</ELEVE>")
    with pytest.raises(DataFormatError, match=r"e\.xml: line \d+, column \d+: malformed XML"):
        parse_siecle(data, source="e.xml")


def test_wrong_root() -> None:
    with pytest.raises(DataFormatError, match="expected <BEE_ELEVES>"):
        parse_siecle(b"<BEE_NOMENCLATURES/>", source="e.xml")


def test_missing_eleves_and_empty_eleves() -> None:
    with pytest.raises(DataFormatError, match="no DONNEES/ELEVES"):
        parse_siecle(b"<BEE_ELEVES><DONNEES/></BEE_ELEVES>", source="e.xml")
    with pytest.raises(DataFormatError, match="no ELEVE in DONNEES/ELEVES"):
        parse_siecle(export(), source="e.xml")


def test_eleve_without_id_names_its_line() -> None:
    data = export(pupil(), "<ELEVE><NOM>X</NOM><PRENOM>Y</PRENOM></ELEVE>")
    with pytest.raises(DataFormatError, match=r"e\.xml: line 6: ELEVE without an ELEVE_ID"):
        parse_siecle(data, source="e.xml")


def test_missing_first_name() -> None:
    with pytest.raises(DataFormatError, match="ELEVE 1: no PRENOM"):
        parse_siecle(export(pupil(body="<NOM>MARTIN</NOM>")), source="e.xml")


def test_bad_date_names_pupil_and_element() -> None:
    body = "<NOM>MARTIN</NOM><PRENOM>Léo</PRENOM><DATE_NAISS>31/02/2009</DATE_NAISS>"
    with pytest.raises(DataFormatError, match=r"line 5: ELEVE 7, DATE_NAISS: unparseable date"):
        parse_siecle(export(pupil("7", body)), source="e.xml")


def test_duplicated_eleve_id_names_both_lines() -> None:
    data = export(pupil("7"), pupil("8"), pupil("7"))
    with pytest.raises(DataFormatError, match="duplicated ELEVE_ID '7' at line 5 and line 7"):
        parse_siecle(data, source="e.xml")
