"""The `seuil` command end to end on real photos and videos (Typer's runner, real engine)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from seuil.cli.main import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip()


def test_face_check_reports_reasons_in_french(shared, tmp_path):
    noise = tmp_path / "bruit.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (120, 160, 3), np.uint8)).save(noise)
    result = runner.invoke(app, ["face", "check", str(noise)])
    assert result.exit_code == 1
    assert "REFUS" in result.stdout and "Aucun visage" in result.stdout
    ok = runner.invoke(app, ["face", "check", str(shared / "faces/portraits/obama.jpg")])
    assert ok.exit_code == 0 and "OK" in ok.stdout


def test_face_check_in_english(shared, monkeypatch):
    monkeypatch.setenv("SEUIL_LANG", "en")
    result = runner.invoke(app, ["face", "check", str(shared / "faces/portraits/two_people.jpg")])
    assert "Several faces" in result.stdout


@pytest.mark.slow
def test_face_verify_video_and_photo(shared):
    result = runner.invoke(
        app,
        [
            "face", "verify",
            "--enrol", str(shared / "video/enrol/obama"),
            "--probe", str(shared / "video/obama.mp4"),
            "--probe", str(shared / "video/biden.mp4"),
            "--max-frames", "10",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[1]: line.split()[0]
        for line in result.stdout.splitlines()
        if line.strip().startswith(("MATCH", "REFER", "NO_MATCH"))
    }
    assert lines == {"obama.mp4": "MATCH", "biden.mp4": "NO_MATCH"}


def test_face_verify_missing_folder(tmp_path):
    result = runner.invoke(
        app, ["face", "verify", "--enrol", str(tmp_path / "nope"), "--probe", "x.jpg"]
    )
    assert result.exit_code != 0
