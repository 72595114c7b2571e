"""The devices page names each device as the site file declares it (its name and kind,
how the site hears it, the gate camera's kind), the id in small print, and says when a
device that was only heard has a kind guessed from its first signal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD, Web

from seuil.domain.accounts import Role
from seuil.domain.incidents import IncidentType, Signal
from seuil.runtime.site_process import SiteRuntime, build_runtime
from seuil.site_config import parse_site_config
from seuil.web import WebOptions, create_app

SITE_FILE = """
[[cameras]]
id = "cam-entree"
kind = "presentation"
[[readers]]
id = "qr"
kind = "qr-camera"
camera = "cam-entree"
[[doors]]
id = "porte"
kind = "simulated"
[[gates]]
id = "entree"
name = "Entrée principale"
camera = "cam-entree"
readers = ["qr"]
door = "porte"
liveness = false

[[devices.devices]]
id = "bouton-accueil"
kind = "panic_button"
label = "Bouton d'alerte de l'accueil"
zone = "Accueil"

[[devices.devices]]
id = "borne-parvis"
kind = "call_post"
label = "Borne d'appel du parvis"
zone = "Parvis"
webhook_token = "${BORNE}"
"""


@pytest.fixture
def running(web: Web, tmp_path: Path) -> Iterator[SiteRuntime]:
    config = parse_site_config(SITE_FILE, environ={"BORNE": "borne-token-value"})
    rt = build_runtime(web.site, config, accounts=web.accounts, data_dir=tmp_path / "data")
    web.app = create_app(web.site, web.accounts, WebOptions(), rt.web)
    try:
        yield rt
    finally:
        rt.stop()


def _rows(html: str) -> list[str]:
    table = html.split('<section aria-labelledby="h-devices">')[1].split("</tbody>", 1)[0]
    return table.split("<tr")[2:]  # after the header row


def test_declared_names_kinds_and_channels(web: Web, running: SiteRuntime) -> None:
    heard = Signal("mqtt:capteur-inconnu", web.site.settings.site.id, "Cour", "forced", "{}",
                   web.clock.now(), IncidentType.DOOR_FORCED)  # fmt: skip
    web.site.incidents.receive(heard)
    web.add("tech", Role.TECHNICIAN)
    client = web.login("tech", PASSWORD + "!")
    page = client.get("/devices").text
    rows = {row.split('<code class="small">')[1].split("<")[0]: row for row in _rows(page)}
    assert set(rows) == {"gate:entree", "mqtt:bouton-accueil", "webhook:borne-parvis",
                         "mqtt:capteur-inconnu"}  # fmt: skip
    button = rows["mqtt:bouton-accueil"]
    assert "Bouton d&#39;alerte de l&#39;accueil" in button and "bouton d&#39;alerte" in button
    assert '<span class="small">MQTT</span>' in button and "deviné" not in button
    post = rows["webhook:borne-parvis"]
    assert "borne d&#39;appel" in post and "appel d&#39;URL" in post
    gate = rows["gate:entree"]
    assert "Entrée principale" in gate and "portique seuil" in gate
    unknown = rows["mqtt:capteur-inconnu"]
    assert "non déclaré" in unknown and "deviné d&#39;après son premier signal" in unknown
    assert "<td>porte <span" in unknown  # the kind guessed from a forced-door signal
    camera = page.split('id="gate-entree"')[1].split("</dl>")[0]
    assert 'caméra simulée (démonstration) <code class="small">cam-entree</code>' in camera
    client.headers["Accept-Language"] = "en"
    english = client.get("/devices").text
    assert "simulated camera (demonstration)" in english and "not declared" in english
    assert "guessed from its first signal" in english and "URL call" in english
