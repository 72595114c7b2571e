"""`seuil hub sites ...` and `seuil hub-link --once` end to end (hub on SQLite; the site
is a real site configured by its environment, its link a real HTTP server)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from tests.hub.servers import serving
from typer.testing import CliRunner

from seuil.cli.main import app
from seuil.domain.accounts import secret_digest
from seuil.hub.app import create_hub_app
from seuil.hub.runtime import Hub
from seuil.hub.settings import HubSettings

runner = CliRunner()
REGISTER = """
[[site]]
id = "0830042X"
name = "Lycée Dumont d'Urville"
town = "Toulon"
lat = 43.1195
lon = 5.9370

[[site]]
id = "0060001A"
name = "Lycée Masséna"
town = "Nice"
lat = 43.6990
lon = 7.2730
"""


@pytest.fixture
def hub_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    monkeypatch.setenv("SEUIL_HUB_DATABASE_URL", url)
    return url


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_sites_add_prints_the_token_once_and_stores_only_its_digest(hub_db: str) -> None:
    out = run(
        "hub",
        "sites",
        "add",
        "0830042X",
        "--nom",
        "Lycée Dumont d'Urville",
        "--commune",
        "Toulon",
        "--lat",
        "43.12",
        "--lon",
        "5.93",
    )
    token = out.strip().splitlines()[-1]
    assert token.startswith("hub_") and len(token) > 40
    hub = Hub(HubSettings())
    try:
        with hub.uow() as uow:
            stored = uow.hub.site_credential("0830042X")
    finally:
        hub.close()
    assert stored == (secret_digest(token), False)
    assert token not in Path(hub_db.removeprefix("sqlite:///")).read_bytes().decode("latin-1")
    assert "existe déjà" in run("hub", "sites", "add", "0830042X", "--nom", "x", code=8)
    assert "0830042X\tactif" in run("hub", "sites", "list")
    run("hub", "sites", "revoke", "0830042X")
    assert "0830042X\trévoqué" in run("hub", "sites", "list")
    assert run("hub", "sites", "rotate", "0830042X").strip().startswith("hub_")


def test_sites_import_writes_one_private_token_file_per_site(hub_db: str, tmp_path: Path) -> None:
    register = tmp_path / "register.toml"
    register.write_text(REGISTER, encoding="utf-8")
    out = run("hub", "sites", "import", str(register), "--jetons", str(tmp_path / "tokens"))
    assert "2 site(s) ajouté(s)" in out
    files = sorted((tmp_path / "tokens").iterdir())
    assert [f.name for f in files] == ["0060001A.token", "0830042X.token"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    again = run("hub", "sites", "import", str(register), "--jetons", str(tmp_path / "tokens"))
    assert "0 site(s) ajouté(s), 2 déjà connu(s)" in again
    bad = tmp_path / "bad.toml"
    bad.write_text('[[site]]\nid = "0830042X"\nname = "A"\nlat = 120\n', encoding="utf-8")
    assert "lat" in run("hub", "sites", "import", str(bad), "--jetons", str(tmp_path), code=2)
    bad.write_text("[[site]]\nid = \n", encoding="utf-8")
    assert "illisible" in run("hub", "sites", "import", str(bad), "--jetons", str(tmp_path), code=2)


def test_hub_link_once_drains_a_sites_outbox(
    hub_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = Hub(HubSettings(database_url=hub_db))
    token = hub.service.add_site("0830042X", "Lycée Dumont d'Urville")
    token_file = tmp_path / "hub.token"
    token_file.write_text(token)
    with serving(create_hub_app(hub)) as (host, port):
        monkeypatch.setenv("SEUIL_DATABASE_URL", f"sqlite:///{tmp_path / 'site.sqlite3'}")
        monkeypatch.setenv("SEUIL_KEY_DIR", str(tmp_path / "keys"))
        monkeypatch.setenv("SEUIL_SITE__ID", "0830042X")
        monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
        monkeypatch.setenv("SEUIL_HUB_LINK__URL", f"http://{host}:{port}")
        monkeypatch.setenv("SEUIL_HUB_LINK__TOKEN_FILE", str(token_file))
        # The first heartbeat and the audit chain's first anchor.
        assert "2 événement(s) envoyé(s)" in run("hub-link", "--once")
        with hub.uow() as uow:
            kinds = [k for _, _, k in uow.hub.events_of("0830042X")]
        assert kinds == ["heartbeat", "audit.anchor"]
        # On demand: queued, then sent; `audit verify` checks the chain against both.
        assert "ancre mise en file" in run("audit", "anchor")
        # The queued anchor, and this run's own heartbeat and anchor.
        assert "3 événement(s) envoyé(s)" in run("hub-link", "--once")
        verified = run("audit", "verify")  # the chain is still empty: one head, thrice
        assert "ancres du centre régional : 1 vérifiées" in verified and "OK" in verified
        token_file.write_text("hub_wrong")
        assert "refused the site's credential" in run("hub-link", "--once", code=16)
    hub.close()
    assert (tmp_path / "keys" / "hub_pseudonym.key").exists()
