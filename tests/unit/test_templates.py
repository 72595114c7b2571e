"""Enrolment templates (quality-weighted fusion) and probe-frame fusion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seuil.engine.templates import (
    DEFAULT_PROBE_FUSION,
    ProbeFusion,
    fuse_embeddings,
    fused_score_matrix,
    normalise,
    probe_score,
)


def test_fusion_by_hand() -> None:
    # Unit vectors along x and y with weights 3:1 -> direction (3, 1) / sqrt(10).
    fused = fuse_embeddings([[2.0, 0.0], [0.0, 5.0]], [0.75, 0.25])
    assert fused.dtype == np.float32
    assert fused == pytest.approx(np.array([3.0, 1.0]) / np.sqrt(10.0))


def test_embeddings_are_normalised_before_weighting() -> None:
    # A long vector must not outweigh a short one: equal weights -> the bisector.
    fused = fuse_embeddings([[100.0, 0.0], [0.0, 0.01]])
    assert fused == pytest.approx(np.array([1.0, 1.0]) / np.sqrt(2.0))


def test_quality_weights_are_clipped_and_zero_falls_back_to_uniform() -> None:
    same_as_uniform = fuse_embeddings([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
    assert same_as_uniform == pytest.approx(np.array([1.0, 1.0]) / np.sqrt(2.0))
    clipped = fuse_embeddings([[1.0, 0.0], [0.0, 1.0]], [5.0, -2.0])  # -> weights 1, 0
    assert clipped == pytest.approx([1.0, 0.0])


@pytest.mark.parametrize(
    ("embeddings", "qualities", "message"),
    [
        ([[1.0, 0.0], [0.0, 0.0]], None, "zero"),
        ([[1.0, np.nan]], None, "not finite"),
        ([[1.0, 0.0], [-1.0, 0.0]], None, "cancel"),
        ([[1.0, 0.0]], [0.5, 0.5], "qualities"),
        ([[1.0, 0.0]], [np.nan], "NaN"),
    ],
)
def test_fusion_errors(
    embeddings: list[list[float]], qualities: list[float] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fuse_embeddings(embeddings, qualities)


unit_rows = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.just(8)),
    elements=st.floats(-1.0, 1.0, allow_nan=False),
).filter(lambda a: bool(np.all(np.linalg.norm(a, axis=1) > 0.1)))


@settings(deadline=None)
@given(unit_rows, st.lists(st.floats(0.01, 1.0), min_size=6, max_size=6))
def test_template_is_unit_length_and_order_free(rows: np.ndarray, qualities: list[float]) -> None:
    q = qualities[: rows.shape[0]]
    try:
        fused = fuse_embeddings(rows, q)
    except ValueError:  # the rows cancel out: nothing to check
        return
    assert float(np.linalg.norm(fused)) == pytest.approx(1.0, abs=1e-5)
    reordered = fuse_embeddings(rows[::-1], q[::-1])
    assert reordered == pytest.approx(fused, abs=1e-5)


@settings(deadline=None)
@given(unit_rows)
def test_fusing_one_embedding_returns_it_normalised(rows: np.ndarray) -> None:
    assert fuse_embeddings(rows[:1]) == pytest.approx(normalise(rows[:1])[0], abs=1e-6)


def test_probe_score_mean_and_max_by_hand() -> None:
    template = [1.0, 0.0]
    frames = [[1.0, 0.0], [0.0, 1.0]]
    assert probe_score(template, frames, fusion=ProbeFusion.MAX) == pytest.approx(1.0)
    assert probe_score(template, frames, fusion=ProbeFusion.MEAN) == pytest.approx(1 / np.sqrt(2))
    weighted = probe_score(template, frames, [1.0, 0.0], fusion=ProbeFusion.MEAN)
    assert weighted == pytest.approx(1.0)


@pytest.mark.parametrize("fusion", list(ProbeFusion))
def test_score_matrix_matches_probe_score(fusion: ProbeFusion) -> None:
    rng = np.random.default_rng(3)
    templates = normalise(rng.normal(size=(4, 16)))
    probe_sets = [rng.normal(size=(n, 16)) for n in (1, 3, 2)]
    qualities = [rng.random(len(s)) for s in probe_sets]
    matrix = fused_score_matrix(templates, probe_sets, qualities, fusion)
    assert matrix.shape == (4, 3)
    for i, template in enumerate(templates):
        for j, (frames, q) in enumerate(zip(probe_sets, qualities, strict=True)):
            assert matrix[i, j] == pytest.approx(probe_score(template, frames, q, fusion), abs=1e-5)
    assert fused_score_matrix(templates, []).shape == (4, 0)


def test_the_default_probe_fusion_is_the_measured_winner() -> None:
    # MEAN beat MAX on LFW (see the module docstring and the evaluation report).
    assert DEFAULT_PROBE_FUSION is ProbeFusion.MEAN
