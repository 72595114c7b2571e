"""Template quantisation: sizes, fidelity, and refusal of bytes that cannot be a template."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seuil.domain.errors import DataFormatError
from seuil.engine.quantise import QuantKind, check_quantised, dequantise, quantise

DIM = 128


def face_like(seed: int, count: int = 1) -> np.ndarray:
    """Unit vectors shaped like face embeddings: a shared offset plus per-face spread."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(0.0, 0.05, DIM)
    vecs = offset + rng.normal(0.0, 0.09, (count, DIM)) * rng.uniform(0.5, 1.5, DIM)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_sizes() -> None:
    vec = face_like(0)[0]
    assert len(quantise(vec, QuantKind.INT8)) == 4 + DIM
    assert len(quantise(vec, QuantKind.FLOAT16)) == 2 * DIM
    assert len(quantise(vec, QuantKind.FLOAT32)) == 4 * DIM


@pytest.mark.parametrize("seed", range(5))
def test_int8_round_trip_cosine(seed: int) -> None:
    for vec in face_like(seed, 200):
        back = dequantise(quantise(vec, QuantKind.INT8), QuantKind.INT8)
        assert back.dtype == np.float32 and back.shape == (DIM,)
        assert cosine(vec, back) >= 0.999


def test_float16_is_nearly_exact_and_float32_exact() -> None:
    for vec in face_like(11, 200):
        half = dequantise(quantise(vec, QuantKind.FLOAT16), QuantKind.FLOAT16)
        assert cosine(vec, half) >= 0.999999
        assert np.max(np.abs(half - vec)) < 1e-3
        full = dequantise(quantise(vec, QuantKind.FLOAT32), QuantKind.FLOAT32)
        np.testing.assert_allclose(full, vec.astype(np.float32), atol=1e-7)


def test_scores_barely_move() -> None:
    """A gate compares a carried template with a float32 probe: the score must not move."""
    enrolled, probes = face_like(21, 100), face_like(22, 100)
    exact = enrolled @ probes.T
    carried = np.stack([dequantise(quantise(v, QuantKind.INT8), QuantKind.INT8) for v in enrolled])
    assert np.max(np.abs(carried @ probes.T - exact)) < 0.005


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(list(QuantKind)))
def test_any_gaussian_vector_survives(seed: int, kind: QuantKind) -> None:
    vec = np.random.default_rng(seed).normal(size=DIM) * 10.0 ** np.random.default_rng(
        seed
    ).uniform(-3, 3)
    back = dequantise(quantise(vec, kind), kind)
    assert abs(float(np.linalg.norm(back)) - 1.0) < 1e-5
    assert cosine(vec, back) >= 0.999


@pytest.mark.parametrize("bad", [np.zeros(DIM), np.full(DIM, np.nan), np.array([])])
def test_unusable_vectors_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        quantise(bad, QuantKind.INT8)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", QuantKind.INT8),
        (b"\0\0\0\0", QuantKind.INT8),  # a scale and no values
        (b"\0" * 3, QuantKind.FLOAT16),
        (b"\0" * 6, QuantKind.FLOAT32),
        (b"", QuantKind.FLOAT16),
    ],
)
def test_wrong_sizes_are_refused(data: bytes, kind: QuantKind) -> None:
    with pytest.raises(DataFormatError):
        check_quantised(data, kind)
    with pytest.raises(DataFormatError):
        dequantise(data, kind)


def test_zero_or_non_finite_bytes_are_refused() -> None:
    with pytest.raises(DataFormatError):
        dequantise(b"\0" * (2 * DIM), QuantKind.FLOAT16)
    nan_scale = np.array([np.nan], "<f4").tobytes() + b"\1" * DIM
    with pytest.raises(DataFormatError):
        dequantise(nan_scale, QuantKind.INT8)
    negative_scale = np.array([-1.0], "<f4").tobytes() + b"\1" * DIM
    with pytest.raises(DataFormatError):
        dequantise(negative_scale, QuantKind.INT8)
