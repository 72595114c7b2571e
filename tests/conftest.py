"""Shared fixtures: the real data folder and small real engines, built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seuil.shared_data import shared_dir

SHARED_REQUIRED = bool(os.environ.get("SEUIL_REQUIRE_SHARED") or os.environ.get("CI"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ``shared`` folder (real faces and videos); skip cleanly where it is absent.

    In CI (``CI`` or ``SEUIL_REQUIRE_SHARED`` set) its absence is a failure, not a skip.
    """
    root = shared_dir()
    if root is None:
        message = (
            "real face data not found: put the project's shared/ folder beside the checkout "
            "or set SEUIL_SHARED_DIR"
        )
        if SHARED_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Converted models go to SEUIL_CACHE_DIR if set (CI keeps them), else a temp dir."""
    if not os.environ.get("SEUIL_CACHE_DIR"):
        os.environ["SEUIL_CACHE_DIR"] = str(tmp_path_factory.mktemp("seuil-cache"))


@pytest.fixture(scope="session")
def enrol_engine():  # type: ignore[no-untyped-def]
    from seuil.bootstrap import build_face_engine

    return build_face_engine(purpose="enrol")


@pytest.fixture(scope="session")
def gate_engine():  # type: ignore[no-untyped-def]
    from seuil.bootstrap import build_face_engine

    return build_face_engine(purpose="gate")
