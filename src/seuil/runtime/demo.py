"""The demonstration site: what ``./run demo`` starts when there is no site file.

A fictional roster (61 pupils, 4 staff), two simulated gates whose cameras show an empty
lane until a person's video is presented from the gate screen, each with a simulated
door, and two simulated devices (a panic button, an intrusion panel) that can be
triggered from the incidents page. Its database and keys live in their own folder
(``<user data>/seuil/demo``), never mixed with a real site's.

- "Entrée principale" presents broadcast recordings (obama, biden, hamilton) without the
  liveness check: the texture model rightly judges a broadcast recording as a replay.
- "Entrée B — contrôle du vivant" checks liveness. It presents ``shared/spoof``: a live
  person filmed by a webcam (``real2``: granted) and a phone screen replaying that
  person (``fake2``: refused, liveness failed). The fictional pupil holding that face is
  enrolled at every start from the live crops, and her card is in the demo's wallet
  (:mod:`seuil.runtime.demo_subject`).

The real faces come from ``../shared`` when it is there; without it the site still runs,
the gates have nothing to present and say so, and the console explains how to enrol from
uploaded photos and present a credential.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from seuil.domain.people import PersonKind
from seuil.runtime.demo_roster import LIVENESS_PUPIL, demo_roster
from seuil.site_config import SiteConfig, parse_site_config
from seuil.web.runtime import DemoDevice

if TYPE_CHECKING:
    from seuil.bootstrap import Site

log = logging.getLogger(__name__)

DEMO_SITE_TOML = """
# The demonstration site: two gates, each with a simulated camera and door.
[[cameras]]
id = "cam-entree"
kind = "presentation"

[[readers]]
id = "qr-entree"
kind = "qr-camera"
camera = "cam-entree"

[[doors]]
id = "porte-entree"
kind = "simulated"

[[gates]]
id = "entree"
name = "Entrée principale"
camera = "cam-entree"
readers = ["qr-entree"]
door = "porte-entree"
# The demo camera replays video files: a texture check would judge the file, not a
# person (a real camera always checks liveness; the configuration refuses otherwise).
liveness = false

[[cameras]]
id = "cam-vivant"
kind = "presentation"

[[readers]]
id = "qr-vivant"
kind = "qr-camera"
camera = "cam-vivant"

[[doors]]
id = "porte-vivant"
kind = "simulated"

[[gates]]
id = "vivant"
name = "Entrée B — contrôle du vivant"
camera = "cam-vivant"
readers = ["qr-vivant"]
door = "porte-vivant"
# Liveness on (the default): this gate presents a person filmed live and the same
# person replayed on a phone screen, the case the check is made for.
liveness = true
"""

DEMO_DEVICES = (
    DemoDevice("demo:bouton-accueil", "panic_button", "Bouton d'alerte — accueil", "Accueil"),
    DemoDevice(
        "demo:centrale-a", "alarm_panel", "Centrale anti-intrusion — bâtiment A", "Bâtiment A"
    ),
)

_VIDEOS = {
    "obama": "video/obama.mp4",
    "biden": "video/biden.mp4",
    "hamilton": "video/hamilton.mp4",
    "real2": "spoof/real2.webm",
    "fake2": "spoof/fake2.webm",
}
# Which videos each demo gate offers: broadcast recordings at the gate without liveness,
# the live / replayed pair at the gate that checks it.
DEMO_GATE_VIDEOS: dict[str, tuple[str, ...]] = {
    "entree": ("obama", "biden", "hamilton"),
    "vivant": ("real2", "fake2"),
}


def demo_config() -> SiteConfig:
    return parse_site_config(DEMO_SITE_TOML, origin="demonstration site")


def demo_videos(shared: Path | None) -> dict[str, Path]:
    """Videos a technician can present at the demo gate (name -> file), if any."""
    if shared is None:
        return {}
    return {name: shared / rel for name, rel in _VIDEOS.items() if (shared / rel).is_file()}


def seed_roster(site: Site) -> int:
    """Import the fictional roster once (a site that has pupils is left alone)."""
    with site.reader() as uow:
        if uow.people.all_of_kind(PersonKind.PUPIL):
            return 0
    entries = [*demo_roster(60), LIVENESS_PUPIL]
    diff = site.roster.sync("démonstration", entries, full_export=True,
                            source="roster de démonstration", dry_run=False)  # fmt: skip
    return len(diff.arrivals)


def demo_gate_videos(videos: dict[str, Path]) -> dict[str, list[str]]:
    """Per demo gate, the videos it can present here (an empty list without shared/)."""
    return {gate: [v for v in names if v in videos] for gate, names in DEMO_GATE_VIDEOS.items()}


def demo_notes(videos: dict[str, Path], holder: str | None) -> list[tuple[str, str]]:
    """What the console says about the demo gates (French, English): which one checks
    liveness and why the other does not, what each can present."""
    per_gate = demo_gate_videos(videos)
    notes = [(
        "« Entrée principale » ne vérifie pas le vivant : ses vidéos sont des "
        "enregistrements diffusés, que le contrôle du vivant juge, à raison, comme un "
        "rejeu (une caméra réelle le vérifie toujours, la configuration l'impose).",
        "'Entrée principale' does not check liveness: its videos are broadcast "
        "recordings, which the liveness check rightly judges as a replay (a real camera "
        "always checks it; the configuration requires it).",
    )]  # fmt: skip
    if per_gate["vivant"] and holder:
        notes.append((
            f"« Entrée B — contrôle du vivant » vérifie le vivant : présentez la carte de "
            f"{holder} (élève fictive) avec real2 (la personne filmée par une webcam : "
            "accès autorisé) puis fake2 (la même personne rejouée sur un écran de "
            "téléphone : refus, contrôle du vivant). Le modèle a été ajusté en partie sur "
            "ces mêmes clips : c'est une démonstration, pas une mesure (docs/benchmarks.md).",
            f"'Entrée B — contrôle du vivant' checks liveness: present {holder}'s card "
            "(a fictional pupil) with real2 (the person filmed by a webcam: granted), then "
            "fake2 (the same person replayed on a phone screen: refused, liveness failed). "
            "The model was fitted partly on these same clips: a demonstration, not a "
            "measurement (docs/benchmarks.md).",
        ))  # fmt: skip
    elif per_gate["vivant"]:
        notes.append((
            "« Entrée B — contrôle du vivant » : aucune carte à présenter, l'élève fictive "
            "Lou Aubert n'a pas été enrôlée (consentement retiré ou fiche close ; voir le "
            "journal).",
            "'Entrée B — contrôle du vivant': no card to present, the fictional pupil Lou "
            "Aubert was not enrolled (consent withdrawn or record closed; see the log).",
        ))  # fmt: skip
    else:
        notes.append((
            "« Entrée B — contrôle du vivant » n'a rien à présenter : les clips "
            "shared/spoof (personne réelle, rejeu sur écran) sont absents.",
            "'Entrée B — contrôle du vivant' has nothing to present: the shared/spoof "
            "clips (live person, screen replay) are absent.",
        ))  # fmt: skip
    return notes
