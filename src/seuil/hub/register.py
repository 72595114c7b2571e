"""The site register: every school the hub knows, with its place on the map (TOML).

[[site]]
id = "0830042X"          # UAI
name = "Lycée Dumont d'Urville"
town = "Toulon"
lat = 43.1195
lon = 5.9370
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from seuil.domain.errors import DataFormatError
from seuil.domain.hub import SITE_ID


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    id: str
    name: str
    town: str
    lat: float | None
    lon: float | None


def _number(value: object, what: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise DataFormatError(f"{what}: a number between {low} and {high}")
    return float(value)


def read_register(path: Path) -> list[RegisterEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataFormatError(f"registre illisible {path} (unreadable register): {exc}") from None
    entries: list[RegisterEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("site", [])):
        where = f"{path.name} site {index + 1}"
        if not isinstance(raw, dict):
            raise DataFormatError(f"{where}: a table")
        site_id, name = raw.get("id"), raw.get("name")
        if not isinstance(site_id, str) or not SITE_ID.match(site_id):
            raise DataFormatError(f"{where}: id must be a UAI-like code")
        if site_id in seen:
            raise DataFormatError(f"{where}: {site_id} appears twice")
        if not isinstance(name, str) or not name.strip():
            raise DataFormatError(f"{where}: a name is required")
        seen.add(site_id)
        entries.append(RegisterEntry(
            site_id, name.strip(), str(raw.get("town", "")).strip(),
            _number(raw.get("lat"), f"{where}: lat", -90, 90),
            _number(raw.get("lon"), f"{where}: lon", -180, 180),
        ))  # fmt: skip
    if not entries:
        raise DataFormatError(f"{path}: no [[site]] entry")
    return entries
