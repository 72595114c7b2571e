"""`seuil gate run` from a site configuration file: a real file camera, a QR in the video."""

from __future__ import annotations

import cv2
import pytest
from typer.testing import CliRunner

from seuil.adapters.video_file import iter_video_frames
from seuil.cli import context
from seuil.cli.main import app
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import TemplateStorage
from seuil.domain.people import PersonKind
from seuil.gate.replay import with_credential

runner = CliRunner()


@pytest.fixture
def cli_site(tmp_path, monkeypatch):
    monkeypatch.setenv("SEUIL_DATABASE_URL", f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    monkeypatch.setenv("SEUIL_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    context.site.cache_clear()
    yield context.site()
    context.site.cache_clear()


def _video_with_card(source, text, out, seconds=4.0):
    frames = [f.image for f in iter_video_frames(source, fps=10, max_frames=int(seconds * 10))]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    assert writer.isOpened()
    for frame in with_credential(frames, text, shown_for=5):
        writer.write(frame[:, :, ::-1])
    writer.release()
    return out


def test_gate_run_grants_the_owner(cli_site, shared, tmp_path):
    person = cli_site.people.create("test", PersonKind.PUPIL, "Live", "Person")
    cli_site.consent.record("test", person.ref, ConsentState.GIVEN, ConsentGiver.SELF, "v1")
    photos = sorted((shared / "spoof/crops/real").glob("*.png"))[::25][:8]
    issued = cli_site.enrolment.enrol(
        "test", person.ref, [(p.name, p.read_bytes()) for p in photos],
        TemplateStorage.KEY_ON_CREDENTIAL,
    ).issued  # fmt: skip
    video = _video_with_card(shared / "spoof/real2.webm", issued.text, tmp_path / "lane.mp4")
    config = tmp_path / "site.toml"
    config.write_text(
        f"""
[[cameras]]
id = "cam-test"
kind = "file"
path = "{video}"

[[readers]]
id = "qr-test"
kind = "qr-camera"
camera = "cam-test"

[[doors]]
id = "porte-test"
kind = "simulated"
pulse_s = 1

[[gates]]
id = "entree-test"
camera = "cam-test"
readers = ["qr-test"]
door = "porte-test"
accept_fmr = "1e-3"
""",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["gate", "run", "--config", str(config), "--seconds", "6"])
    assert result.exit_code == 0, result.output
    assert f"entree-test GRANT {person.ref}" in result.output
    events = runner.invoke(app, ["gate", "events"])
    assert "GRANT" in events.output and person.ref in events.output


def test_gate_run_refuses_a_bad_configuration(cli_site, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[gates]]\nid = "x"\nmode = "identification"\nreaders = []\n')
    result = runner.invoke(app, ["gate", "run", "--config", str(config), "--seconds", "1"])
    assert result.exit_code != 0
    assert "erreur" in result.output
