"""French first, English second: pick the text by SEUIL_LANG (fr by default)."""

from __future__ import annotations

import os


def lang() -> str:
    value = os.environ.get("SEUIL_LANG", "fr").lower()
    return "en" if value.startswith("en") else "fr"


def t(fr: str, en: str) -> str:
    return en if lang() == "en" else fr
