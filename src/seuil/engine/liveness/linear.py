"""A small linear scorer (L2-regularised, class-balanced logistic regression), pure numpy.

Enough for a handful of hand-made features; scikit-learn would add a large dependency for
a dozen lines of Newton's method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LinearScorer:
    """``score(x) = x . weights + bias`` (a logit: > 0 leans live, < 0 leans attack)."""

    weights: FloatArray
    bias: float

    def score(self, features: npt.ArrayLike) -> FloatArray:
        x = np.asarray(features, dtype=np.float64)
        return np.atleast_1d(x @ self.weights + self.bias)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": [float(w) for w in self.weights], "bias": float(self.bias)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearScorer:
        return cls(np.asarray(data["weights"], dtype=np.float64), float(data["bias"]))


def fit_logistic(
    features: npt.ArrayLike,
    labels: npt.ArrayLike,
    l2: float = 10.0,
    iterations: int = 50,
) -> LinearScorer:
    """Fit a logistic regression (label 1 = live) by Newton's method.

    Features are standardised for the fit (the penalty then treats them alike) and the
    result is mapped back to raw features. Both classes weigh the same in total, so the
    natural threshold 0 sits between them whatever their counts.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64).ravel()
    if x.ndim != 2 or x.shape[0] != y.size:
        raise ValueError("features must be (n, d) with one label per row")
    positives = float(y.sum())
    if positives in (0.0, float(y.size)):
        raise ValueError("a fit needs examples of both classes")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((x.shape[0], 1))])
    sample_weight = np.where(y == 1, 0.5 / positives, 0.5 / (y.size - positives)) * y.size
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not penalised
    w = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30.0, 30.0)))
        gradient = z.T @ (sample_weight * (p - y)) + penalty * w
        hessian = (z * (sample_weight * p * (1.0 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian + 1e-9 * np.eye(z.shape[1]), gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    raw = w[:-1] / scale
    return LinearScorer(raw, float(w[-1] - raw @ mean))
