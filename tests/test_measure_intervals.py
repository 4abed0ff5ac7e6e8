"""Conformal intervals from re-measurements at several thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.measure import intervals
from lvwall.measure.intervals import (
    FLOORS,
    conformal_scale,
    half_width_unit,
    interval,
    normalised_error,
)


@pytest.mark.parametrize(
    ("scores", "coverage", "expected"),
    [
        # n = 9: the ceil(10 x 0.9) = 9th smallest.
        (range(1, 10), 0.9, 9.0),
        # n = 19: the 18th smallest.
        (range(19, 0, -1), 0.9, 18.0),
        # n = 4 at 50 %: the ceil(2.5) = 3rd smallest.
        ([0.4, 0.1, 0.3, 0.2], 0.5, 0.3),
    ],
)
def test_conformal_scale_is_the_finite_sample_quantile(scores, coverage, expected) -> None:
    assert conformal_scale(list(scores), coverage) == pytest.approx(expected)


def test_too_few_scores_for_the_coverage_are_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        conformal_scale([1.0] * 8, 0.9)


@pytest.mark.parametrize(
    ("kind", "estimate", "ensemble", "expected"),
    [
        ("ef_percent", 50.0, [48.0, 50.0, 52.0], 2.0 + FLOORS["ef_percent"]),
        ("strain_percent", -20.0, [-20.0, -20.0], FLOORS["strain_percent"]),
        # Volumes: relative half-range plus a relative floor, times the estimate.
        ("edv", 100.0, [95.0, 105.0], 100.0 * (0.05 + FLOORS["edv"])),
    ],
)
def test_half_width_unit(kind: str, estimate: float, ensemble, expected: float) -> None:
    assert half_width_unit(kind, estimate, ensemble) == pytest.approx(expected)


def test_interval_is_the_estimate_plus_minus_the_scaled_half_width(monkeypatch) -> None:
    monkeypatch.setitem(intervals.SCALES, "gls_percent", 2.0)
    found = interval("gls_percent", -18.0, [-19.0, -17.0])
    half = 2.0 * (1.0 + FLOORS["gls_percent"])
    assert (found.low, found.high) == pytest.approx((-18.0 - half, -18.0 + half))
    assert found.covers(-18.0) and not found.covers(-18.0 + half + 0.01)
    assert found.ensemble == (-19.0, -17.0)


def test_normalised_error_inverts_the_half_width() -> None:
    score = normalised_error("ef_percent", 50.0, [49.0, 51.0], 53.0)
    assert score == pytest.approx(3.0 / (1.0 + FLOORS["ef_percent"]))


@pytest.mark.parametrize(
    ("kind", "ensemble", "message"),
    [
        ("speed", [1.0, 2.0], "unknown number"),
        ("ef_percent", [1.0], "at least two"),
        ("ef_percent", [1.0, np.nan], "finite"),
    ],
)
def test_bad_arguments_raise_value_error(kind: str, ensemble, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        half_width_unit(kind, 1.0, ensemble)
