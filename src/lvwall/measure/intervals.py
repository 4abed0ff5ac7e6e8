"""Intervals that carry segmentation uncertainty into every reported number.

Each number is measured again on the masks that the model's probability map gives at
several thresholds (:data:`ENSEMBLE_THRESHOLDS`): where the network is unsure of the
border, the masks, and so the numbers, differ. This is a cheap stand-in for sampling
contours from a model of the segmentation's uncertainty and propagating them through the
measurement (Judge et al., "Uncertainty propagation for echocardiography clinical metric
estimation via contour sampling", 2025). The half-range ``s`` of those re-measurements says
how uncertain a number is, but not on which scale: thresholds do not see every error. So
the interval is ``estimate +- q (s + floor)`` (relative to the estimate for volumes), with
``q`` calibrated by split conformal prediction with normalised scores (Lei et al.,
"Distribution-free predictive inference for regression", JASA 113(523), 2018): on
recordings with a reference, ``q`` is the ceil((n + 1) 0.9)-th smallest of the scores
``|estimate - truth| / (s + floor)``, which gives intervals that cover the truth 90 % of
the time on recordings like those. :data:`SCALES` holds the values measured on phantom
recordings with known truth (``benchmarks/bench_measure.py --calibrate``, whose coverage
is checked on other phantom recordings) and, for GLS, on real CAMUS exams against the
experts' masks (``benchmarks/bench_measure_camus.py``); docs/measure.md has both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Probability thresholds whose masks re-measure each number.
ENSEMBLE_THRESHOLDS: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)
#: Nominal coverage of the intervals.
COVERAGE = 0.9
#: The numbers that get intervals; volumes are scaled relative to the estimate.
RELATIVE: frozenset[str] = frozenset({"edv", "esv"})
#: Added to the half-range: a relative 1 % for volumes, half a percentage point otherwise,
#: so that a number all thresholds agree on still gets an interval.
FLOORS: dict[str, float] = {
    "edv": 0.01,
    "esv": 0.01,
    "ef_percent": 0.5,
    "gls_percent": 0.5,
    "strain_percent": 0.5,
}
#: Conformal scale ``q`` of each number: ``benchmarks/bench_measure.py --calibrate`` on the
#: 30 recordings of ``lvwall simulate --recordings 30 --seed 11`` segmented by the bundled
#: model (29 with a complete cycle; strain pools the six segments), except GLS. GLS's
#: intervals covered 69 % of real patients' experts' GLS at the phantom's 3.002, so its
#: ``q`` comes from real exams: ``benchmarks/bench_measure_camus.py`` on the out-of-fold
#: A4C and A2C GLS of 123 CAMUS patients (246 numbers; EF gives 10.05 there, as on the
#: phantom).
SCALES: dict[str, float] = {
    "edv": 6.910,
    "esv": 3.612,
    "ef_percent": 9.995,
    "gls_percent": 5.113,
    "strain_percent": 6.215,
}


@dataclass(frozen=True)
class Interval:
    """A reported number's interval [low, high] and the re-measurements it came from."""

    low: float
    high: float
    ensemble: tuple[float, ...]

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


def too_few_members_reason(members: int, walls: str) -> str | None:
    """Why ``members`` re-measurements give no interval (at least two are needed), or
    ``None``; ``walls`` names what had to split at each threshold."""
    if members >= 2:
        return None
    return (
        f"{walls} split at only {members} of the probability thresholds "
        f"{ENSEMBLE_THRESHOLDS}, too few to measure their spread"
    )


def _check_kind(kind: str) -> None:
    if kind not in FLOORS:
        raise ValueError(f"unknown number {kind!r}; choose one of {sorted(FLOORS)}")


def half_width_unit(kind: str, estimate: float, ensemble: Sequence[float]) -> float:
    """``s + floor`` of a number: what ``q`` multiplies (in the number's own unit)."""
    _check_kind(kind)
    values = np.asarray(ensemble, dtype=float)
    if values.size < 2 or not np.isfinite(values).all():
        raise ValueError(f"need at least two finite re-measurements, got {list(ensemble)}")
    spread = (values.max() - values.min()) / 2.0
    if kind in RELATIVE:
        return abs(estimate) * (spread / max(abs(estimate), 1e-12) + FLOORS[kind])
    return spread + FLOORS[kind]


def interval(kind: str, estimate: float, ensemble: Sequence[float]) -> Interval:
    """The calibrated interval of ``estimate`` from its re-measurements ``ensemble``."""
    half = SCALES[kind] * half_width_unit(kind, estimate, ensemble)
    return Interval(estimate - half, estimate + half, tuple(float(v) for v in ensemble))


def normalised_error(kind: str, estimate: float, ensemble: Sequence[float], truth: float) -> float:
    """The conformal score ``|estimate - truth| / (s + floor)`` of one number."""
    return abs(estimate - truth) / half_width_unit(kind, estimate, ensemble)


def conformal_scale(scores: Sequence[float], coverage: float = COVERAGE) -> float:
    """The ceil((n + 1) coverage)-th smallest score: the split-conformal ``q`` (Lei 2018)."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    ordered = np.sort(np.asarray(scores, dtype=float))
    rank = math.ceil((len(ordered) + 1) * coverage)
    if rank > len(ordered):
        raise ValueError(
            f"{len(ordered)} scores are too few for {coverage:.0%} coverage; need at least "
            f"{math.ceil(coverage / (1.0 - coverage))}"
        )
    return float(ordered[rank - 1])
