"""`seuil demo` (the README's main command) starts a working site and stops cleanly,
with the shared data and without it (both gates start either way)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("with_shared", [True, False], ids=["shared", "no-shared"])
def test_the_demo_site_starts_serves_and_stops(
    tmp_path: Path, with_shared: bool, request: pytest.FixtureRequest
) -> None:
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("SEUIL_DATABASE_URL", None)
    if with_shared:
        env["SEUIL_SHARED_DIR"] = str(request.getfixturevalue("shared"))  # skips without
    else:  # as on a fresh machine: an empty folder in place of shared/
        (tmp_path / "no-shared").mkdir()
        env["SEUIL_SHARED_DIR"] = str(tmp_path / "no-shared")
    seuil = Path(sys.executable).with_name("seuil")
    proc = subprocess.Popen(
        [str(seuil), "demo", "--port", str(port)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        end = time.monotonic() + 120
        while time.monotonic() < end:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl+C" in line:
                break
        out = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in out, out
        assert "Roster de démonstration importé : 65 personnes." in out
        # Both gates run; the screens and this text say which one checks liveness.
        assert "porte « Entrée principale » (verification, contrôle du vivant : non)" in out
        assert (
            "porte « Entrée B — contrôle du vivant » (verification, contrôle du vivant : oui)"
            in out
        )
        assert "« Entrée principale » ne vérifie pas le vivant" in out
        if with_shared:
            assert "présentez la carte de Lou Aubert" in out, out
        else:
            assert "« Entrée B — contrôle du vivant » n'a rien à présenter" in out, out
            assert "Données de démonstration (dossier shared/) absentes" in out
        token = next(lines[i + 1].strip() for i, line in enumerate(lines) if "jeton" in line)
        assert len(token) >= 20
        page = httpx.get(f"http://127.0.0.1:{port}/setup", timeout=10)
        assert page.status_code == 200 and "jeton" in page.text.lower()
        assert (tmp_path / "data/seuil/demo/seuil-demo.sqlite3").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    rest = proc.stdout.read() if proc.stdout else ""
    assert code == 0, "".join(lines) + rest
    assert "Traceback" not in rest, rest


def test_a_port_in_use_is_a_clear_error_before_anything_starts(tmp_path: Path) -> None:
    """Another process on the port: the demo says so and exits 2, without importing a
    roster, starting gates or announcing a site that is not there."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("SEUIL_DATABASE_URL", None)
    (tmp_path / "no-shared").mkdir()
    env["SEUIL_SHARED_DIR"] = str(tmp_path / "no-shared")
    seuil = Path(sys.executable).with_name("seuil")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(seuil), "demo", "--port", str(port)], env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert f"impossible d'écouter sur 127.0.0.1:{port}" in out and "--port" in out
    assert "en service" not in out and "Roster de démonstration" not in out
    assert not (tmp_path / "data/seuil/demo/seuil-demo.sqlite3").exists()
