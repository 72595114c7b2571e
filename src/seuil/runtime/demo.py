"""The demonstration site: what ``./run demo`` starts when there is no site file.

A fictional roster (60 pupils, 4 staff), one simulated gate ("Entrée principale") whose
camera shows an empty lane until a person's video is presented from the gate screen,
a simulated door, and two simulated devices (a panic button, an intrusion panel) that
can be triggered from the incidents page. Its database and keys live in their own
folder (``<user data>/seuil/demo``), never mixed with a real site's.

The real faces come from ``../shared`` when it is there (videos to present at the gate);
without it the site still runs, and the console explains how to enrol from uploaded
photos and present a credential.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from seuil.domain.people import PersonKind
from seuil.runtime.demo_roster import demo_roster
from seuil.site_config import SiteConfig, parse_site_config
from seuil.web.runtime import DemoDevice

if TYPE_CHECKING:
    from seuil.bootstrap import Site

log = logging.getLogger(__name__)

DEMO_SITE_TOML = """
# The demonstration site: one gate, a simulated camera and door.
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
    diff = site.roster.sync("démonstration", demo_roster(60), full_export=True,
                            source="roster de démonstration", dry_run=False)  # fmt: skip
    return len(diff.arrivals)
