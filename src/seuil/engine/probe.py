"""A probe from several frames of the same person: keep the best, embed, fuse."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from seuil.engine.pipeline import FaceAnalysis, FaceEngine, Vector
from seuil.engine.templates import fuse_embeddings
from seuil.ports.face import RGBImage


@dataclass(frozen=True, slots=True)
class ProbeResult:
    embedding: Vector | None
    frames_seen: int
    frames_with_face: int
    used: tuple[FaceAnalysis, ...]


def probe_from_frames(
    engine: FaceEngine, frames: Iterable[RGBImage], *, top_k: int = 5
) -> ProbeResult:
    """Fuse the ``top_k`` best-quality faces (the main face of each frame)."""
    best: list[tuple[float, int, FaceAnalysis]] = []
    seen = with_face = 0
    for i, frame in enumerate(frames):
        seen += 1
        faces = engine.analyse(frame)
        if not faces:
            continue
        with_face += 1
        item = (faces[0].quality.score, i, faces[0])
        if len(best) < top_k:
            heapq.heappush(best, item)
        else:
            heapq.heappushpop(best, item)
    if not best:
        return ProbeResult(None, seen, with_face, ())
    chosen = sorted(best, reverse=True)
    weights = np.array([q for q, _, _ in chosen], dtype=np.float32)
    embedding = fuse_embeddings(engine.embed_faces([a for _, _, a in chosen]), weights)
    return ProbeResult(embedding, seen, with_face, tuple(a for _, _, a in chosen))
