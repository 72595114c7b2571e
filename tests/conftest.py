"""Shared fixtures: the real data folder and small real engines, built once per session."""

from __future__ import annotations

import ast
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seuil.shared_data import shared_dir

SHARED_REQUIRED = bool(os.environ.get("SEUIL_REQUIRE_SHARED") or os.environ.get("CI"))


def _serialised(parse: Callable[..., Any]) -> Callable[..., Any]:
    """``ast.parse`` behind one lock: CPython 3.11 keeps the AST constructor's recursion
    depth in interpreter-wide state (gh-106905), so two threads parsing at once fail with
    "SystemError: AST constructor recursion depth mismatch". In a test run the two are
    pytest rewriting a module imported lazily in the main thread and 3.11's traceback
    module, which parses the failing line to place its carets, in a server thread that
    prints an error. Parsing is short, so one at a time costs nothing measurable."""
    lock = threading.Lock()

    def parse_alone(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return parse(*args, **kwargs)

    return parse_alone


ast.parse = _serialised(ast.parse)  # type: ignore[assignment]


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
