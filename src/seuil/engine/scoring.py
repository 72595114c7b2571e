"""From similarity scores to decisions people can reason about.

Thresholds on cosine similarity mean nothing to a head of school; false-match rates do.
This module turns one into the other:

* :class:`OperatingPoint` names a false-match rate ("FMR 1e-3": about one impostor in a
  thousand would be accepted).
* :class:`Calibration` maps FMRs to score thresholds for one engine configuration. It is
  built by :func:`calibrate` from genuine and impostor scores of a development set and
  saved as JSON. Between calibrated FMRs, thresholds are interpolated linearly in
  log10(FMR); outside the calibrated range they are refused (no extrapolation).
* :class:`DecisionBand` decides MATCH / REFER / NO_MATCH with a band of doubt referred
  to a human. The band is two thresholds, ``score >= match_threshold`` -> MATCH,
  ``score < refer_threshold`` -> NO_MATCH, in between -> REFER. It can be written as
  a threshold plus/minus a margin (:meth:`DecisionBand.around`) or, better, as two
  FMRs (:meth:`DecisionBand.from_operating_points`): *accept at FMR 1e-4, refer down
  to FMR 1e-2* means automatic acceptance is as strict as FMR 1e-4, and scores that
  would only be accepted at a looser FMR, down to 1e-2, are shown to the gate agent
  instead of being refused.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from seuil.domain.errors import ConfigurationError, DataFormatError
from seuil.engine.evaluation.metrics import fmr_key, min_impostors_for, operating_points

__all__ = [
    "CALIBRATION_GRID",
    "Calibration",
    "CalibrationPoint",
    "DecisionBand",
    "OperatingPoint",
    "Verdict",
    "calibrate",
    "load_default_calibration",
]

CALIBRATION_FORMAT = "seuil.calibration"
CALIBRATION_VERSION = 1
DEFAULT_CALIBRATION_RESOURCE = "calibration_dlib.json"
FUSED_CALIBRATION_RESOURCE = "calibration_dlib_fused.json"
# FMRs at which thresholds are stored (those with enough impostor scores are kept). It
# stops at 1e-5: below that, impostor scores drawn from a few thousand images (each
# reused in thousands of pairs) are too correlated for the rule of three to hold.
CALIBRATION_GRID: tuple[float, ...] = (
    1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5,
)  # fmt: skip

_ONE_IN = re.compile(r"^1\s*(?:in|/|:)\s*([\d_,\s]+)$", re.IGNORECASE)


class Verdict(StrEnum):
    """The outcome of a 1:1 comparison at the gate."""

    MATCH = "match"
    REFER = "refer"  # a human decides (the gate agent's visual check)
    NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """A false-match rate to operate at, e.g. ``OperatingPoint(1e-3)`` = "FMR 1e-3"."""

    fmr: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fmr) and 0.0 < self.fmr < 1.0):
            raise ConfigurationError(f"an FMR must be between 0 and 1 (exclusive), got {self.fmr}")

    @classmethod
    def parse(cls, text: str) -> OperatingPoint:
        """Read ``"FMR 1e-3"``, ``"1e-3"``, ``"0.001"``, ``"0.1%"`` or ``"1 in 1000"``."""
        raw = text.strip()
        body = re.sub(r"^fmr\s*[:=]?\s*", "", raw, flags=re.IGNORECASE)
        try:
            one_in = _ONE_IN.match(body)
            if one_in:
                return cls(1.0 / float(re.sub(r"[_,\s]", "", one_in.group(1))))
            if body.endswith("%"):
                return cls(float(body[:-1]) / 100.0)
            return cls(float(body))
        except (ValueError, ZeroDivisionError):
            raise ConfigurationError(
                f"cannot read an operating point from {text!r} "
                "(examples: 'FMR 1e-3', '0.001', '0.1%', '1 in 1000')"
            ) from None

    @property
    def key(self) -> str:
        """``"1e-3"``: the key used in reports and calibration files."""
        return fmr_key(self.fmr)

    @property
    def label(self) -> str:
        return f"FMR {self.key}"

    def describe(self) -> str:
        """``"FMR 1e-3: about 1 impostor in 1,000 accepted"``."""
        return f"{self.label}: about 1 impostor in {round(1.0 / self.fmr):,} accepted"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """The threshold giving ``fmr`` on the calibration data, and the FNMR seen there."""

    fmr: float
    threshold: float
    fnmr: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """FMR -> threshold for one engine configuration (``engine`` is its config key)."""

    engine: str
    points: tuple[CalibrationPoint, ...]
    genuine: int
    impostors: int
    source: str = ""

    def __post_init__(self) -> None:
        if not self.points:
            raise ConfigurationError("a calibration needs at least one point")
        ordered = tuple(sorted(self.points, key=lambda p: p.fmr))
        object.__setattr__(self, "points", ordered)
        thresholds = [p.threshold for p in ordered]
        if any(b > a for a, b in itertools.pairwise(thresholds)):
            raise ConfigurationError("calibration thresholds must fall as the FMR rises")

    @property
    def fmr_range(self) -> tuple[float, float]:
        return self.points[0].fmr, self.points[-1].fmr

    def threshold(self, point: OperatingPoint | float) -> float:
        """The score threshold for an FMR (interpolated in log-FMR between stored points)."""
        fmr = point.fmr if isinstance(point, OperatingPoint) else OperatingPoint(point).fmr
        low, high = self.fmr_range
        tolerance = 1e-9
        if not low * (1 - tolerance) <= fmr <= high * (1 + tolerance):
            raise ConfigurationError(
                f"FMR {fmr_key(fmr)} is outside the calibrated range "
                f"{fmr_key(low)} .. {fmr_key(high)} of engine {self.engine!r}"
            )
        x = np.log10([p.fmr for p in self.points])
        y = np.array([p.threshold for p in self.points])
        return float(np.interp(math.log10(fmr), x, y))

    def fmr_at(self, threshold: float) -> float:
        """The FMR a threshold corresponds to, clamped to the calibrated range."""
        # Thresholds fall as the FMR rises: interpolate on the reversed (ascending) table.
        x = np.array([p.threshold for p in reversed(self.points)])
        y = np.log10([p.fmr for p in reversed(self.points)])
        return float(10.0 ** np.interp(threshold, x, y))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "version": CALIBRATION_VERSION,
            "engine": self.engine,
            "source": self.source,
            "genuine": self.genuine,
            "impostors": self.impostors,
            "points": [
                {"fmr": p.fmr, "key": fmr_key(p.fmr), "threshold": p.threshold, "fnmr": p.fnmr}
                for p in self.points
            ],
        }

    @classmethod
    def from_dict(cls, data: object, origin: str = "calibration") -> Calibration:
        def bad(what: str) -> DataFormatError:
            return DataFormatError(f"{origin}: {what}")

        if not isinstance(data, dict):
            raise bad("expected a JSON object")
        if data.get("format") != CALIBRATION_FORMAT or data.get("version") != CALIBRATION_VERSION:
            raise bad(f"not a {CALIBRATION_FORMAT} file of version {CALIBRATION_VERSION}")
        try:
            points = tuple(
                CalibrationPoint(float(p["fmr"]), float(p["threshold"]), float(p["fnmr"]))
                for p in data["points"]
            )
            return cls(
                engine=str(data["engine"]),
                points=points,
                genuine=int(data["genuine"]),
                impostors=int(data["impostors"]),
                source=str(data.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"missing or invalid field ({exc!r})") from exc
        except ConfigurationError as exc:
            raise bad(exc.message) from exc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataFormatError(f"{path}: cannot read calibration ({exc})") from exc
        return cls.from_dict(data, str(path))


def calibrate(
    genuine: npt.ArrayLike,
    impostor: npt.ArrayLike,
    *,
    engine: str,
    source: str = "",
    grid: Sequence[float] = CALIBRATION_GRID,
) -> Calibration:
    """Thresholds at every FMR of ``grid`` that the impostor count can support (n >= 3/FMR).

    Failed comparisons should be passed as ``-inf`` genuine scores (they count against
    FNMR) and left out of the impostors.
    """
    n_impostors = np.asarray(impostor).size
    usable = [fmr for fmr in grid if n_impostors >= min_impostors_for(fmr)]
    if not usable:
        raise ValueError(
            f"{n_impostors} impostor scores are too few to calibrate any FMR of the grid"
        )
    results = operating_points(genuine, impostor, usable)
    points = tuple(CalibrationPoint(r.target, r.threshold, r.fnmr) for r in results)
    return Calibration(engine, points, results[0].genuine, n_impostors, source)


def load_default_calibration(fused: bool = False) -> Calibration:
    """The calibration shipped with seuil for the dlib ResNet embeddings.

    ``fused=True``: a multi-image template against a probe fused from several frames
    (what a gate compares); such scores need higher thresholds for the same FMR than one
    image against one image.
    """
    name = FUSED_CALIBRATION_RESOURCE if fused else DEFAULT_CALIBRATION_RESOURCE
    resource = resources.files("seuil.engine").joinpath(name)
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"the default calibration cannot be read ({exc})") from exc
    return Calibration.from_dict(data, name)


@dataclass(frozen=True, slots=True)
class DecisionBand:
    """MATCH at or above ``match_threshold``; NO_MATCH below ``refer_threshold``; else REFER.

    With ``refer_threshold == match_threshold`` there is no REFER band (a plain threshold).
    """

    match_threshold: float
    refer_threshold: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.match_threshold) and math.isfinite(self.refer_threshold)):
            raise ConfigurationError("decision thresholds must be finite numbers")
        if self.refer_threshold > self.match_threshold:
            raise ConfigurationError(
                "the REFER threshold must not be above the MATCH threshold "
                f"({self.refer_threshold} > {self.match_threshold})"
            )

    @classmethod
    def around(cls, threshold: float, margin: float = 0.0) -> DecisionBand:
        """MATCH above ``threshold + margin``, NO_MATCH below ``threshold - margin``."""
        if margin < 0:
            raise ConfigurationError(f"the REFER margin must be positive or zero, got {margin}")
        return cls(threshold + margin, threshold - margin)

    @classmethod
    def from_operating_points(
        cls,
        calibration: Calibration,
        accept: OperatingPoint,
        refer: OperatingPoint | None = None,
    ) -> DecisionBand:
        """Accept at ``accept`` FMR; refer to a human down to the ``refer`` FMR (looser).

        ``refer=None`` gives no REFER band.
        """
        refer = refer or accept
        if refer.fmr < accept.fmr:
            raise ConfigurationError(
                f"the REFER point ({refer.label}) must be looser than the MATCH point "
                f"({accept.label})"
            )
        return cls(calibration.threshold(accept), calibration.threshold(refer))

    def as_fmr(self, calibration: Calibration) -> tuple[float, float]:
        """The (MATCH, REFER) thresholds as FMRs of ``calibration`` (clamped to its range)."""
        return calibration.fmr_at(self.match_threshold), calibration.fmr_at(self.refer_threshold)

    def decide(self, score: float | None) -> Verdict:
        """The verdict for a similarity; ``None`` (no usable face) is referred to a human."""
        if score is None:
            return Verdict.REFER
        if math.isnan(score):
            raise ValueError("a similarity score is NaN")
        if score >= self.match_threshold:
            return Verdict.MATCH
        if score >= self.refer_threshold:
            return Verdict.REFER
        return Verdict.NO_MATCH
