"""CSV roster reader: encodings, delimiters, header matching, mappings and bad input."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from seuil.adapters.roster import CsvMapping, read_roster
from seuil.adapters.roster.csv_reader import parse_csv_roster, read_csv_roster
from seuil.domain.errors import DataFormatError
from seuil.domain.people import PersonKind
from seuil.domain.roster import RosterEntry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "roster"
HEADER = "Identifiant;Nom;Prénom;Classe;Date de naissance\n"


def parse(text: str, encoding: str = "utf-8", **options: object) -> tuple[RosterEntry, ...]:
    roster = parse_csv_roster(text.encode(encoding), source="eleves.csv", **options)  # type: ignore[arg-type]
    return roster.entries


# --- fixtures --------------------------------------------------------------------------


def test_cp1252_semicolon_with_accents() -> None:
    roster = read_roster(FIXTURES / "eleves_cp1252_semicolon.csv")
    assert roster.format == "csv" and not roster.full_export
    assert roster.source == "eleves_cp1252_semicolon.csv"
    assert any("Windows-1252" in w for w in roster.warnings)
    first, second, third, fourth = roster.entries
    assert (first.external_id, first.first_name, first.group) == ("1001", "Éloïse", "2NDE1")
    assert (second.last_name, second.first_name) == ("LEFÈVRE", "Bénédicte")
    assert first.birth_date == date(2009, 2, 14)
    assert first.entry_date == date(2024, 9, 2)
    assert third.birth_date == date(2008, 7, 21)  # ISO date in the same file
    assert third.entry_date is None
    assert fourth.leave_date == date(2025, 1, 15)
    assert fourth.location == "line 5"


def test_utf8_bom_comma_with_quoted_comma_and_ignored_column() -> None:
    roster = read_roster(FIXTURES / "eleves_utf8_bom_comma.csv", full_export=True)
    assert roster.full_export
    assert [e.external_id for e in roster.entries] == ["2001", "2002", "2003"]
    assert roster.entries[0].first_name == "Léa"
    assert roster.entries[1].last_name == "DE LA FONTAINE, DITE LAFONT"
    assert roster.warnings == ("columns ignored: Téléphone",)


def test_custom_mapping_and_title_line() -> None:
    mapping = CsvMapping(
        external_id="N° élève", first_name="Prénom usuel", group="Div.", birth_date="Né le"
    )
    roster = read_csv_roster(FIXTURES / "custom_mapping.csv", mapping=mapping)
    assert [(e.external_id, e.last_name, e.first_name, e.group) for e in roster.entries] == [
        ("E-77", "BERNARD", "Inès", "TSTI2D"),
        ("E-78", "PETIT", "Hélène", "TSTI2D"),
    ]
    assert roster.entries[1].birth_date == date(2007, 1, 31)
    assert "header found on line 2" in roster.warnings[0]


def test_custom_file_without_its_mapping_names_the_missing_column() -> None:
    with pytest.raises(DataFormatError) as caught:
        read_roster(FIXTURES / "custom_mapping.csv")
    message = caught.value.message
    assert message.startswith("custom_mapping.csv: line 1: missing required column external_id")
    assert "Identifiant" in message  # what it looked for


# --- headers, delimiters, encodings ----------------------------------------------------


def test_headers_match_case_accent_and_punctuation_insensitively() -> None:
    text = "IDENTIFIANT;NOM;PRENOM;CLASSE;DATE_DE_NAISSANCE\n1;MARTIN;Léo;2NDE1;01/02/2009\n"
    (only,) = parse(text)
    assert (only.first_name, only.birth_date) == ("Léo", date(2009, 2, 1))


@pytest.mark.parametrize("header", ["ID", "INE", "Identifiant", "identifiant "])
def test_common_id_headers(header: str) -> None:
    (only,) = parse(f"{header};Nom;Prénom\nX1;MARTIN;Léo\n")
    assert only.external_id == "X1"


def test_comma_delimiter_is_sniffed_and_can_be_forced() -> None:
    text = "ID,Nom,Prénom\n1,MARTIN,Léo\n"
    assert parse(text)[0].last_name == "MARTIN"
    with pytest.raises(DataFormatError, match="missing required column"):
        parse(text, mapping=CsvMapping(delimiter=";"))


def test_title_line_without_delimiters_does_not_decide() -> None:
    (only,) = parse("Liste des élèves\nID,Nom,Prénom\n1,MARTIN,Léo\n")
    assert (only.external_id, only.first_name) == ("1", "Léo")


def test_tab_delimiter() -> None:
    assert parse("ID\tNom\tPrénom\n1\tMARTIN\tLéo\n")[0].first_name == "Léo"


def test_plain_utf8_without_bom() -> None:
    roster = parse_csv_roster((HEADER + "1;GARÇON;Anaïs;;\n").encode(), source="e.csv")
    assert roster.entries[0].last_name == "GARÇON"
    assert roster.warnings == ()


def test_utf16_with_bom() -> None:
    data = (HEADER + "1;GARÇON;Anaïs;;\n").encode("utf-16")
    assert parse_csv_roster(data, source="e.csv").entries[0].first_name == "Anaïs"


def test_bytes_that_are_neither_utf8_nor_cp1252_are_refused_with_the_line() -> None:
    data = (HEADER + "1;MARTIN;Léo;;\n").encode() + b"2;X\x81Y;Z;;\n"
    with pytest.raises(DataFormatError, match=r"eleves\.csv: line 3: byte 0x81"):
        parse_csv_roster(data, source="eleves.csv")


def test_binary_file_is_refused() -> None:
    with pytest.raises(DataFormatError, match="binary"):
        parse_csv_roster(b"PK\x03\x04\x00\x00junk", source="x.csv")


def test_nfd_names_are_normalised_to_nfc() -> None:
    (only,) = parse(HEADER + "1;MARTIN;E\u0301loi\u0308se;;\n")
    assert only.first_name == "Éloïse"


def test_whitespace_is_collapsed_and_blank_lines_skipped() -> None:
    entries = parse(HEADER + "\n 1 ;  LE   GALL ; Anne  Sophie ;2NDE1;\n;;;;\n")
    assert [(e.external_id, e.last_name, e.first_name) for e in entries] == [
        ("1", "LE GALL", "Anne Sophie")
    ]


def test_midnight_time_after_a_date_is_accepted() -> None:
    (only,) = parse(HEADER + "1;MARTIN;Léo;;04/03/2008 00:00:00\n")
    assert only.birth_date == date(2008, 3, 4)


def test_mapping_kind_and_date_formats() -> None:
    mapping = CsvMapping(kind=PersonKind.STAFF, date_formats=("%d.%m.%Y",))
    (only,) = parse(HEADER + "S1;MARTIN;Léo;CPE;04.03.1980\n", mapping=mapping)
    assert (only.kind, only.group, only.birth_date) == (PersonKind.STAFF, "CPE", date(1980, 3, 4))


def test_mapping_validation() -> None:
    with pytest.raises(ValidationError):
        CsvMapping(delimiter="|")
    with pytest.raises(ValidationError):
        CsvMapping(external_id=())
    with pytest.raises(ValidationError):
        CsvMapping(unknown="x")  # type: ignore[call-arg]


# --- bad input: named file and line, nothing returned ------------------------------------


def test_duplicated_ids_name_both_lines() -> None:
    text = HEADER + "1;MARTIN;Léo;;\n2;PETIT;Inès;;\n1;DURAND;Zoé;;\n"
    with pytest.raises(DataFormatError, match=r"eleves\.csv: duplicated id '1' on lines 2 and 4"):
        parse(text)


def test_missing_required_column() -> None:
    with pytest.raises(DataFormatError, match="missing required column first_name") as caught:
        parse("Identifiant;Nom;Classe\n1;MARTIN;2NDE1\n")
    assert "Columns found: Identifiant, Nom, Classe" in caught.value.message


def test_bad_date_names_line_and_field() -> None:
    with pytest.raises(DataFormatError, match=r"line 3, birth date: unparseable date '31/02/2009'"):
        parse(HEADER + "1;MARTIN;Léo;;01/02/2009\n2;PETIT;Inès;;31/02/2009\n")


def test_empty_required_value() -> None:
    with pytest.raises(DataFormatError, match="line 2: empty first name"):
        parse(HEADER + "1;MARTIN;;;\n")


def test_shifted_row_is_refused() -> None:
    text = "ID,Nom,Prénom\n1,LE GALL, dit Durand,Léo\n"
    with pytest.raises(DataFormatError, match="line 2: 4 fields but the header has 3"):
        parse(text)


def test_trailing_empty_fields_are_tolerated() -> None:
    assert parse("ID;Nom;Prénom\n1;MARTIN;Léo;;\n")[0].first_name == "Léo"


def test_broken_quoting_is_refused() -> None:
    with pytest.raises(DataFormatError, match="malformed CSV"):
        parse('ID;Nom;Prénom\n1;"MARTIN"X;Léo\n')


def test_header_without_rows_and_empty_file() -> None:
    with pytest.raises(DataFormatError, match="no rows"):
        parse(HEADER)
    with pytest.raises(DataFormatError, match="empty file"):
        parse("\n\n")


def test_duplicated_header_is_refused() -> None:
    with pytest.raises(DataFormatError, match="column 'Nom' appears 2 times"):
        parse("ID;Nom;Prénom;Nom\n1;A;B;C\n")


def test_unreadable_path() -> None:
    with pytest.raises(DataFormatError, match=r"absent\.csv: cannot read"):
        read_roster(Path("/nonexistent/absent.csv"))


# --- round trip ---------------------------------------------------------------------------

NAME = st.text(
    alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdeéèêëïîôöüçÉÈÇŒœ'- ,;\""),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip())
DAY = st.one_of(st.none(), st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31)))


@given(
    rows=st.lists(st.tuples(NAME, NAME, DAY), min_size=1, max_size=15),
    delimiter=st.sampled_from([";", ","]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    iso=st.booleans(),
)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_written_rosters_read_back_identically(
    rows: list[tuple[str, str, date | None]], delimiter: str, encoding: str, iso: bool
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Identifiant", "Nom", "Prénom", "Date de naissance"])
    for number, (last, first, born) in enumerate(rows):
        text = "" if born is None else born.isoformat() if iso else born.strftime("%d/%m/%Y")
        writer.writerow([f"ID{number}", last, first, text])
    data = buffer.getvalue().encode(encoding)
    entries = parse_csv_roster(data, source="x.csv").entries
    expected = [
        (f"ID{n}", " ".join(last.split()), " ".join(first.split()), born)
        for n, (last, first, born) in enumerate(rows)
    ]
    assert [(e.external_id, e.last_name, e.first_name, e.birth_date) for e in entries] == expected
