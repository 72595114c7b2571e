"""Counting the distinct people who pass through one door opening, from face boxes.

Each frame's face boxes are matched to the tracks of the previous frames (largest
overlap first, or a centre close enough for a person walking fast); a box matched by
nothing starts a new track. A track counts as a person once it has been seen in
``min_hits`` frames (one stray detection is not a person), and it ends after
``max_gap`` frames without a match. Two faces in the same frame are always two people.

A face lost for longer than ``max_gap`` (a pupil looking back over her shoulder) comes
back as a new track. Position cannot tell whether it is the same person (a second one
may step into the same spot), so the counter can be given a ``same`` test on face
signatures (the gate supplies embeddings and a calibrated threshold): each track is
signed once, when it is confirmed, through the ``signature`` callable passed to
:meth:`TrackCounter.update`, and a confirmed track whose signature is the same person
as someone counted earlier in the opening (and not in view in that frame) is not
counted again. A track that cannot be signed is counted: when in doubt, a REFER rather
than a missed tailgater. Standard library only; the signatures and boxes live only as
long as the counter (one opening).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from seuil.domain.faces import FaceBox

__all__ = ["TrackCounter"]

S = TypeVar("S")


@dataclass
class _Track:
    box: FaceBox
    hits: int = 1
    missed: int = 0
    person: int | None = None  # index of the person it counts as, once confirmed


@dataclass
class _Person(Generic[S]):
    signature: S | None = None  # the face it was counted with (None: not compared)


class TrackCounter(Generic[S]):
    def __init__(
        self,
        min_hits: int = 2,
        max_gap: int = 3,
        min_iou: float = 0.2,
        max_shift: float = 0.8,
        same: Callable[[S, S], bool] | None = None,
    ) -> None:
        if min_hits < 1 or max_gap < 0 or not 0.0 < min_iou <= 1.0 or max_shift <= 0:
            raise ValueError("min_hits >= 1, max_gap >= 0, 0 < min_iou <= 1, max_shift > 0")
        self.min_hits = min_hits
        self.max_gap = max_gap
        self.min_iou = min_iou
        self.max_shift = max_shift  # centre shift allowed, in face widths
        self.same = same  # "same person?" on two signatures; None: every track counts
        self._tracks: list[_Track] = []
        self._people: list[_Person[S]] = []
        self.frames = 0
        self.signed = 0  # signatures asked for (at most one per confirmed track)
        self.unsigned = 0  # confirmed tracks that could not be signed (counted)
        self.rejoined = 0  # confirmed tracks found to be someone already counted

    @property
    def people(self) -> int:
        """Distinct people counted so far (never decreases)."""
        return len(self._people)

    def update(
        self, boxes: Sequence[FaceBox], signature: Callable[[FaceBox], S | None] | None = None
    ) -> int:
        """Add one frame's face boxes; returns the number of people counted so far.

        ``signature`` signs a box of this frame (None: it cannot, e.g. a face too small);
        it is called only for a track reaching ``min_hits``, once per track."""
        self.frames += 1
        pairs = sorted(
            ((self._affinity(t.box, b), ti, bi)
             for ti, t in enumerate(self._tracks) for bi, b in enumerate(boxes)),
            reverse=True,
        )  # fmt: skip
        used_t: set[int] = set()
        used_b: set[int] = set()
        seen: list[_Track] = []
        for affinity, ti, bi in pairs:
            if affinity <= 0 or ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            track = self._tracks[ti]
            track.box, track.missed = boxes[bi], 0
            track.hits += 1
            seen.append(track)
        for ti, track in enumerate(self._tracks):
            if ti not in used_t:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_gap]
        for bi, box in enumerate(boxes):
            if bi not in used_b:
                track = _Track(box)
                self._tracks.append(track)
                seen.append(track)
        # Tracks already counted keep their person; two of them in view at once are two.
        in_view: set[int] = set()
        for track in seen:
            if track.person is not None:
                if track.person in in_view:
                    track.person = self._new_person(None)
                in_view.add(track.person)
        for track in seen:
            if track.person is None and track.hits >= self.min_hits:
                track.person = self._confirm(track, signature, in_view)
                in_view.add(track.person)
        return self.people

    def _confirm(
        self, track: _Track, signature: Callable[[FaceBox], S | None] | None, in_view: set[int]
    ) -> int:
        """The person a newly confirmed track counts as: someone counted earlier and out
        of view now whose signature is the same, else a new person."""
        if self.same is None or signature is None:
            return self._new_person(None)
        self.signed += 1
        mine = signature(track.box)
        if mine is None:
            # Too small or too poor to sign: counted as someone new. A face we cannot
            # compare may be a second person; a false REFER costs an agent's glance, a
            # missed tailgater is what the gate is for.
            self.unsigned += 1
            return self._new_person(None)
        for index, person in enumerate(self._people):
            # Compared with the signature the person was counted with, never with the
            # faces merged into it since: a growing set would loosen the test during
            # the opening and let a look-alike walking in behind be merged.
            if index in in_view or person.signature is None:
                continue
            if self.same(mine, person.signature):
                self.rejoined += 1
                return index
        return self._new_person(mine)

    def _new_person(self, signature: S | None) -> int:
        self._people.append(_Person(signature))
        return len(self._people) - 1

    def _affinity(self, old: FaceBox, new: FaceBox) -> float:
        """> 0 when ``new`` may be the same face as ``old``: overlap, else a near centre."""
        iou = old.iou(new)
        if iou >= self.min_iou:
            return 1.0 + iou
        width = max(old.width, new.width, 1)
        a, b = old.centre, new.centre
        shift = ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5 / width
        return max(0.0, 1.0 - shift / self.max_shift) if shift < self.max_shift else 0.0
