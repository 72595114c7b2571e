"""Counting the distinct people who pass through one door opening, from face boxes.

Each frame's face boxes are matched to the tracks of the previous frames (largest
overlap first, or a centre close enough for a person walking fast); a box matched by
nothing starts a new track. A track counts as a person once it has been seen in
``min_hits`` frames (one stray detection is not a person), and it ends after
``max_gap`` frames without a match. Two faces in the same frame are always two tracks.
Standard library only; nothing of the face is kept, only boxes for the life of the
opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seuil.domain.faces import FaceBox

__all__ = ["TrackCounter"]


@dataclass
class _Track:
    box: FaceBox
    hits: int = 1
    missed: int = 0


class TrackCounter:
    def __init__(
        self, min_hits: int = 2, max_gap: int = 3, min_iou: float = 0.2, max_shift: float = 0.8
    ) -> None:
        if min_hits < 1 or max_gap < 0 or not 0.0 < min_iou <= 1.0 or max_shift <= 0:
            raise ValueError("min_hits >= 1, max_gap >= 0, 0 < min_iou <= 1, max_shift > 0")
        self.min_hits = min_hits
        self.max_gap = max_gap
        self.min_iou = min_iou
        self.max_shift = max_shift  # centre shift allowed, in face widths
        self._tracks: list[_Track] = []
        self.people = 0  # confirmed tracks so far (never decreases)
        self.frames = 0

    def update(self, boxes: Sequence[FaceBox]) -> int:
        """Add one frame's face boxes; returns the number of people counted so far."""
        self.frames += 1
        pairs = sorted(
            ((self._affinity(t.box, b), ti, bi)
             for ti, t in enumerate(self._tracks) for bi, b in enumerate(boxes)),
            reverse=True,
        )  # fmt: skip
        used_t: set[int] = set()
        used_b: set[int] = set()
        for affinity, ti, bi in pairs:
            if affinity <= 0 or ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            track = self._tracks[ti]
            track.box, track.missed = boxes[bi], 0
            track.hits += 1
            if track.hits == self.min_hits:
                self.people += 1
        for ti, track in enumerate(self._tracks):
            if ti not in used_t:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_gap]
        for bi, box in enumerate(boxes):
            if bi not in used_b:
                self._tracks.append(_Track(box))
                if self.min_hits == 1:
                    self.people += 1
        return self.people

    def _affinity(self, old: FaceBox, new: FaceBox) -> float:
        """> 0 when ``new`` may be the same face as ``old``: overlap, else a near centre."""
        iou = old.iou(new)
        if iou >= self.min_iou:
            return 1.0 + iou
        width = max(old.width, new.width, 1)
        a, b = old.centre, new.centre
        shift = ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5 / width
        return max(0.0, 1.0 - shift / self.max_shift) if shift < self.max_shift else 0.0
