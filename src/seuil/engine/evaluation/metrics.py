"""Biometric error rates, pure numpy.

Conventions used throughout:

* a score is a similarity (higher = more likely the same person);
* a comparison is a **match** when ``score >= threshold``;
* FMR(t) = share of impostor scores ``>= t``; FNMR(t) = share of genuine scores ``< t``;
* a comparison that could not be made (failure to enrol / to acquire) is passed as
  ``-inf``: it never matches, so it counts as a non-match for FNMR.

An error rate ``r`` is only *estimable* from ``n`` impostor scores when ``n >= 3 / r``
(the "rule of three": with zero errors in ``n`` trials the 95 % upper bound of the rate
is about ``3 / n``). Results carry that flag instead of silently reporting noise.

Every function sorts each score array once and answers threshold queries with
``searchsorted``, so millions of impostor scores cost a sort.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_FMR_TARGETS",
    "DEFAULT_FPIR_TARGETS",
    "IdentificationResult",
    "KFoldResult",
    "OperatingResult",
    "Roc",
    "fmr_key",
    "kfold_accuracy",
    "min_impostors_for",
    "open_set_identification",
    "operating_points",
    "rank_one_and_mate_scores",
    "roc",
    "stratified_folds",
    "threshold_at_rate",
]

FloatArray = npt.NDArray[np.float64]
DEFAULT_FMR_TARGETS: tuple[float, ...] = (1e-2, 1e-3, 1e-4)
DEFAULT_FPIR_TARGETS: tuple[float, ...] = (1e-2, 1e-3)


def fmr_key(rate: float) -> str:
    """A short stable label for a rate: ``1e-3`` for 0.001, ``5e-4`` for 0.0005."""
    mantissa, exponent = f"{rate:.6e}".split("e")
    digits = mantissa.rstrip("0").rstrip(".")
    return f"{digits}e{int(exponent)}"


def min_impostors_for(rate: float) -> int:
    """How many impostor scores are needed to estimate ``rate`` (rule of three)."""
    if not 0.0 < rate < 1.0:
        raise ValueError(f"a rate must be in (0, 1), got {rate}")
    return math.ceil(3.0 / rate - 1e-9)


def _as_scores(values: npt.ArrayLike, what: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(array).any():
        raise ValueError(f"{what} contain NaN; pass -inf for failed comparisons")
    return array


def _share_at_or_above(sorted_scores: FloatArray, thresholds: FloatArray) -> FloatArray:
    """For ascending ``sorted_scores``: share of scores ``>= t`` for each threshold."""
    if sorted_scores.size == 0:
        return np.full(thresholds.shape, np.nan)
    below = np.searchsorted(sorted_scores, thresholds, side="left")
    return (sorted_scores.size - below) / sorted_scores.size


def threshold_at_rate(sorted_impostors: FloatArray, rate: float) -> float:
    """The lowest threshold whose false-match rate on ``sorted_impostors`` is ``<= rate``.

    ``sorted_impostors`` must be ascending. At most ``floor(rate * n)`` impostors may
    match, so the threshold sits just above the ``floor(rate * n) + 1``-th highest
    impostor score (ties push it higher, never lower).
    """
    n = sorted_impostors.size
    if n == 0:
        raise ValueError("no impostor scores")
    allowed = math.floor(rate * n + 1e-9)
    if allowed >= n:
        return float(sorted_impostors[0])
    pivot = float(sorted_impostors[n - allowed - 1])
    return float(np.nextafter(pivot, np.inf))


@dataclass(frozen=True, slots=True)
class Roc:
    """FMR and FNMR at every distinct score used as a threshold (ascending thresholds)."""

    thresholds: FloatArray
    fmr: FloatArray
    fnmr: FloatArray

    def downsampled(self, max_points: int = 2000) -> Roc:
        """At most about ``max_points`` points, spread evenly in log-FMR and log-FNMR.

        Keeps the low-FMR and low-FNMR tails that an even spread over thresholds would
        lose (those are the parts a DET plot shows).
        """
        size = self.thresholds.size
        if size <= max_points:
            return self
        half = max(max_points // 2, 2)
        # FMR falls and FNMR rises as thresholds rise.
        picks = [
            size - 1 - _log_spaced_indices(self.fmr[::-1], half),
            _log_spaced_indices(self.fnmr, half),
            np.array([0, size - 1]),
        ]
        idx = np.unique(np.concatenate(picks))
        return Roc(self.thresholds[idx], self.fmr[idx], self.fnmr[idx])


def _log_spaced_indices(ascending: FloatArray, count: int) -> npt.NDArray[np.int64]:
    """Indices where ``ascending`` reaches ``count`` log-spaced values of its positive range."""
    positive = ascending[ascending > 0]
    if positive.size == 0:
        return np.zeros(0, dtype=np.int64)
    grid = np.logspace(np.log10(positive[0]), np.log10(positive[-1]), count)
    idx = np.clip(np.searchsorted(ascending, grid, side="left"), 0, ascending.size - 1)
    return idx.astype(np.int64)


def roc(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> Roc:
    """FMR/FNMR over all distinct finite scores, plus a threshold above every score."""
    gen = np.sort(_as_scores(genuine, "genuine scores"))
    imp = np.sort(_as_scores(impostor, "impostor scores"))
    if gen.size == 0 or imp.size == 0:
        raise ValueError("a ROC needs at least one genuine and one impostor score")
    both = np.concatenate([gen, imp])
    finite = np.unique(both[np.isfinite(both)])
    top = np.nextafter(finite[-1], np.inf) if finite.size else 0.0
    thresholds = np.append(finite, top)
    fmr = _share_at_or_above(imp, thresholds)
    fnmr = 1.0 - _share_at_or_above(gen, thresholds)
    return Roc(thresholds, fmr, fnmr)


@dataclass(frozen=True, slots=True)
class OperatingResult:
    """FNMR at the threshold that gives a target FMR (or FNIR at a target FPIR).

    ``estimable`` is false when there are fewer than ``3 / target`` impostor scores; the
    numbers are then still filled in but must not be reported as that operating point.
    """

    target: float
    threshold: float
    observed_fmr: float
    fnmr: float
    impostors: int
    genuine: int
    estimable: bool

    @property
    def key(self) -> str:
        return fmr_key(self.target)


def operating_points(
    genuine: npt.ArrayLike,
    impostor: npt.ArrayLike,
    targets: Sequence[float] = DEFAULT_FMR_TARGETS,
) -> list[OperatingResult]:
    """FNMR at each target FMR, with the threshold used and whether it is estimable."""
    gen = np.sort(_as_scores(genuine, "genuine scores"))
    imp = np.sort(_as_scores(impostor, "impostor scores"))
    if gen.size == 0 or imp.size == 0:
        raise ValueError("operating points need genuine and impostor scores")
    results = []
    for target in targets:
        threshold = threshold_at_rate(imp, target)
        at = np.array([threshold])
        results.append(
            OperatingResult(
                target=target,
                threshold=threshold,
                observed_fmr=float(_share_at_or_above(imp, at)[0]),
                fnmr=float(1.0 - _share_at_or_above(gen, at)[0]),
                impostors=int(imp.size),
                genuine=int(gen.size),
                estimable=imp.size >= min_impostors_for(target),
            )
        )
    return results


def stratified_folds(same: npt.ArrayLike, k: int = 10) -> npt.NDArray[np.int64]:
    """Deterministic fold ids: each class is cut into ``k`` contiguous, near-equal blocks.

    Contiguous blocks (rather than round-robin) keep pairs of one person together when
    the list is sorted by name, as LFW's lists are, so folds overlap less in identity.
    """
    labels = np.asarray(same, dtype=bool).ravel()
    folds = np.empty(labels.size, dtype=np.int64)
    for cls in (True, False):
        idx = np.flatnonzero(labels == cls)
        if 0 < idx.size < k:
            raise ValueError(f"{k} folds need at least {k} pairs of each kind, got {idx.size}")
        folds[idx] = np.arange(idx.size) * k // max(idx.size, 1)
    return folds


def _best_threshold(scores: FloatArray, same: npt.NDArray[np.bool_]) -> float:
    """The threshold that maximises accuracy on (scores, same): midpoint of the best gap."""
    gen = np.sort(scores[same])
    imp = np.sort(scores[~same])
    finite = np.unique(scores[np.isfinite(scores)])
    if finite.size == 0:
        return 0.0
    candidates = np.append(finite, np.nextafter(finite[-1], np.inf))
    true_accepts = gen.size - np.searchsorted(gen, candidates, side="left")
    true_rejects = np.searchsorted(imp, candidates, side="left")
    best = int(np.argmax(true_accepts + true_rejects))
    if 0 < best < finite.size:
        return float((candidates[best - 1] + candidates[best]) / 2.0)
    return float(candidates[best])


@dataclass(frozen=True, slots=True)
class KFoldResult:
    """LFW-protocol accuracy: threshold fitted on k-1 folds, accuracy on the held-out one.

    ``std`` is the population standard deviation of the fold accuracies (as in the usual
    LFW evaluation code); ``sem`` is the standard error of the mean (LFW's README).
    """

    mean: float
    std: float
    sem: float
    fold_accuracies: tuple[float, ...]
    thresholds: tuple[float, ...]


def kfold_accuracy(
    scores: npt.ArrayLike,
    same: npt.ArrayLike,
    folds: npt.ArrayLike | None = None,
    failed: npt.ArrayLike | None = None,
    k: int = 10,
) -> KFoldResult:
    """Accuracy under the LFW protocol.

    ``folds`` gives each pair's fold (the file's folds); without it, :func:`stratified_folds`
    makes ``k``. Pairs flagged in ``failed`` (an image could not be encoded) are left out of
    threshold fitting and always count as wrong decisions in their test fold.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(same, dtype=bool).ravel()
    bad = np.zeros(s.size, bool) if failed is None else np.asarray(failed, bool).ravel()
    if not s.size == labels.size == bad.size:
        raise ValueError("scores, labels and failure flags must have the same length")
    if np.isnan(s[~bad]).any():
        raise ValueError("scores contain NaN outside failed pairs")
    fold_ids = stratified_folds(labels, k) if folds is None else np.asarray(folds).ravel()
    if fold_ids.size != s.size:
        raise ValueError("there must be one fold id per pair")
    unique_folds = np.unique(fold_ids)
    if unique_folds.size < 2:
        raise ValueError("k-fold accuracy needs at least two folds")
    accuracies, thresholds = [], []
    for fold in unique_folds:
        test = fold_ids == fold
        train = ~test & ~bad
        threshold = _best_threshold(s[train], labels[train])
        usable = test & ~bad
        correct = int(np.sum((s[usable] >= threshold) == labels[usable]))
        accuracies.append(correct / int(test.sum()))
        thresholds.append(threshold)
    acc = np.asarray(accuracies)
    return KFoldResult(
        mean=float(acc.mean()),
        std=float(acc.std()),
        sem=float(acc.std(ddof=1) / math.sqrt(acc.size)),
        fold_accuracies=tuple(float(a) for a in acc),
        thresholds=tuple(thresholds),
    )


def rank_one_and_mate_scores(
    scores: npt.ArrayLike, mate_index: npt.ArrayLike
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """For mated searches (one row per probe, one column per gallery entry).

    Returns whether the mate is the single best candidate (strictly above every other
    entry, and finite) and the mate's score. A failed probe or gallery entry is ``-inf``.
    """
    matrix = np.asarray(scores, dtype=np.float64)
    mates = np.asarray(mate_index, dtype=np.int64).ravel()
    if matrix.ndim != 2 or matrix.shape[0] != mates.size or matrix.shape[1] == 0:
        raise ValueError("mated scores must be (probes, gallery) with one mate index per probe")
    if mates.size and (mates.min() < 0 or mates.max() >= matrix.shape[1]):
        raise ValueError("a mate index is outside the gallery")
    rows = np.arange(mates.size)
    mate_scores = matrix[rows, mates]
    others = matrix.copy()
    others[rows, mates] = -np.inf
    best_other = others.max(axis=1) if matrix.shape[1] > 1 else np.full(mates.size, -np.inf)
    rank_one = np.isfinite(mate_scores) & (mate_scores > best_other)
    return rank_one, mate_scores


@dataclass(frozen=True, slots=True)
class IdentificationResult:
    """Open-set 1:N results.

    FNIR at a threshold is the share of mated searches whose mate is not the top
    candidate *or* scores below the threshold (a candidate list of length 1, as a gate
    that opens for the best candidate only). FPIR is the share of non-mated searches
    whose best candidate scores at or above the threshold. In each
    :class:`OperatingResult`, ``fnmr`` holds FNIR and ``observed_fmr`` holds FPIR.
    """

    rank_one: float
    mated: int
    non_mated: int
    at_fpir: tuple[OperatingResult, ...]


def open_set_identification(
    mated_scores: npt.ArrayLike,
    mate_index: npt.ArrayLike,
    non_mated_scores: npt.ArrayLike,
    targets: Sequence[float] = DEFAULT_FPIR_TARGETS,
) -> IdentificationResult:
    """Rank-1 identification rate and FNIR at each target FPIR."""
    rank_one, mate_scores = rank_one_and_mate_scores(mated_scores, mate_index)
    non_mated = np.asarray(non_mated_scores, dtype=np.float64)
    if non_mated.ndim != 2 or non_mated.shape[0] == 0 or non_mated.shape[1] == 0:
        raise ValueError("identification needs non-mated searches against a non-empty gallery")
    if mate_scores.size == 0:
        raise ValueError("identification needs mated searches")
    if np.isnan(non_mated).any() or np.isnan(mate_scores).any():
        raise ValueError("scores contain NaN; pass -inf for failures")
    # A mated search only succeeds at threshold t if the mate is rank 1 and scores >= t.
    effective = np.where(rank_one, mate_scores, -np.inf)
    best_non_mated = non_mated.max(axis=1)
    points = operating_points(effective, best_non_mated, targets)
    return IdentificationResult(
        rank_one=float(rank_one.mean()),
        mated=int(mate_scores.size),
        non_mated=int(best_non_mated.size),
        at_fpir=tuple(points),
    )
