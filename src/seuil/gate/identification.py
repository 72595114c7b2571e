"""The identification step of a 1:N gate: a fused probe against the site gallery.

Stricter than verification on purpose: the best score must reach the identification
band's MATCH threshold (an FMR at most the gate's ``identification_accept_fmr``,
1e-5 by default, against 1e-4 for 1:1) **and** lead the second best by ``margin``;
otherwise the gate agent decides (REFER). Below the REFER threshold nobody is
identified (REFER ``person_not_found``, no person named). The candidate is then
checked again in the database (:meth:`IdentificationGallery.confirm`): a revoked,
erased or withdrawn person is refused whatever the cache holds.
"""

from __future__ import annotations

from seuil.domain.gate import FaceVerdict
from seuil.engine.pipeline import Vector
from seuil.engine.scoring import DecisionBand
from seuil.gate.pipeline import Identification
from seuil.services.identification import IdentificationGallery

__all__ = ["GalleryIdentifier"]


class GalleryIdentifier:
    def __init__(
        self, gallery: IdentificationGallery, band: DecisionBand, margin: float = 0.02
    ) -> None:
        if not 0.0 <= margin < 1.0:
            raise ValueError("the identification margin is between 0 and 1")
        self.gallery = gallery
        self.band = band
        self.margin = margin

    def identify(self, probe: Vector) -> Identification:
        found = self.gallery.search(probe)
        if found.best_ref is None or found.best < self.band.refer_threshold:
            return Identification(None, found.best if found.best_ref else None, None)
        verdict = FaceVerdict(self.band.decide(found.best).value)
        if verdict is FaceVerdict.MATCH and found.margin < self.margin:
            verdict = FaceVerdict.REFER  # two people too close to tell apart: a human decides
        return Identification(self.gallery.confirm(found.best_ref), found.best, verdict)
