"""1:1 verification benchmarks: encode images once (cached, in parallel), score, report.

Protocol (see ``seuil eval verification``):

* every image of the pair list is encoded once; a pair with an image that yields no
  usable face is a *failed* pair: a wrong decision for accuracy, a non-match (score
  ``-inf``) for FNMR, and left out of the impostor scores (so FMR is not flattered);
* accuracy follows LFW: a threshold fitted on 9 folds, accuracy on the 10th;
* FNMR at fixed FMR needs ``3 / FMR`` impostor scores; when the pair list has fewer and
  names its identities (LFW), every cross-identity pair of its images is an impostor;
* the multi-image setting fuses K enrolment images into a template and compares it with
  K probe images of the same person (mated) and of every other person (non-mated).

Encodings are cached on disk (one ``.npz`` per image, keyed by the engine's config key
and the file's path, size and mtime). The cache holds face templates of the benchmark
images: keep it on the evaluation machine, never with site data.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from seuil.domain.errors import DataFormatError, InvalidImageError
from seuil.engine.evaluation.metrics import (
    DEFAULT_FMR_TARGETS,
    KFoldResult,
    OperatingResult,
    Roc,
    fmr_key,
    kfold_accuracy,
    min_impostors_for,
    operating_points,
    roc,
)
from seuil.engine.evaluation.pairs import PairList, scan_identities
from seuil.engine.templates import ProbeFusion, fuse_embeddings, fused_score_matrix

__all__ = [
    "EncodedLike",
    "Encoder",
    "EncoderFactory",
    "EncodingCache",
    "EncodingRun",
    "ImageEncoding",
    "MultiImageResult",
    "Progress",
    "SettingResult",
    "VerificationResult",
    "cross_identity_scores",
    "default_workers",
    "encode_images",
    "finite_or_none",
    "pairwise_scores",
    "plot_det",
    "run_multi_image",
    "run_verification",
    "verification_report",
]

logger = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]
_BATCH = 16
_LOG_EVERY = 500


class EncodedLike(Protocol):
    """What an encoder returns for an image with a usable face."""

    @property
    def embedding(self) -> npt.NDArray[Any]: ...

    @property
    def quality(self) -> float: ...


class Encoder(Protocol):
    """The part of the face engine the benchmarks use."""

    def encode_path(self, path: Path) -> EncodedLike | None: ...

    def config_key(self) -> str: ...


# Worker processes build their own encoder: pass a picklable factory (a module-level
# function or class such as ``seuil.bootstrap.build_face_engine``), not an engine.
EncoderFactory = Callable[[], Encoder]


@dataclass(frozen=True, slots=True)
class ImageEncoding:
    """One image's unit embedding and quality; ``embedding is None`` = failure to enrol."""

    embedding: Vector | None
    quality: float = 0.0

    @property
    def ok(self) -> bool:
        return self.embedding is not None


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class EncodingCache:
    """Encodings on disk, one ``.npz`` per (config key, path, size, mtime)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, config_key: str, image: Path) -> Path:
        stat = image.stat()
        ident = f"{config_key}\0{image.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
        digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()
        return self.root / digest[:2] / f"{digest}.npz"

    def get(self, config_key: str, image: Path) -> ImageEncoding | None:
        """The cached encoding, or ``None`` when absent or unreadable."""
        try:
            with np.load(self._file(config_key, image), allow_pickle=False) as data:
                if not bool(data["ok"]):
                    return ImageEncoding(None, 0.0)
                return ImageEncoding(data["embedding"].astype(np.float32), float(data["quality"]))
        except (OSError, KeyError, ValueError):
            return None

    def put(self, config_key: str, image: Path, encoding: ImageEncoding) -> None:
        target = self._file(config_key, image)
        target.parent.mkdir(parents=True, exist_ok=True)
        embedding = encoding.embedding if encoding.embedding is not None else np.zeros(0)
        # Write then rename, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tmp", delete=False) as tmp:
            np.savez(tmp, embedding=embedding, quality=encoding.quality, ok=encoding.ok)
        os.replace(tmp.name, target)


@dataclass(frozen=True, slots=True)
class EncodingRun:
    """The encodings of a set of images and how they were obtained."""

    encodings: dict[Path, ImageEncoding]
    config_key: str
    cache_hits: int
    computed: int
    seconds: float

    @property
    def failed(self) -> int:
        return sum(not e.ok for e in self.encodings.values())

    @property
    def failure_to_enrol(self) -> float:
        return self.failed / len(self.encodings) if self.encodings else 0.0


def _encode_one(encoder: Encoder, image: Path) -> ImageEncoding:
    try:
        face = encoder.encode_path(image)
    except InvalidImageError:
        logger.warning("an image could not be decoded; counted as a failure to enrol")
        return ImageEncoding(None, 0.0)
    if face is None:
        return ImageEncoding(None, 0.0)
    vector = np.asarray(face.embedding, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        return ImageEncoding(None, 0.0)
    return ImageEncoding((vector / norm).astype(np.float32), float(face.quality))


_worker_encoder: Encoder | None = None


def _init_worker(factory: EncoderFactory) -> None:
    global _worker_encoder  # noqa: PLW0603 - one encoder per worker process
    _worker_encoder = factory()


def _encode_batch(images: list[Path]) -> tuple[str, list[ImageEncoding]]:
    if _worker_encoder is None:
        raise RuntimeError("the worker process has no encoder")
    return _worker_encoder.config_key(), [_encode_one(_worker_encoder, p) for p in images]


def _missing_images(images: Iterable[Path]) -> None:
    missing = [p for p in images if not p.is_file()]
    if missing:
        examples = ", ".join(str(p) for p in missing[:3])
        raise DataFormatError(f"{len(missing)} listed image(s) do not exist, e.g. {examples}")


def encode_images(
    images: Sequence[Path],
    factory: EncoderFactory,
    *,
    workers: int = 1,
    cache: EncodingCache | None = None,
    progress: Progress | None = None,
) -> EncodingRun:
    """Encode each distinct image once, reading and filling ``cache``.

    With ``workers > 1`` the images missing from the cache are encoded by that many
    processes, each building its own encoder with ``factory``.
    """
    started = time.perf_counter()
    unique = list(dict.fromkeys(images))
    _missing_images(unique)
    encoder = factory()
    key = encoder.config_key()
    results: dict[Path, ImageEncoding] = {}
    todo: list[Path] = []
    for image in unique:
        hit = cache.get(key, image) if cache else None
        if hit is None:
            todo.append(image)
        else:
            results[image] = hit
    hits = len(results)

    def record(batch: Sequence[Path], encodings: Sequence[ImageEncoding]) -> None:
        for image, encoding in zip(batch, encodings, strict=True):
            results[image] = encoding
            if cache:
                cache.put(key, image, encoding)
        if progress:
            progress(len(results), len(unique))
        if len(results) // _LOG_EVERY != (len(results) - len(batch)) // _LOG_EVERY:
            logger.info("encoded %d of %d images", len(results), len(unique))

    batches = [todo[i : i + _BATCH] for i in range(0, len(todo), _BATCH)]
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            record(batch, [_encode_one(encoder, p) for p in batch])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(batches)),
            mp_context=context,
            initializer=_init_worker,
            initargs=(factory,),
        ) as pool:
            futures = {pool.submit(_encode_batch, batch): batch for batch in batches}
            for future in as_completed(futures):
                worker_key, encodings = future.result()
                if worker_key != key:
                    raise RuntimeError("worker encoders disagree on the engine configuration")
                record(futures[future], encodings)
    ordered = {image: results[image] for image in unique}
    return EncodingRun(ordered, key, hits, len(todo), time.perf_counter() - started)


def _vector(encoding: ImageEncoding) -> Vector:
    if encoding.embedding is None:
        raise ValueError("this image has no embedding (failure to enrol)")
    return encoding.embedding


def pairwise_scores(rows: Sequence[ImageEncoding], cols: Sequence[ImageEncoding]) -> FloatArray:
    """Cosine scores of every row encoding with every column one; ``-inf`` where one failed."""
    row_ok = np.array([e.ok for e in rows], dtype=bool)
    col_ok = np.array([e.ok for e in cols], dtype=bool)
    full = np.full((len(rows), len(cols)), -np.inf)
    if row_ok.any() and col_ok.any():
        a = np.stack([_vector(e) for e in rows if e.ok]).astype(np.float64)
        b = np.stack([_vector(e) for e in cols if e.ok]).astype(np.float64)
        full[np.ix_(row_ok, col_ok)] = a @ b.T
    return full


def _score(a: ImageEncoding, b: ImageEncoding) -> float:
    if a.embedding is None or b.embedding is None:
        return float("-inf")
    return float(np.dot(a.embedding.astype(np.float64), b.embedding.astype(np.float64)))


def cross_identity_scores(
    encodings: Mapping[Path, ImageEncoding], identities: Mapping[Path, str], block: int = 1024
) -> FloatArray:
    """Scores of every pair of successfully encoded images of different identities."""
    images = [p for p in identities if p in encodings and encodings[p].ok]
    if len(images) < 2:
        return np.zeros(0)
    matrix = np.stack([_vector(encodings[p]) for p in images])
    _, labels = np.unique([identities[p] for p in images], return_inverse=True)
    counts = np.bincount(labels)
    n = len(images)
    total = n * (n - 1) // 2 - int(np.sum(counts * (counts - 1) // 2))
    out = np.empty(total, dtype=np.float64)
    filled = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        scores = matrix[start:stop] @ matrix.T
        rows = np.arange(start, stop)[:, None]
        keep = (np.arange(n)[None, :] > rows) & (labels[start:stop, None] != labels[None, :])
        chunk = scores[keep]
        out[filled : filled + chunk.size] = chunk
        filled += chunk.size
    return out


@dataclass(frozen=True, slots=True)
class SettingResult:
    """Genuine/impostor scores of one setting and its error rates."""

    genuine: FloatArray
    impostor: FloatArray
    points: tuple[OperatingResult, ...]
    roc: Roc

    @classmethod
    def of(
        cls, genuine: FloatArray, impostor: FloatArray, targets: Sequence[float]
    ) -> SettingResult:
        return cls(
            genuine,
            impostor,
            tuple(operating_points(genuine, impostor, targets)),
            roc(genuine, impostor),
        )


@dataclass(frozen=True, slots=True)
class MultiImageResult:
    """Template of K enrolment images vs K probe images, per fusion of the probe frames.

    ``settings`` holds ``"single"`` (first enrolment image vs first probe image),
    ``"mean"`` and ``"max"`` (see :mod:`seuil.engine.templates`).
    """

    enrol_images: int
    probe_images: int
    identities: int
    failed_templates: int
    failed_probes: int
    settings: dict[str, SettingResult]
    encoding: EncodingRun


@dataclass(frozen=True, slots=True)
class VerificationResult:
    pair_list: PairList
    encoding: EncodingRun
    scores: FloatArray
    same: npt.NDArray[np.bool_]
    failed: npt.NDArray[np.bool_]
    kfold: KFoldResult
    folds_source: str
    main: SettingResult
    impostor_source: str
    timings: dict[str, float]
    notes: tuple[str, ...] = ()
    multi: MultiImageResult | None = field(default=None)


def run_verification(
    pair_list: PairList,
    factory: EncoderFactory,
    *,
    workers: int = 1,
    cache: EncodingCache | None = None,
    targets: Sequence[float] = DEFAULT_FMR_TARGETS,
    folds: int = 10,
    progress: Progress | None = None,
) -> VerificationResult:
    """The pair-list protocol (see the module docstring)."""
    started = time.perf_counter()
    encoding = encode_images(
        pair_list.images(), factory, workers=workers, cache=cache, progress=progress
    )
    scoring_started = time.perf_counter()
    enc = encoding.encodings
    scores = np.array([_score(enc[p.path_a], enc[p.path_b]) for p in pair_list.pairs])
    same = np.array([p.same for p in pair_list.pairs], dtype=bool)
    failed = ~np.isfinite(scores)
    if same.all() or not same.any():
        raise DataFormatError(f"{pair_list.source}: needs both same- and different-person pairs")
    kfold = kfold_accuracy(scores, same, pair_list.folds, failed, k=folds)
    folds_source = "file" if pair_list.folds is not None else f"{folds} stratified folds"

    notes: list[str] = []
    impostor = scores[~same & ~failed]
    impostor_source = "pair_list"
    needed = min_impostors_for(min(targets))
    if impostor.size < needed:
        if pair_list.has_identities:
            impostor = cross_identity_scores(enc, pair_list.identities())
            impostor_source = "all_cross_identity_pairs"
            notes.append(
                f"the pair list has {int((~same & ~failed).sum())} usable impostor pairs, "
                f"fewer than the {needed} needed for FMR {fmr_key(min(targets))}: impostor scores "
                "are all cross-identity pairs among the pair list's images"
            )
        else:
            notes.append(
                "the pair list has too few impostor pairs for some FMRs and names no "
                "identities; those FNMR values are not estimable"
            )
    main = SettingResult.of(scores[same], impostor, targets)
    timings = {
        "encode_s": encoding.seconds,
        "score_s": time.perf_counter() - scoring_started,
        "total_s": time.perf_counter() - started,
    }
    return VerificationResult(
        pair_list,
        encoding,
        scores,
        same,
        failed,
        kfold,
        folds_source,
        main,
        impostor_source,
        timings,
        tuple(notes),
    )


def _probe_sets(
    encodings: Sequence[Sequence[ImageEncoding]],
) -> tuple[list[Vector], list[list[float]], npt.NDArray[np.bool_]]:
    """Per identity: stacked usable embeddings, their qualities, and whether any exists."""
    sets, qualities, ok = [], [], []
    for group in encodings:
        usable = [e for e in group if e.ok]
        ok.append(bool(usable))
        if usable:
            sets.append(np.stack([_vector(e) for e in usable]))
            qualities.append([e.quality for e in usable])
    return sets, qualities, np.array(ok, dtype=bool)


def _full_matrix(
    partial: FloatArray, row_ok: npt.NDArray[np.bool_], col_ok: npt.NDArray[np.bool_]
) -> FloatArray:
    full = np.full((row_ok.size, col_ok.size), -np.inf)
    full[np.ix_(row_ok, col_ok)] = partial
    return full


def _mated_and_non_mated(
    full: FloatArray, row_ok: npt.NDArray[np.bool_], col_ok: npt.NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """Diagonal = mated (``-inf`` if failed); off-diagonal cells with both sides usable."""
    genuine = np.diag(full).copy()
    usable = row_ok[:, None] & col_ok[None, :]
    np.fill_diagonal(usable, False)
    return genuine, full[usable]


def run_multi_image(
    images_dir: Path,
    factory: EncoderFactory,
    enrol_images: int,
    probe_images: int,
    *,
    workers: int = 1,
    cache: EncodingCache | None = None,
    targets: Sequence[float] = DEFAULT_FMR_TARGETS,
    progress: Progress | None = None,
) -> MultiImageResult:
    """Identities with >= enrol+probe images: template of the first ``enrol_images``
    vs the next ``probe_images`` (mated) and vs every other identity's probes."""
    if enrol_images < 1 or probe_images < 1:
        raise ValueError("enrolment and probe image counts must be at least 1")
    needed = enrol_images + probe_images
    people = [imgs for imgs in scan_identities(images_dir).values() if len(imgs) >= needed]
    if len(people) < 2:
        raise DataFormatError(f"{images_dir}: fewer than 2 identities have {needed} images")
    enrol = [imgs[:enrol_images] for imgs in people]
    probe = [imgs[enrol_images:needed] for imgs in people]
    encoding = encode_images(
        [p for group in enrol + probe for p in group],
        factory,
        workers=workers,
        cache=cache,
        progress=progress,
    )
    enc = encoding.encodings
    t_sets, t_quals, t_ok = _probe_sets([[enc[p] for p in g] for g in enrol])
    p_sets, p_quals, p_ok = _probe_sets([[enc[p] for p in g] for g in probe])
    if t_ok.sum() < 2 or p_ok.sum() < 2:
        raise DataFormatError(f"{images_dir}: fewer than 2 identities could be encoded")
    templates = np.stack([fuse_embeddings(s, q) for s, q in zip(t_sets, t_quals, strict=True)])
    settings: dict[str, SettingResult] = {}
    for fusion in (ProbeFusion.MEAN, ProbeFusion.MAX):
        partial = fused_score_matrix(templates, p_sets, p_quals, fusion)
        full = _full_matrix(partial, t_ok, p_ok)
        settings[fusion.value] = SettingResult.of(*_mated_and_non_mated(full, t_ok, p_ok), targets)
    # Baseline: one image each side (the first enrolment and first probe image).
    first_t = [enc[g[0]] for g in enrol]
    first_p = [enc[g[0]] for g in probe]
    full = pairwise_scores(first_t, first_p)
    ft_ok = np.array([e.ok for e in first_t])
    fp_ok = np.array([e.ok for e in first_p])
    settings["single"] = SettingResult.of(*_mated_and_non_mated(full, ft_ok, fp_ok), targets)
    return MultiImageResult(
        enrol_images,
        probe_images,
        len(people),
        int((~t_ok).sum()),
        int((~p_ok).sum()),
        settings,
        encoding,
    )


def finite_or_none(value: float) -> float | None:
    """JSON has no infinities: non-finite numbers become ``null``."""
    return float(value) if np.isfinite(value) else None


def _points_report(points: Sequence[OperatingResult], prefix: str = "fmr") -> dict[str, Any]:
    """``fnmr_at_fmr``/``thresholds_at_fmr`` maps (``null`` when not estimable) + details."""
    return {
        f"fnmr_at_{prefix}": {p.key: p.fnmr if p.estimable else None for p in points},
        f"thresholds_at_{prefix}": {
            p.key: finite_or_none(p.threshold) if p.estimable else None for p in points
        },
        "operating_points": [
            {
                "target": p.target,
                "threshold": finite_or_none(p.threshold),
                f"observed_{prefix}": p.observed_fmr,
                "fnmr" if prefix == "fmr" else "fnir": p.fnmr,
                "estimable": p.estimable,
                "needed_impostors": min_impostors_for(p.target),
            }
            for p in points
        ],
    }


def _encoding_report(run: EncodingRun) -> dict[str, Any]:
    return {
        "images": len(run.encodings),
        "failed_images": run.failed,
        "failure_to_enrol": run.failure_to_enrol,
        "cache_hits": run.cache_hits,
        "computed": run.computed,
        "encode_s": run.seconds,
    }


def _multi_report(multi: MultiImageResult) -> dict[str, Any]:
    best = min(
        ("mean", "max"),
        key=lambda name: sum(p.fnmr for p in multi.settings[name].points if p.estimable),
    )
    return {
        "enrol_images": multi.enrol_images,
        "probe_images": multi.probe_images,
        "identities": multi.identities,
        "failed_templates": multi.failed_templates,
        "failed_probes": multi.failed_probes,
        "mated": int(multi.settings["mean"].genuine.size),
        "non_mated": int(multi.settings["mean"].impostor.size),
        "best_probe_fusion": best,
        "settings": {name: _points_report(s.points) for name, s in multi.settings.items()},
        "encoding": _encoding_report(multi.encoding),
    }


def verification_report(result: VerificationResult) -> dict[str, Any]:
    """The JSON-ready report of a verification run."""
    enc = result.encoding
    report: dict[str, Any] = {
        "protocol": "verification",
        "engine": enc.config_key,
        "pairs_file": str(result.pair_list.source),
        "pairs": len(result.pair_list),
        "genuine_pairs": int(result.same.sum()),
        "impostor_pairs": int((~result.same).sum()),
        "folds": result.folds_source,
        "accuracy": result.kfold.mean,
        "accuracy_std": result.kfold.std,
        "accuracy_sem": result.kfold.sem,
        "fold_accuracies": list(result.kfold.fold_accuracies),
        **_points_report(result.main.points),
        "failure_to_enrol": enc.failure_to_enrol,
        "failed_images": enc.failed,
        "images": len(enc.encodings),
        "pairs_with_failure": int(result.failed.sum()),
        "genuine_scores": int(result.main.genuine.size),
        "impostor_scores": {
            "count": int(result.main.impostor.size),
            "source": result.impostor_source,
        },
        "cache": {"hits": enc.cache_hits, "computed": enc.computed},
        "timings": dict(result.timings),
        "notes": list(result.notes),
    }
    if result.multi is not None:
        report["multi_image"] = _multi_report(result.multi)
    return report


def plot_det(curves: Mapping[str, SettingResult], path: Path, title: str) -> None:
    """A DET plot (FNMR vs FMR, log axes) of each setting, and the first one's scores."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (det, hist) = plt.subplots(1, 2, figsize=(12, 5))
    try:
        for name, setting in curves.items():
            curve = setting.roc.downsampled()
            # Zero rates cannot sit on a log axis: draw them at half of one error.
            fmr = np.maximum(curve.fmr, 0.5 / max(setting.impostor.size, 1))
            floor = 0.5 / max(setting.genuine.size, 1)
            (line,) = det.step(fmr, np.maximum(curve.fnmr, floor), where="post", label=name)
            estimable = [p for p in setting.points if p.estimable]
            det.scatter(
                [p.target for p in estimable],
                [max(p.fnmr, floor) for p in estimable],
                s=20,
                color=line.get_color(),
                zorder=3,
            )
        first_name, first = next(iter(curves.items()))
        # Below 3 / (impostor count), an FMR cannot be estimated: shade that region.
        lowest = min(0.5 / max(c.impostor.size, 1) for c in curves.values())
        det.axvspan(lowest, 3.0 / max(first.impostor.size, 1), color="0.9", zorder=0)
        det.set(
            xscale="log",
            yscale="log",
            xlabel=f"FMR (grey: too few impostors to estimate, {first_name})",
            ylabel="FNMR (zero drawn at half an error)",
            title=title,
        )
        det.grid(True, which="both", alpha=0.3)
        det.legend()
        both = np.concatenate([first.genuine, first.impostor])
        both = both[np.isfinite(both)]
        bins = np.linspace(float(both.min()), float(both.max()), 101)
        for scores, label in ((first.genuine, "genuine"), (first.impostor, "impostor")):
            hist.hist(scores[np.isfinite(scores)], bins=bins, density=True, alpha=0.5, label=label)
        for point in first.points:
            if point.estimable:
                hist.axvline(point.threshold, linestyle="--", linewidth=0.8)
                hist.annotate(
                    f"FMR {point.key}",
                    (point.threshold, 0.0),
                    rotation=90,
                    fontsize=7,
                    xytext=(2, 4),
                    textcoords="offset points",
                )
        hist.set(xlabel="cosine similarity", ylabel="density", title="score distributions")
        hist.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
