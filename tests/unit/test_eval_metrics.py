"""Biometric metrics (hand-computed cases and properties) and the evaluation protocols
(verification, multi-image, identification) run with a fake encoder."""

from __future__ import annotations

import itertools
import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seuil.domain.errors import DataFormatError
from seuil.engine.evaluation import metrics as m
from seuil.engine.evaluation.identification import (
    identification_report,
    plan_identification,
    run_identification,
)
from seuil.engine.evaluation.pairs import load_pairs, scan_identities
from seuil.engine.evaluation.verification import (
    EncodingCache,
    ImageEncoding,
    cross_identity_scores,
    encode_images,
    plot_det,
    run_multi_image,
    run_verification,
    verification_report,
)

# ---------------------------------------------------------------------------------------
# Hand-computed cases

GEN = [0.9, 0.8, 0.7, 0.4]
IMP = [0.1, 0.2, 0.3, 0.5, 0.75]


def test_fmr_key_and_needed_impostors() -> None:
    assert [m.fmr_key(r) for r in (1e-2, 1e-3, 1e-4, 5e-4, 0.25)] == [
        "1e-2",
        "1e-3",
        "1e-4",
        "5e-4",
        "2.5e-1",
    ]
    assert [m.min_impostors_for(r) for r in (1e-2, 1e-3, 1e-4)] == [300, 3000, 30000]
    with pytest.raises(ValueError):
        m.min_impostors_for(0.0)


def test_roc_by_hand() -> None:
    curve = m.roc(GEN, IMP)
    at = {
        round(float(t), 6): (f, n)
        for t, f, n in zip(curve.thresholds, curve.fmr, curve.fnmr, strict=True)
    }
    assert at[0.5] == (pytest.approx(2 / 5), pytest.approx(1 / 4))
    assert at[0.75] == (pytest.approx(1 / 5), pytest.approx(2 / 4))
    assert at[0.1] == (1.0, 0.0)
    # The last threshold is above every score: nothing matches.
    assert (curve.fmr[-1], curve.fnmr[-1]) == (0.0, 1.0)


def test_threshold_at_rate_by_hand() -> None:
    imp = np.sort(np.array(IMP))
    t = m.threshold_at_rate(imp, 0.2)  # one impostor (0.75) may match
    assert 0.5 < t < 0.5 + 1e-12
    assert m.threshold_at_rate(imp, 0.1) > 0.75  # none may match
    assert 0.3 < m.threshold_at_rate(imp, 0.4) < 0.5  # two may match
    # Ties push the threshold up, never below the allowed count.
    assert m.threshold_at_rate(np.array([0.1, 0.5, 0.5, 0.5]), 0.5) > 0.5


def test_operating_points_by_hand() -> None:
    (point,) = m.operating_points(GEN, IMP, [0.2])
    assert point.fnmr == pytest.approx(0.25)  # 0.4 falls below a threshold just above 0.5
    assert point.observed_fmr == pytest.approx(0.2)
    assert (point.impostors, point.genuine, point.key) == (5, 4, "2e-1")
    assert not point.estimable  # 5 impostors < 3 / 0.2


def test_estimable_needs_three_over_fmr_impostors() -> None:
    rng = np.random.default_rng(0)
    enough = m.operating_points([1.0], rng.random(300), [1e-2])[0]
    too_few = m.operating_points([1.0], rng.random(299), [1e-2])[0]
    assert enough.estimable
    assert not too_few.estimable


def test_failed_genuine_comparisons_count_as_non_matches() -> None:
    (point,) = m.operating_points([0.9, -np.inf], np.linspace(0, 0.5, 300), [1e-2])
    assert point.fnmr == 0.5


def test_nan_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        m.roc([0.5, np.nan], [0.1])


def test_kfold_accuracy_by_hand() -> None:
    scores = [0.9, 0.6, 0.5, 0.7, 0.8, 0.4, 0.3, 0.2]
    same = [True, True, False, False, True, True, False, False]
    folds = [0, 0, 0, 0, 1, 1, 1, 1]
    result = m.kfold_accuracy(scores, same, folds)
    # Fold 0 tested with the threshold fitted on fold 1: midpoint of 0.3 and 0.4.
    # Fold 1 tested with the threshold fitted on fold 0: midpoint of 0.5 and 0.6.
    assert result.thresholds == pytest.approx((0.35, 0.55))
    assert result.fold_accuracies == pytest.approx((0.5, 0.75))
    assert result.mean == pytest.approx(0.625)
    assert result.std == pytest.approx(0.125)
    assert result.sem == pytest.approx(0.125)


def test_kfold_failed_pairs_are_wrong_even_for_impostors() -> None:
    scores = np.r_[np.linspace(0.6, 0.9, 10), np.linspace(0.0, 0.3, 10)]
    same = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    failed = np.zeros(20, bool)
    failed[15] = True
    scores[15] = -np.inf  # an impostor pair whose image had no face: still a wrong decision
    result = m.kfold_accuracy(scores, same, failed=failed)
    assert result.mean == pytest.approx(0.95)
    assert sorted(result.fold_accuracies)[0] == pytest.approx(0.5)


def test_stratified_folds() -> None:
    folds = m.stratified_folds([True] * 10 + [False] * 20, k=10)
    assert np.array_equal(np.bincount(folds[:10]), np.ones(10))
    assert np.array_equal(np.bincount(folds[10:]), 2 * np.ones(10))
    assert np.array_equal(folds[10:12], [0, 0])  # contiguous blocks
    with pytest.raises(ValueError, match="at least 10"):
        m.stratified_folds([True] * 9 + [False] * 20, k=10)


def test_open_set_identification_by_hand() -> None:
    ninf = -np.inf
    mated = np.array(
        [
            [0.9, 0.2, 0.1],  # mate 0 first: hit at 0.9
            [0.95, 0.8, 0.1],  # mate 1 beaten by entry 0: miss at any threshold
            [ninf, ninf, ninf],  # failed probe: miss
            [0.1, 0.2, 0.52],  # mate 2 first but just above 0.5
        ]
    )
    non_mated = np.full((300, 3), 0.1)
    non_mated[:, 0] = 0.5
    non_mated[:3, 1] = 0.55  # three false positives above 0.5 allowed at FPIR 1e-2
    result = m.open_set_identification(mated, [0, 1, 2, 2], non_mated, [1e-2, 1e-3])
    assert result.rank_one == 0.5
    assert (result.mated, result.non_mated) == (4, 300)
    at_1e2, at_1e3 = result.at_fpir
    assert 0.5 < at_1e2.threshold < 0.52
    assert at_1e2.observed_fmr == pytest.approx(0.01)
    assert at_1e2.fnmr == 0.5
    assert at_1e2.estimable
    assert at_1e3.threshold > 0.55  # nothing may pass: 0.52 now misses too
    assert at_1e3.fnmr == 0.75
    assert not at_1e3.estimable  # 300 non-mated searches < 3000


def test_rank_one_ties_are_not_hits() -> None:
    hits, scores = m.rank_one_and_mate_scores([[0.5, 0.5]], [0])
    assert not hits[0]
    assert scores[0] == 0.5
    with pytest.raises(ValueError):
        m.rank_one_and_mate_scores([[0.5, 0.5]], [2])


# ---------------------------------------------------------------------------------------
# Properties

scores_st = st.lists(
    st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)
rates_st = st.lists(st.floats(1e-4, 0.9), min_size=1, max_size=6)


@settings(deadline=None)
@given(scores_st, scores_st, rates_st)
def test_fnmr_and_threshold_fall_as_fmr_rises(
    gen: list[float], imp: list[float], rates: list[float]
) -> None:
    points = m.operating_points(gen, imp, sorted(rates))
    for low, high in itertools.pairwise(points):
        assert high.threshold <= low.threshold
        assert high.fnmr <= low.fnmr


@settings(deadline=None)
@given(scores_st, st.floats(1e-4, 0.9))
def test_threshold_is_the_lowest_meeting_the_rate(imp: list[float], rate: float) -> None:
    sorted_imp = np.sort(np.array(imp))
    t = m.threshold_at_rate(sorted_imp, rate)
    assert np.mean(sorted_imp >= t) <= rate
    lower = sorted_imp[sorted_imp < t]
    if lower.size:  # any lower threshold lets one more impostor in and breaks the rate
        assert np.mean(sorted_imp >= lower.max()) > rate


@settings(deadline=None)
@given(scores_st, scores_st)
def test_roc_matches_brute_force(gen: list[float], imp: list[float]) -> None:
    curve = m.roc(gen, imp)
    g, i = np.array(gen), np.array(imp)
    for t, fmr, fnmr in zip(curve.thresholds, curve.fmr, curve.fnmr, strict=True):
        assert fmr == pytest.approx(np.mean(i >= t))
        assert fnmr == pytest.approx(np.mean(g < t))
    assert np.all(np.diff(curve.fmr) <= 0)
    assert np.all(np.diff(curve.fnmr) >= 0)


@settings(deadline=None)
@given(
    st.lists(st.floats(0.0, 0.49), min_size=10, max_size=40),
    st.lists(st.floats(0.51, 1.0), min_size=10, max_size=40),
)
def test_perfectly_separable_scores_have_accuracy_one(imp: list[float], gen: list[float]) -> None:
    # Every score appears in two different folds, so every training set sees the extremes
    # of both classes and the fitted threshold falls in the gap between them.
    k = 10
    fold_g = np.arange(len(gen)) % k
    fold_i = np.arange(len(imp)) % k
    scores = np.r_[gen, gen, imp, imp]
    same = np.r_[np.ones(2 * len(gen), bool), np.zeros(2 * len(imp), bool)]
    folds = np.r_[fold_g, (fold_g + 1) % k, fold_i, (fold_i + 1) % k]
    result = m.kfold_accuracy(scores, same, folds)
    assert result.mean == 1.0
    assert result.std == 0.0


def test_separable_scores_can_still_err_on_a_held_out_extreme() -> None:
    # The LFW protocol fits the threshold without the test fold: a held-out impostor at
    # 0.4 lies above the midpoint (0.375) of the training gap [0.0, 0.75].
    scores = [1.0] * 9 + [0.75] + [0.0] * 9 + [0.4]
    same = [True] * 10 + [False] * 10
    folds = [*range(9), 0, *range(9), 9]
    result = m.kfold_accuracy(scores, same, folds)
    assert result.fold_accuracies[9] == 0.0
    assert result.thresholds[9] == pytest.approx(0.375)


@settings(deadline=None)
@given(
    st.lists(st.integers(0, 64), min_size=20, max_size=60),
    st.lists(st.booleans(), min_size=20, max_size=60),
)
def test_accuracy_is_invariant_to_increasing_transforms(raw: list[int], labels: list[bool]) -> None:
    n = min(len(raw), len(labels))
    scores = np.array(raw[:n], dtype=float) / 8.0
    same = np.array(labels[:n])
    if min(same.sum(), (~same).sum()) < 10:
        return
    a = m.kfold_accuracy(scores, same)
    b = m.kfold_accuracy(3.0 * scores + 0.5, same)
    assert a.fold_accuracies == b.fold_accuracies
    assert 0.0 <= a.mean <= 1.0


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_identification_fnir_falls_as_fpir_rises(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mated = rng.random((20, 8))
    mates = rng.integers(0, 8, 20)
    result = m.open_set_identification(mated, mates, rng.random((50, 8)), [0.02, 0.1, 0.5])
    fnir = [p.fnmr for p in result.at_fpir]
    assert fnir == sorted(fnir, reverse=True)
    assert 1.0 - result.rank_one <= fnir[-1]  # a threshold can only add misses to rank-1


def test_downsampled_roc_keeps_ends_and_tails() -> None:
    rng = np.random.default_rng(1)
    curve = m.roc(rng.normal(2, 1, 20_000), rng.normal(0, 1, 200_000))
    small = curve.downsampled(500)
    assert small.thresholds.size <= 502
    assert small.thresholds[0] == curve.thresholds[0]
    assert small.thresholds[-1] == curve.thresholds[-1]
    assert np.all(np.isin(small.thresholds, curve.thresholds))
    positive = curve.fmr[curve.fmr > 0].min()
    assert positive in small.fmr  # the low-FMR tail survives


# ---------------------------------------------------------------------------------------
# Protocols with a fake encoder (images are empty files; the identity is the folder name)


@dataclass(frozen=True)
class FakeFace:
    embedding: np.ndarray
    quality: float


class FakeEncoder:
    """Identity direction + small per-file noise; files named *noface* have no face."""

    def __init__(self, key: str = "fake-v1") -> None:
        self.key = key

    def config_key(self) -> str:
        return self.key

    def encode_path(self, path: Path) -> FakeFace | None:
        if "noface" in path.name:
            return None
        base = np.random.default_rng(zlib.crc32(path.parent.name.encode())).normal(size=32)
        noise = np.random.default_rng(zlib.crc32(path.name.encode())).normal(size=32)
        vector = base / np.linalg.norm(base) + 0.05 * noise / np.linalg.norm(noise)
        return FakeFace(vector.astype(np.float32), 0.9)


class CountingEncoder(FakeEncoder):
    calls = 0

    def encode_path(self, path: Path) -> FakeFace | None:
        CountingEncoder.calls += 1
        return super().encode_path(path)


def make_tree(root: Path, counts: dict[str, int], noface: tuple[str, ...] = ()) -> Path:
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(1, count + 1):
            file = f"{name}_{i:04d}.jpg"
            if file in noface:
                file = f"{name}_{i:04d}_noface.jpg"
            (folder / file).write_bytes(b"")
    return root


PEOPLE = {"Ann": 4, "Bob": 3, "Cid": 2, "Dee": 2, "Eve": 1, "Fay": 1, "Gus": 1}


def test_encode_images_uses_the_cache(tmp_path: Path) -> None:
    images = make_tree(tmp_path / "img", {"Ann": 3, "Bob": 2}, noface=("Bob_0002.jpg",))
    paths = sorted(images.rglob("*.jpg"))
    cache = EncodingCache(tmp_path / "cache")
    CountingEncoder.calls = 0
    first = encode_images(paths + paths[:1], CountingEncoder, cache=cache)
    assert CountingEncoder.calls == 5  # each distinct image once
    assert (first.computed, first.cache_hits, first.failed) == (5, 0, 1)
    second = encode_images(paths, CountingEncoder, cache=cache)
    assert CountingEncoder.calls == 5
    assert (second.computed, second.cache_hits, second.failed) == (0, 5, 1)
    for path in paths:
        a, b = first.encodings[path], second.encodings[path]
        assert a.ok == b.ok
        if a.embedding is not None and b.embedding is not None:
            assert np.array_equal(a.embedding, b.embedding)
            assert b.quality == pytest.approx(0.9)
    # A changed file, or another engine configuration, misses the cache.
    os.utime(paths[0], ns=(1, 1))
    assert encode_images(paths, CountingEncoder, cache=cache).computed == 1
    assert encode_images(paths, lambda: FakeEncoder("other"), cache=cache).computed == 5


def test_corrupt_cache_entries_are_recomputed(tmp_path: Path) -> None:
    images = make_tree(tmp_path / "img", {"Ann": 1})
    path = next(images.rglob("*.jpg"))
    cache = EncodingCache(tmp_path / "cache")
    cache.put("k", path, ImageEncoding(np.ones(4, np.float32), 0.5))
    for file in (tmp_path / "cache").rglob("*.npz"):
        file.write_bytes(b"not a zip")
    assert cache.get("k", path) is None


def test_missing_images_are_reported(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="1 listed image"):
        encode_images([tmp_path / "nope.jpg"], FakeEncoder)


def test_parallel_encoding_matches_serial(tmp_path: Path) -> None:
    images = make_tree(tmp_path / "img", {f"P{i}": 10 for i in range(4)})
    paths = sorted(images.rglob("*.jpg"))
    serial = encode_images(paths, FakeEncoder, workers=1)
    parallel = encode_images(paths, FakeEncoder, workers=2)
    assert list(parallel.encodings) == paths
    for path in paths:
        a, b = serial.encodings[path].embedding, parallel.encodings[path].embedding
        assert a is not None and b is not None
        assert np.array_equal(a, b)


def write_pairs(path: Path, same: list[str], different: list[str]) -> Path:
    assert len(same) == len(different)
    path.write_text("\n".join([str(len(same)), *same, *different]) + "\n")
    return path


def test_verification_protocol(tmp_path: Path) -> None:
    counts = {f"P{i:02d}": 3 for i in range(12)}
    images = make_tree(tmp_path / "img", counts)
    same = [f"P{i:02d}\t1\t2" for i in range(12)]
    different = [f"P{i:02d}\t3\tP{(i + 1) % 12:02d}\t3" for i in range(12)]
    pair_list = load_pairs(write_pairs(tmp_path / "pairs.txt", same, different), images)

    class Renamed(FakeEncoder):  # P00_0002 has no face
        def encode_path(self, path: Path) -> FakeFace | None:
            return None if path.name == "P00_0002.jpg" else super().encode_path(path)

    result = run_verification(pair_list, Renamed, folds=4)
    report = verification_report(result)
    json.dumps(report, allow_nan=False)
    assert report["pairs"] == 24
    assert report["images"] == 36
    assert report["failed_images"] == 1
    assert report["failure_to_enrol"] == pytest.approx(1 / 36)
    assert report["pairs_with_failure"] == 1
    # The failed genuine pair is a wrong decision; everything else is separable.
    assert report["accuracy"] == pytest.approx(1 - (1 / 6) / 4)
    # 12 impostor pairs are too few: all cross-identity pairs of the 35 encoded images.
    assert report["impostor_scores"] == {
        "count": 35 * 34 // 2 - 11 * 3 - 1,
        "source": "all_cross_identity_pairs",
    }
    assert report["genuine_scores"] == 12
    assert report["fnmr_at_fmr"]["1e-2"] == pytest.approx(1 / 12)  # the failed pair
    assert report["fnmr_at_fmr"]["1e-4"] is None  # 561 impostors cannot support 1e-4
    assert report["thresholds_at_fmr"]["1e-4"] is None
    assert report["notes"]
    plot = tmp_path / "det.png"
    plot_det({"pairs": result.main}, plot, "test")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cross_identity_scores_by_hand() -> None:
    e = {Path(n): ImageEncoding(np.array(v, np.float32), 1.0) for n, v in
         (("a1", [1, 0]), ("a2", [0.6, 0.8]), ("b1", [0, 1]), ("c1", [-1, 0]))}  # fmt: skip
    e[Path("c2")] = ImageEncoding(None, 0.0)
    ids = {Path("a1"): "a", Path("a2"): "a", Path("b1"): "b", Path("c1"): "c", Path("c2"): "c"}
    scores = cross_identity_scores(e, ids, block=2)
    # a1-b1 0, a1-c1 -1, a2-b1 .8, a2-c1 -.6, b1-c1 0 (c2 failed, a1-a2 same person)
    assert sorted(scores.tolist()) == pytest.approx([-1.0, -0.6, 0.0, 0.0, 0.8])


def test_verification_csv_without_identities_keeps_pair_list_impostors(tmp_path: Path) -> None:
    images = make_tree(tmp_path / "img", {f"P{i}": 2 for i in range(10)})
    rows = [f"P{i}/P{i}_0001.jpg,P{i}/P{i}_0002.jpg,Yes" for i in range(10)]
    rows += [f"P{i}/P{i}_0001.jpg,P{(i + 1) % 10}/P{(i + 1) % 10}_0002.jpg,No" for i in range(10)]
    csv = tmp_path / "pairs.csv"
    csv.write_text("file_x,file_y,Decision\n" + "\n".join(rows) + "\n")
    report = verification_report(run_verification(load_pairs(csv, images), FakeEncoder))
    assert report["accuracy"] == 1.0
    assert report["impostor_scores"] == {"count": 10, "source": "pair_list"}
    assert report["fnmr_at_fmr"] == {"1e-2": None, "1e-3": None, "1e-4": None}
    assert report["operating_points"][0]["fnmr"] == 0.0


def test_multi_image_protocol(tmp_path: Path) -> None:
    counts = {f"P{i:02d}": 4 for i in range(8)} | {"Few": 3}
    images = make_tree(tmp_path / "img", counts, noface=("P01_0003.jpg",))
    result = run_multi_image(images, FakeEncoder, 2, 2)
    assert result.identities == 8  # "Few" has fewer than 2 + 2 images
    assert (result.failed_templates, result.failed_probes) == (0, 0)
    assert set(result.settings) == {"single", "mean", "max"}
    for setting in (result.settings["mean"], result.settings["max"]):
        assert setting.genuine.size == 8
        assert setting.impostor.size == 8 * 7
        assert np.isfinite(setting.genuine).all()
        assert setting.genuine.min() > setting.impostor.max()
    # P01's first probe image has no face: the single-image baseline fails there.
    assert np.isinf(result.settings["single"].genuine).sum() == 1
    assert result.settings["single"].impostor.size == 7 * 7


def test_identification_plan_never_enrols_the_probe() -> None:
    people = {
        name: tuple(Path(name) / f"{i}.jpg" for i in range(count))
        for name, count in {"A": 7, "B": 3, "C": 2, "D": 1, "E": 1}.items()
    }
    plan = plan_identification(people, gallery_images=5)
    assert plan.gallery == ("A", "B", "C")
    assert plan.mated == ((0, Path("A/6.jpg")), (1, Path("B/2.jpg")))
    assert plan.non_mated == (Path("D/0.jpg"), Path("E/0.jpg"))
    assert plan.multi_enrol["A"] == tuple(Path("A") / f"{i}.jpg" for i in range(5))
    assert plan.multi_enrol["B"] == (Path("B/0.jpg"), Path("B/1.jpg"))
    assert plan.multi_enrol["C"] == (Path("C/0.jpg"), Path("C/1.jpg"))
    assert plan.single_enrol == {"A": Path("A/0.jpg"), "B": Path("B/0.jpg"), "C": Path("C/0.jpg")}
    probes = {p for _, p in plan.mated}
    assert not probes & {p for imgs in plan.multi_enrol.values() for p in imgs}
    small = plan_identification(people, gallery_images=1, max_gallery=2, max_non_mated=1)
    assert len(small.gallery) == 2
    assert len(small.non_mated) == 1
    with pytest.raises(DataFormatError):
        plan_identification({"A": people["A"]})


def test_identification_protocol(tmp_path: Path) -> None:
    images = make_tree(tmp_path / "img", PEOPLE, noface=("Fay_0001.jpg",))
    run = run_identification(images, FakeEncoder, gallery_images=2)
    report = identification_report(run)
    json.dumps(report, allow_nan=False)
    assert report["gallery_identities"] == 4
    assert report["mated_probes"] == 2
    assert report["non_mated_probes"] == 3
    assert report["non_mated_failed"] == 1
    for name in ("single_image", "multi_image"):
        setting = report["settings"][name]
        assert setting["rank_1"] == 1.0
        assert setting["fnir_at_fpir"] == {"1e-2": None, "1e-3": None}  # 2 searches: too few
        assert setting["operating_points"][0]["fnir"] == 0.0
    assert scan_identities(images)["Ann"][-1].name == "Ann_0004.jpg"


def test_math_sanity_of_sem() -> None:
    result = m.kfold_accuracy([0.9, 0.1, 0.8, 0.2, 0.7, 0.3], [True, False] * 3, [0, 0, 1, 1, 2, 2])
    assert result.sem == pytest.approx(result.std * math.sqrt(3 / 2) / math.sqrt(3))
