"""Milliseconds to parse a 2,000-pupil roster (SIECLE XML, zipped XML, CSV) and diff it.

Usage::

    python benchmarks/roster_sync.py [--pupils 2000] [--repeats 7] [--keep DIR]

Everything is generated (fictional names, random ids): a SIECLE ``ElevesSansAdresses``
export in ISO-8859-15 shaped like the real one (extra elements, options, several
structures per pupil), the same export zipped, and a Windows-1252 ``;`` CSV. The current
population is last year's: most pupils match, some changed class, some left (missing from
the file or with a past DATE_SORTIE), some arrive. The whole sync target is < 5 s with the
database; parsing and diffing should take a small fraction of it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from seuil.adapters.roster import RosterFile, read_roster
from seuil.domain.people import Person, PersonKind
from seuil.domain.roster import RosterDiff, RosterEntry, diff_roster

TODAY = date(2025, 1, 20)
LAST = ["MARTIN", "LEFÈVRE", "GARÇON", "ŒUVRARD", "CHÂTELAIN", "N'DIAYE", "FABRE", "MOREAU"]
FIRST = ["Éloïse", "Bénédicte", "Noël", "Anaïs", "Maëlys", "Jérôme", "Zoé", "Théo", "Inès"]
CLASSES = [f"{level}{n}" for level in ("2NDE", "1G", "TG") for n in range(1, 15)]


def entries(count: int, rng: random.Random) -> list[RosterEntry]:
    result = []
    for n in range(count):
        left = n % 40 == 0  # 2.5 % left during the year
        result.append(
            RosterEntry(
                external_id=str(1_000_000 + n),
                last_name=f"{rng.choice(LAST)}-{n}",
                first_name=rng.choice(FIRST),
                group=rng.choice(CLASSES),
                birth_date=date(2007, 1, 1) + timedelta(days=rng.randrange(1100)),
                entry_date=date(2022 + n % 3, 9, 1),
                leave_date=TODAY - timedelta(days=10) if left else None,
            )
        )
    return result


def siecle_xml(pupils: list[RosterEntry]) -> bytes:
    def day(value: date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else ""

    out = [
        '<?xml version="1.0" encoding="ISO-8859-15"?>\n<BEE_ELEVES VERSION="3.1">\n'
        "<PARAMETRES><UAJ>0839999Z</UAJ><ANNEE_SCOLAIRE>2024</ANNEE_SCOLAIRE>"
        "<DATE_EXPORT>20/01/2025</DATE_EXPORT></PARAMETRES>\n<DONNEES>\n<ELEVES>\n"
    ]
    for p in pupils:
        out.append(
            f'<ELEVE ELEVE_ID="{p.external_id}" ELENOET="{p.external_id[-4:]}">'
            f"<ID_NATIONAL>0000{p.external_id}X</ID_NATIONAL><ELENOET>{p.external_id[-4:]}</ELENOET>"
            f"<NOM_DE_FAMILLE>{p.last_name}</NOM_DE_FAMILLE><NOM_USAGE></NOM_USAGE>"
            f"<PRENOM>{p.first_name}</PRENOM><PRENOM2>Marie</PRENOM2>"
            f"<DATE_NAISS>{day(p.birth_date)}</DATE_NAISS><DOUBLEMENT>N</DOUBLEMENT>"
            f"<DATE_ENTREE>{day(p.entry_date)}</DATE_ENTREE>"
            + (f"<DATE_SORTIE>{day(p.leave_date)}</DATE_SORTIE>" if p.leave_date else "")
            + "<CODE_REGIME>2</CODE_REGIME><CODE_STATUT>ST</CODE_STATUT>"
            "<SCOLARITE_AN_DERNIER><CODE_RNE>0839998Y</CODE_RNE>"
            "<DENOM_COMPL>COLLEGE FICTIF</DENOM_COMPL></SCOLARITE_AN_DERNIER></ELEVE>\n"
        )
    out.append("</ELEVES>\n<OPTIONS>\n")
    for p in pupils:
        out.append(
            f'<OPTION ELEVE_ID="{p.external_id}"><OPTIONS_ELEVE><NUM_OPTION>1</NUM_OPTION>'
            "<CODE_MATIERE>030201</CODE_MATIERE></OPTIONS_ELEVE></OPTION>\n"
        )
    out.append("</OPTIONS>\n<STRUCTURES>\n")
    for p in pupils:
        out.append(
            f'<STRUCTURES_ELEVE ELEVE_ID="{p.external_id}">'
            "<STRUCTURE><CODE_STRUCTURE>G_LV2</CODE_STRUCTURE><TYPE_STRUCTURE>G</TYPE_STRUCTURE>"
            f"</STRUCTURE><STRUCTURE><CODE_STRUCTURE>{p.group}</CODE_STRUCTURE>"
            "<TYPE_STRUCTURE>D</TYPE_STRUCTURE></STRUCTURE></STRUCTURES_ELEVE>\n"
        )
    out.append("</STRUCTURES>\n</DONNEES>\n</BEE_ELEVES>\n")
    return "".join(out).encode("iso-8859-15")


def roster_csv(pupils: list[RosterEntry]) -> bytes:
    def day(value: date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else ""

    lines = ["Identifiant;Nom;Prénom;Classe;Date de naissance;Date d'entrée;Date de sortie"]
    lines += [
        f"{p.external_id};{p.last_name};{p.first_name};{p.group};"
        f"{day(p.birth_date)};{day(p.entry_date)};{day(p.leave_date)}"
        for p in pupils
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def last_year(pupils: list[RosterEntry], rng: random.Random) -> list[Person]:
    """Known people: 95 % of this file (some in another class) plus 100 who left since."""
    people = []
    for n, p in enumerate(pupils):
        if n % 20 == 7:  # 5 % arrive this time
            continue
        person = replace(p.to_person(f"P-{n:012d}"), leave_date=None)
        if n % 10 == 3:  # 10 % changed class
            person = replace(person, group=rng.choice(CLASSES))
        people.append(person)
    for n in range(100):  # missing from the new full export
        people.append(
            Person(ref=f"P-GONE{n:08d}", kind=PersonKind.PUPIL, last_name="X", first_name="Y",
                   external_id=f"9{n:06d}")
        )  # fmt: skip
    return people


def timed(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the generated files here")
    parser.add_argument(
        "--database-url", action="append",
        help="also time the whole sync into this database (repeatable; default: SQLite)",
    )  # fmt: skip
    args = parser.parse_args()

    rng = random.Random(2025)  # noqa: S311 (fictional test data)
    pupils = entries(args.pupils, rng)
    current = last_year(pupils, rng)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        xml = folder / "ElevesSansAdresses.xml"
        xml.write_bytes(siecle_xml(pupils))
        archive = folder / "ElevesSansAdresses.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
            out.write(xml, xml.name)
        csv = folder / "eleves.csv"
        csv.write_bytes(roster_csv(pupils))

        print(f"{args.pupils} pupils, {len(current)} known people, median (min) of {args.repeats}")
        sizes = ", ".join(f"{p.name} {p.stat().st_size // 1024} KiB" for p in (xml, archive, csv))
        print(f"  files: {sizes}")
        rosters: dict[str, RosterFile] = {}
        for label, path in (("siecle xml", xml), ("siecle zip", archive), ("csv", csv)):
            median, best = timed(partial(read_roster, path, full_export=True), args.repeats)
            rosters[label] = read_roster(path, full_export=True)
            assert [e.external_id for e in rosters[label].entries] == [
                p.external_id for p in pupils
            ]
            print(f"  parse {label:<11} {median:7.1f} ms ({best:.1f})")

        incoming = rosters["siecle xml"].entries
        diff: list[RosterDiff] = []

        def run() -> None:
            diff[:] = [diff_roster(current, incoming, full_export=True, today=TODAY)]

        median, best = timed(run, args.repeats)
        print(f"  diff              {median:7.1f} ms ({best:.1f})   {diff[0].counts()}")
        whole = timed(
            lambda: diff_roster(
                current, read_roster(archive).entries, full_export=True, today=TODAY
            ),
            args.repeats,
        )
        print(f"  zip parse + diff  {whole[0]:7.1f} ms ({whole[1]:.1f})")
        for url in args.database_url or [f"sqlite:///{folder / 'bench.sqlite3'}"]:
            database_sync(archive, pupils, folder, url)


def database_sync(archive: Path, pupils: list[RosterEntry], folder: Path, url: str) -> None:
    """The whole sync through the site: parse, diff and apply in one transaction."""
    from seuil.bootstrap import build_site
    from seuil.settings import KeySettings, Settings, StorageSettings

    site = build_site(Settings(database=StorageSettings(url=url),
                               keys=KeySettings(dir=folder / "keys")))  # fmt: skip

    def sync(path: Path) -> RosterDiff:
        roster = read_roster(path)
        return site.roster.sync("bench", roster.entries, full_export=True,
                                source=path.name, dry_run=False)  # fmt: skip

    kind = url.split(":", 1)[0]
    started = time.perf_counter()
    first = sync(archive)
    first_ms = (time.perf_counter() - started) * 1000
    # Next year: 5 % leave (missing from the full export), 10 % change class, 5 % arrive.
    rng = random.Random(7)  # noqa: S311
    kept = [
        replace(p, group=rng.choice(CLASSES)) if n % 10 == 3 else p
        for n, p in enumerate(pupils)
        if n % 20 != 11
    ]
    arrivals = entries(len(pupils) // 20, random.Random(8))  # noqa: S311
    nxt = folder / "next.xml"
    nxt.write_bytes(
        siecle_xml(kept + [replace(a, external_id="8" + a.external_id) for a in arrivals])
    )
    started = time.perf_counter()
    second = sync(nxt)
    second_ms = (time.perf_counter() - started) * 1000
    print(f"  {kind}: first import {first_ms:7.0f} ms {first.counts()}")
    print(f"  {kind}: next sync    {second_ms:7.0f} ms {second.counts()}")
    site.close()


if __name__ == "__main__":
    main()
