"""A plain SVG plan of the schools from their register positions (no map tiles)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from seuil.hub.model import BoardRow

WIDTH, HEIGHT, MARGIN = 800, 560, 24


@dataclass(frozen=True, slots=True)
class MapPoint:
    x: float
    y: float
    row: BoardRow


def project(rows: list[BoardRow]) -> list[MapPoint]:
    """Equirectangular projection fitted to the schools' bounding box (aspect kept)."""
    placed = [r for r in rows if r.site.lat is not None and r.site.lon is not None]
    if not placed:
        return []
    lats = [r.site.lat for r in placed if r.site.lat is not None]
    lons = [r.site.lon for r in placed if r.site.lon is not None]
    k = math.cos(math.radians(sum(lats) / len(lats)))
    min_x, max_x = min(lons) * k, max(lons) * k
    min_y, max_y = min(lats), max(lats)
    span = max(max_x - min_x, (max_y - min_y) * (WIDTH / HEIGHT), 1e-6)
    scale = (WIDTH - 2 * MARGIN) / span
    points = []
    for r in placed:
        assert r.site.lat is not None and r.site.lon is not None
        x = MARGIN + (r.site.lon * k - min_x) * scale
        y = HEIGHT - MARGIN - (r.site.lat - min_y) * scale
        points.append(MapPoint(round(x, 1), round(y, 1), r))
    return points
