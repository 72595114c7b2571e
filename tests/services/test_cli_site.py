"""The site commands end to end: roster, consent, enrolment, printed QR, revocation, keys."""

from __future__ import annotations

import pytest
from tests.services.test_roster_sync import FIXTURES
from typer.testing import CliRunner

from seuil.cli import context
from seuil.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("SEUIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("SEUIL_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("SEUIL_ACTOR", "test:cpe")
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    context.site.cache_clear()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    yield run
    context.site.cache_clear()


def test_school_day(cli, shared, tmp_path):
    assert "Essai" in cli("roster", "sync", str(FIXTURES / "ElevesSansAdresses.xml"), "--dry-run")
    assert "Appliqué" in cli("roster", "sync", str(FIXTURES / "ElevesSansAdresses.xml"))
    listing = cli("people", "list", "--classe", "2NDE3")
    ref = listing.split()[0]
    assert ref.startswith("P-") and "ŒUVRARD" in listing

    cli("enrol", ref, str(shared / "video/enrol/obama/Obama_1.jpg"), code=6)  # no consent
    cli("consent", "give", ref, "--formulaire", "2026-v1", "--preuve", "classeur 3")
    card = tmp_path / "carte"
    out = cli("enrol", ref, str(shared / "video/enrol/obama/Obama_1.jpg"),
              str(shared / "video/enrol/obama/Obama_2.jpg"), "--stockage", "on_credential",
              "--sortie", str(card))  # fmt: skip
    assert "on_credential" in out and card.with_suffix(".png").exists()
    assert card.with_suffix(".svg").read_text().startswith("<svg")

    assert cli("credentials", "check", "--image", str(card.with_suffix(".png"))).startswith(
        "VALID " + ref
    )
    # Key rotation: the printed card stays valid until its key is retired.
    old_key = cli("keys", "list").split()[0]
    cli("keys", "rotate")
    assert "VALID" in cli("credentials", "check", "--image", str(card.with_suffix(".png")))
    cli("keys", "retire", old_key)
    assert "UNKNOWN_KEY" in cli(
        "credentials", "check", "--image", str(card.with_suffix(".png")), code=7
    )
    # A booklet issued with the new key, then the pupil is excluded: refused at once.
    booklet = tmp_path / "carnet"
    cli("credentials", "issue", ref, "--out", str(booklet))
    assert "VALID" in cli("credentials", "check", "--image", str(booklet.with_suffix(".png")))
    assert "excluded" in cli("people", "exclude", ref, "--motif", "conseil de discipline")
    assert "REVOKED" in cli(
        "credentials", "check", "--image", str(booklet.with_suffix(".png")), code=7
    )
    assert "OK" in cli("audit", "verify")


def test_badges_and_bad_input(cli, tmp_path):
    cli("roster", "sync", str(FIXTURES / "ElevesSansAdresses.xml"))
    ref = cli("people", "list").split()[0]
    from seuil.adapters.wiegand import encode_wiegand

    frame = encode_wiegand(18, 12345)
    cli("credentials", "badge", ref, "--numero", "1812345")
    assert "VALID" in cli("credentials", "check", "--wiegand", frame)
    bad = frame[:-1] + ("0" if frame[-1] == "1" else "1")
    assert "parity" in cli("credentials", "check", "--wiegand", bad, code=2)
    assert "MALFORMED" in cli("credentials", "check", "SE1:garbage", code=7)
    assert "UNKNOWN_BADGE" in cli("credentials", "check", "--badge", "42", code=7)
    bomb = FIXTURES / "billion_laughs.xml"
    assert "erreur" in cli("roster", "sync", str(bomb), code=2)
