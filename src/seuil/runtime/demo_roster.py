"""A fictional roster for the demonstration site and the benchmarks.

Deterministic (a seeded generator), French names and class codes, birth dates that fit
a lycée. No real person: the names are drawn from lists of common first and last names.
"""

from __future__ import annotations

import random
from datetime import date

from seuil.domain.people import PersonKind
from seuil.domain.roster import RosterEntry

FIRST_NAMES = (
    "Léa", "Hugo", "Chloé", "Lucas", "Emma", "Louis", "Manon", "Gabriel", "Inès", "Jules",
    "Camille", "Adam", "Sarah", "Raphaël", "Jade", "Arthur", "Lina", "Nathan", "Zoé",
    "Mathis", "Louise", "Yanis", "Alice", "Noah", "Clara", "Ethan", "Lola", "Sacha",
    "Anaïs", "Théo", "Maëlys", "Rayan", "Juliette", "Tom", "Nour", "Enzo", "Ambre", "Ilyès",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
    "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
    "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
    "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Benali", "Nguyen", "Da Silva",
)  # fmt: skip
CLASSES = ("2NDE1", "2NDE2", "2NDE3", "2NDE4", "1G1", "1G2", "1G3", "1STMG", "TG1", "TG2",
           "TG3", "TSTMG")  # fmt: skip
STAFF = (
    ("Nadia", "Haddad", "CPE"),
    ("Pierre", "Marchand", "Proviseur"),
    ("Sophie", "Lemaire", "Agent d'accueil"),
    ("Karim", "Belkacem", "Agent d'accueil"),
)
# The demonstration's liveness gate needs one enrolled pupil whose face is the person of
# ``shared/spoof`` (a live webcam clip and a phone screen replaying it). A fictional
# name, like everyone here; only the demo site imports this entry (see runtime/demo.py).
LIVENESS_PUPIL = RosterEntry(
    external_id="DEMOVIV01",
    kind=PersonKind.PUPIL,
    last_name="Aubert",
    first_name="Lou",
    group="TG2",
    birth_date=date(2008, 5, 14),
    entry_date=date(2024, 9, 1),
)


def demo_roster(
    pupils: int = 60, *, seed: int = 2024, school_year: int = 2026
) -> list[RosterEntry]:
    """``pupils`` fictional pupils (external ids ``DEMO00001``...) and four staff."""
    rng = random.Random(seed)  # noqa: S311 (fictional names, not secrets)
    entries: list[RosterEntry] = []
    for n in range(1, pupils + 1):
        group = CLASSES[(n - 1) % len(CLASSES)]
        level = 0 if group.startswith("2") else 1 if group.startswith("1") else 2
        born = date(school_year - 15 - level, rng.randint(1, 12), rng.randint(1, 28))
        entries.append(
            RosterEntry(
                external_id=f"DEMO{n:05d}",
                kind=PersonKind.PUPIL,
                last_name=rng.choice(LAST_NAMES),
                first_name=rng.choice(FIRST_NAMES),
                group=group,
                birth_date=born,
                entry_date=date(school_year - level, 9, 1),
            )
        )
    for n, (first, last, role) in enumerate(STAFF, start=1):
        entries.append(
            RosterEntry(
                external_id=f"STAFF{n:03d}",
                kind=PersonKind.STAFF,
                last_name=last,
                first_name=first,
                group=role,
            )
        )
    return entries
