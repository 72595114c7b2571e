"""Does carrying a quantised template on the credential cost accuracy? LFW View 1.

Usage::

    python benchmarks/quantisation_accuracy.py [--sets DevTest DevTrain] [--workers 2]

Every image of the pair lists is encoded once with ``seuil.bootstrap.build_face_engine()``
(the enrolment engine), cached in the same place as ``seuil eval verification``
(``$SEUIL_CACHE_DIR/eval-encodings``, else the user cache). Then, for each template
format, the enrolled side of each comparison (the first image of a pair) is quantised
and dequantised, the probe side stays float32, and we report:

* 10-fold accuracy (LFW protocol, stratified folds: View 1 files have none);
* FNMR at FMR 1e-3 and 1e-4, impostors = every cross-identity (enrolled, probe) pair of
  the list's images (ordered: each image is enrolled once and probed once);
* the cosine between each float32 template and its quantised copy, the largest change
  of a pair's score, and how many pair decisions change side at the thresholds fitted on
  float32 scores (accuracy moves in steps of 0.1 point on 1,000 pairs; flips do not).

The two View 1 files are reported one by one, then together (3,200 pairs, 10 folds).

The face data is read from the shared folder (``../shared`` or ``$SEUIL_SHARED_DIR``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import platformdirs

from seuil.bootstrap import build_face_engine
from seuil.engine.evaluation.metrics import kfold_accuracy, operating_points, stratified_folds
from seuil.engine.evaluation.pairs import PairList, load_pairs
from seuil.engine.evaluation.verification import EncodingCache, ImageEncoding, encode_images
from seuil.engine.quantise import QuantKind, dequantise, quantise
from seuil.shared_data import shared_dir

KINDS = (QuantKind.FLOAT32, QuantKind.FLOAT16, QuantKind.INT8)
TARGETS = (1e-3, 1e-4)


def _progress(done: int, total: int) -> None:
    if done == total or done % 200 == 0:
        print(f"  encoded {done}/{total}", file=sys.stderr, flush=True)


def encode(pairs: PairList, workers: int) -> dict[Path, ImageEncoding]:
    base = os.environ.get("SEUIL_CACHE_DIR") or platformdirs.user_cache_dir("seuil")
    cache = EncodingCache(Path(base) / "eval-encodings")
    run = encode_images(
        pairs.images(), build_face_engine, workers=workers, cache=cache, progress=_progress
    )
    print(
        f"  {len(run.encodings)} images ({run.cache_hits} cached, {run.computed} encoded "
        f"in {run.seconds:.0f} s, {run.failed} without a usable face)",
        file=sys.stderr,
    )
    return run.encodings


def evaluate(pairs: PairList, encodings: dict[Path, ImageEncoding]) -> dict[QuantKind, dict]:
    images = [p for p in pairs.images() if encodings[p].ok]
    index = {p: i for i, p in enumerate(images)}
    probes = np.stack([encodings[p].embedding for p in images]).astype(np.float64)
    names = pairs.identities()
    _, labels = np.unique([names[p] for p in images], return_inverse=True)
    different = labels[:, None] != labels[None, :]
    same = np.array([p.same for p in pairs.pairs], dtype=bool)
    usable = np.array([p.path_a in index and p.path_b in index for p in pairs.pairs])
    a_idx = np.array([index.get(p.path_a, 0) for p in pairs.pairs])
    b_idx = np.array([index.get(p.path_b, 0) for p in pairs.pairs])

    out: dict[QuantKind, dict] = {}
    reference = fold_thresholds = np.zeros(0)
    folds = stratified_folds(same, 10)
    for kind in KINDS:
        enrolled = np.stack([dequantise(quantise(v, kind), kind) for v in probes]).astype(
            np.float64
        )
        fidelity = np.sum(enrolled * probes, axis=1)
        scores = np.where(usable, np.sum(enrolled[a_idx] * probes[b_idx], axis=1), -np.inf)
        kfold = kfold_accuracy(scores, same, folds, failed=~usable)
        if kind is QuantKind.FLOAT32:
            reference = scores
            fold_thresholds = np.asarray(kfold.thresholds)[folds]
        flips = int(np.sum((scores >= fold_thresholds) != (reference >= fold_thresholds)))
        finite = usable & np.isfinite(reference)
        matrix = enrolled @ probes.T
        impostors: npt.NDArray[np.float64] = matrix[different]
        points = operating_points(scores[same], impostors, TARGETS)
        out[kind] = {
            "accuracy": kfold.mean,
            "sem": kfold.sem,
            "points": {p.key: (p.fnmr, p.estimable) for p in points},
            "impostors": impostors.size,
            "genuine": int(same.sum()),
            "fidelity_min": float(fidelity.min()),
            "fidelity_mean": float(fidelity.mean()),
            "bytes": len(quantise(probes[0], kind)),
            "flips": flips,
            "max_dscore": float(np.max(np.abs(scores[finite] - reference[finite]))),
        }
    return out


def report(title: str, results: dict[QuantKind, dict]) -> None:
    base = results[QuantKind.FLOAT32]
    print(
        f"\n{title}  ({base['genuine']:,} genuine pairs, "
        f"{base['impostors']:,} impostor comparisons)"
    )
    header = (
        f"{'template':<9} {'bytes':>5} {'accuracy %':>11} {'Δ points':>9} "
        f"{'FNMR@1e-3 %':>12} {'Δ':>7} {'FNMR@1e-4 %':>12} {'Δ':>7} {'min cos':>8} "
        f"{'max Δscore':>10} {'flips':>5}"
    )
    print(header)
    for kind, r in results.items():
        f3, f4 = r["points"]["1e-3"][0], r["points"]["1e-4"][0]
        b3, b4 = base["points"]["1e-3"][0], base["points"]["1e-4"][0]
        print(
            f"{kind.value:<9} {r['bytes']:>5} {100 * r['accuracy']:>11.2f} "
            f"{100 * (r['accuracy'] - base['accuracy']):>+9.2f} "
            f"{100 * f3:>12.2f} {100 * (f3 - b3):>+7.2f} "
            f"{100 * f4:>12.2f} {100 * (f4 - b4):>+7.2f} {r['fidelity_min']:>8.5f} "
            f"{r['max_dscore']:>10.5f} {r['flips']:>5}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["DevTest", "DevTrain"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = shared_dir()
    if root is None:
        print("the shared face data folder was not found (set SEUIL_SHARED_DIR)", file=sys.stderr)
        return 2
    lfw = root / "faces" / "lfw"
    lists, encodings = [], {}
    for name in args.sets:
        pairs = load_pairs(lfw / f"pairs{name}.txt", lfw / "images")
        print(f"{name}: {len(pairs)} pairs", file=sys.stderr)
        encodings.update(encode(pairs, args.workers))
        report(f"LFW View 1 {name}", evaluate(pairs, encodings))
        lists.append(pairs)
    if len(lists) > 1:
        both = PairList(lfw, tuple(p for pl in lists for p in pl.pairs))
        report(f"LFW View 1 {' + '.join(args.sets)}", evaluate(both, encodings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
