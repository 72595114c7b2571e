"""Where the shared test and demonstration data is (the ``shared`` folder beside the checkout).

Real face data is never part of the repository; this only finds it. ``SEUIL_SHARED_DIR``
overrides the location (and only that folder is then looked at).
"""

from __future__ import annotations

import os
from pathlib import Path


def shared_dir() -> Path | None:
    """The shared folder, or None. ``SEUIL_SHARED_DIR``, when set, is the only place
    looked at: pointing it at a folder without the data runs as if it were absent."""
    env = os.environ.get("SEUIL_SHARED_DIR")
    here = Path(__file__).resolve()
    # src/seuil/shared_data.py -> checkout root is parents[2]; shared/ sits beside it.
    candidates = (
        [Path(env)] if env else [here.parents[2].parent / "shared", Path.cwd().parent / "shared"]
    )
    for c in candidates:
        if (c / "faces").is_dir() or (c / "video").is_dir():
            return c
    return None
