"""Open-set 1:N identification benchmark on a folder in LFW layout.

* gallery: identities with at least 2 images (``max_gallery`` keeps an even spread);
* mated probes: the last image of gallery identities with at least 3 images;
* non-mated probes: the image of each identity with exactly one image (never enrolled);
* two enrolment settings on the same probes: ``single_image`` (the first image) and
  ``multi_image`` (up to K images, never the probe), fused by
  :func:`seuil.engine.templates.fuse_embeddings`.

Reports rank-1 and FNIR at FPIR 1e-2 / 1e-3 (see
:func:`seuil.engine.evaluation.metrics.open_set_identification`). A mated probe or a
gallery entry that cannot be encoded makes that search a miss; non-mated probes that
cannot be encoded are left out of FPIR (they are counted in the report).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from seuil.domain.errors import DataFormatError
from seuil.engine.evaluation.metrics import (
    DEFAULT_FPIR_TARGETS,
    IdentificationResult,
    open_set_identification,
)
from seuil.engine.evaluation.pairs import scan_identities
from seuil.engine.evaluation.verification import (
    EncoderFactory,
    EncodingCache,
    EncodingRun,
    ImageEncoding,
    Progress,
    encode_images,
    finite_or_none,
    pairwise_scores,
)
from seuil.engine.templates import fuse_embeddings

__all__ = [
    "IdentificationPlan",
    "IdentificationRun",
    "identification_report",
    "plan_identification",
    "run_identification",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IdentificationRun:
    gallery_identities: int
    gallery_images: int
    mated_probes: int
    non_mated_probes: int
    non_mated_failed: int
    failed_templates: dict[str, int]
    settings: dict[str, IdentificationResult]
    encoding: EncodingRun
    timings: dict[str, float]


def _evenly(items: Sequence[Any], count: int | None) -> list[Any]:
    """At most ``count`` items spread evenly through ``items`` (all when ``None``)."""
    if count is None or count >= len(items):
        return list(items)
    if count < 1:
        raise ValueError("a maximum must be at least 1")
    return [items[(i * len(items)) // count] for i in range(count)]


def _template(encodings: Sequence[ImageEncoding]) -> ImageEncoding:
    """The fused template of an identity's usable encodings (a failure if none)."""
    usable = [e for e in encodings if e.embedding is not None]
    if not usable:
        return ImageEncoding(None, 0.0)
    embeddings = np.stack([e.embedding for e in usable if e.embedding is not None])
    quality = float(np.mean([e.quality for e in usable]))
    return ImageEncoding(fuse_embeddings(embeddings, [e.quality for e in usable]), quality)


@dataclass(frozen=True, slots=True)
class IdentificationPlan:
    """Who is enrolled from which images, and which images search the gallery."""

    gallery: tuple[str, ...]
    single_enrol: dict[str, Path]
    multi_enrol: dict[str, tuple[Path, ...]]
    mated: tuple[tuple[int, Path], ...]  # (gallery index of the mate, probe image)
    non_mated: tuple[Path, ...]

    def images(self) -> list[Path]:
        enrolled = [p for imgs in self.multi_enrol.values() for p in imgs]
        enrolled += list(self.single_enrol.values())
        return enrolled + [p for _, p in self.mated] + list(self.non_mated)


def plan_identification(
    people: dict[str, tuple[Path, ...]],
    gallery_images: int = 5,
    max_gallery: int | None = None,
    max_non_mated: int | None = None,
) -> IdentificationPlan:
    """The protocol's choice of gallery, enrolment images and probes (module docstring)."""
    if gallery_images < 1:
        raise ValueError("the gallery needs at least 1 image per identity")
    gallery = _evenly([n for n, imgs in people.items() if len(imgs) >= 2], max_gallery)
    singles = _evenly([imgs[0] for imgs in people.values() if len(imgs) == 1], max_non_mated)
    mated = [(i, people[n][-1]) for i, n in enumerate(gallery) if len(people[n]) >= 3]
    if not gallery or not mated or not singles:
        raise DataFormatError(
            "identification needs identities with 3+ images (mated probes) "
            "and identities with one image (non-mated probes)"
        )
    # Never enrol the probe: identities with a mated probe enrol from their other images.
    pools = {n: people[n][:-1] if len(people[n]) >= 3 else people[n] for n in gallery}
    return IdentificationPlan(
        gallery=tuple(gallery),
        single_enrol={n: pool[0] for n, pool in pools.items()},
        multi_enrol={n: pool[:gallery_images] for n, pool in pools.items()},
        mated=tuple(mated),
        non_mated=tuple(singles),
    )


def run_identification(
    images_dir: Path,
    factory: EncoderFactory,
    *,
    gallery_images: int = 5,
    max_gallery: int | None = None,
    max_non_mated: int | None = None,
    workers: int = 1,
    cache: EncodingCache | None = None,
    targets: Sequence[float] = DEFAULT_FPIR_TARGETS,
    progress: Progress | None = None,
) -> IdentificationRun:
    """The open-set protocol described in the module docstring."""
    started = time.perf_counter()
    try:
        plan = plan_identification(
            scan_identities(images_dir), gallery_images, max_gallery, max_non_mated
        )
    except DataFormatError as exc:
        raise DataFormatError(f"{images_dir}: {exc.message}") from exc
    encoding = encode_images(
        plan.images(), factory, workers=workers, cache=cache, progress=progress
    )
    scoring_started = time.perf_counter()
    enc = encoding.encodings
    mate_index = np.array([i for i, _ in plan.mated])
    mated_probes = [enc[p] for _, p in plan.mated]
    non_mated = [enc[p] for p in plan.non_mated if enc[p].ok]
    galleries = {
        "single_image": [enc[plan.single_enrol[n]] for n in plan.gallery],
        "multi_image": [_template([enc[p] for p in plan.multi_enrol[n]]) for n in plan.gallery],
    }
    settings = {
        name: open_set_identification(
            pairwise_scores(mated_probes, gallery),
            mate_index,
            pairwise_scores(non_mated, gallery),
            targets,
        )
        for name, gallery in galleries.items()
    }
    return IdentificationRun(
        gallery_identities=len(plan.gallery),
        gallery_images=gallery_images,
        mated_probes=len(plan.mated),
        non_mated_probes=len(plan.non_mated),
        non_mated_failed=len(plan.non_mated) - len(non_mated),
        failed_templates={k: sum(not e.ok for e in g) for k, g in galleries.items()},
        settings=settings,
        encoding=encoding,
        timings={
            "encode_s": encoding.seconds,
            "score_s": time.perf_counter() - scoring_started,
            "total_s": time.perf_counter() - started,
        },
    )


def identification_report(run: IdentificationRun) -> dict[str, Any]:
    """The JSON-ready report of an identification run."""
    settings: dict[str, Any] = {}
    for name, result in run.settings.items():
        settings[name] = {
            "rank_1": result.rank_one,
            "fnir_at_fpir": {p.key: p.fnmr if p.estimable else None for p in result.at_fpir},
            "thresholds_at_fpir": {
                p.key: finite_or_none(p.threshold) if p.estimable else None for p in result.at_fpir
            },
            "operating_points": [
                {
                    "target_fpir": p.target,
                    "threshold": finite_or_none(p.threshold),
                    "observed_fpir": p.observed_fmr,
                    "fnir": p.fnmr,
                    "estimable": p.estimable,
                }
                for p in result.at_fpir
            ],
            "failed_templates": run.failed_templates[name],
        }
    enc = run.encoding
    return {
        "protocol": "identification",
        "engine": enc.config_key,
        "gallery_identities": run.gallery_identities,
        "gallery_images_per_identity": run.gallery_images,
        "mated_probes": run.mated_probes,
        "non_mated_probes": run.non_mated_probes,
        "non_mated_failed": run.non_mated_failed,
        "failure_to_enrol": enc.failure_to_enrol,
        "images": len(enc.encodings),
        "failed_images": enc.failed,
        "settings": settings,
        "cache": {"hits": enc.cache_hits, "computed": enc.computed},
        "timings": dict(run.timings),
    }
