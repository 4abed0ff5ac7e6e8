"""Tests for lvwall.experiment.stats: summaries, the paired Wilcoxon test and the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lvwall.experiment.stats import (
    PairedTest,
    format_p,
    paired_wilcoxon,
    summarise,
    verdict,
)


@pytest.mark.parametrize(
    ("values", "t_quantile"),
    [
        # t(0.975, df) from printed tables (e.g. Student's t table in any statistics text).
        ([0.70, 0.80, 0.90], 4.303),
        ([0.81, 0.83, 0.79, 0.88, 0.85], 2.776),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 2.228),
    ],
)
def test_summary_equals_hand_computed_t_interval(values: list[float], t_quantile: float) -> None:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile * std / math.sqrt(n)

    summary = summarise(values)

    assert summary.n == n
    assert summary.mean == pytest.approx(mean)
    assert summary.std == pytest.approx(std)
    # The table's t-quantiles have 3 decimals; the bound moves by at most 5e-4 * s / sqrt(n).
    tolerance = 6e-4 * std / math.sqrt(n)
    assert summary.ci_low == pytest.approx(mean - half, abs=tolerance)
    assert summary.ci_high == pytest.approx(mean + half, abs=tolerance)
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(values))
    assert (summary.ci_low, summary.ci_high) == pytest.approx((low, high))


@pytest.mark.parametrize(
    ("values", "n", "mean", "std_is_nan"),
    [
        ([], 0, math.nan, True),
        ([0.5], 1, 0.5, True),
        ([0.5, math.nan, 0.7], 2, 0.6, False),
    ],
)
def test_summary_edge_cases(values: list[float], n: int, mean: float, std_is_nan: bool) -> None:
    summary = summarise(values)
    assert summary.n == n
    assert summary.mean == pytest.approx(mean, nan_ok=True)
    assert math.isnan(summary.std) == std_is_nan
    assert math.isnan(summary.ci_low) == std_is_nan


def test_summary_to_dict_writes_nan_as_none() -> None:
    assert summarise([0.5]).to_dict() == {
        "n": 1,
        "mean": 0.5,
        "std": None,
        "ci_low": None,
        "ci_high": None,
    }


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_summary_rejects_bad_confidence(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        summarise([1.0, 2.0], confidence)


_RNG = np.random.default_rng(3)
_A = np.round(_RNG.uniform(0.6, 0.9, 30), 2)
_B = np.round(_RNG.uniform(0.6, 0.9, 30), 2)
_B[0] = _A[0]
PAIRS = [
    # Small samples: scipy's exact distribution.
    (
        np.array([0.80, 0.82, 0.77, 0.91, 0.85, 0.79]),
        np.array([0.78, 0.83, 0.70, 0.88, 0.80, 0.75]),
    ),
    # Larger, with ties in |difference| and a zero difference that is dropped.
    (_A, _B),
    (np.arange(12, dtype=float), np.arange(12, dtype=float) + 0.5),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_paired_wilcoxon_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    expected = stats.wilcoxon(a, b, zero_method="wilcox")

    test = paired_wilcoxon(a, b)

    assert test.n == len(a)
    assert test.statistic == pytest.approx(expected.statistic)
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.mean_difference == pytest.approx(np.mean(a - b))
    assert test.median_difference == pytest.approx(np.median(a - b))


def test_paired_wilcoxon_drops_pairs_with_a_missing_value() -> None:
    a = np.array([1.0, 2.0, math.nan, 4.0, 5.0, 6.5, 7.0])
    b = np.array([1.5, 2.2, 3.0, math.nan, 5.9, 6.0, 7.8])
    kept = ~(np.isnan(a) | np.isnan(b))

    test = paired_wilcoxon(a, b)

    assert test.n == int(kept.sum())
    assert test.p_value == pytest.approx(stats.wilcoxon(a[kept], b[kept]).pvalue)


@pytest.mark.parametrize(
    ("a", "b", "n", "p_value"),
    [
        ([0.8, 0.7, 0.9], [0.8, 0.7, 0.9], 3, 1.0),  # identical: scipy would raise
        ([math.nan], [0.5], 0, math.nan),
        ([], [], 0, math.nan),
    ],
)
def test_paired_wilcoxon_degenerate_inputs(
    a: list[float], b: list[float], n: int, p_value: float
) -> None:
    test = paired_wilcoxon(a, b)
    assert test.n == n
    assert test.p_value == pytest.approx(p_value, nan_ok=True)


def test_paired_wilcoxon_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="equal length"):
        paired_wilcoxon([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("p_value", "text"),
    [(0.4321, "p = 0.43"), (0.0123, "p = 0.012"), (0.0004, "p < 0.001"), (math.nan, "p = n/a")],
)
def test_format_p(p_value: float, text: str) -> None:
    assert format_p(p_value) == text


@pytest.mark.parametrize(
    ("test", "sentence"),
    [
        (
            PairedTest(20, 80.0, 0.4321, 0.002, 0.001),
            "Focal Tversky loss and Dice loss do not differ significantly in Dice "
            "(p = 0.43, n = 20 recordings).",
        ),
        (
            PairedTest(20, 10.0, 0.003, 0.02, 0.015),
            "Focal Tversky loss gives a significantly higher Dice than Dice loss "
            "(median difference +0.015, p = 0.003, n = 20 recordings).",
        ),
        (
            PairedTest(12, 3.0, 0.01, -0.03, 0.0),
            "Focal Tversky loss gives a significantly lower Dice than Dice loss "
            "(median difference +0.000, p = 0.010, n = 12 recordings).",
        ),
        (
            PairedTest(1, math.nan, 1.0, 0.0, 0.0),
            "Focal Tversky loss and Dice loss do not differ significantly in Dice "
            "(p = 1.00, n = 1 recording).",
        ),
        (
            PairedTest(0, math.nan, math.nan, math.nan, math.nan),
            "Focal Tversky loss and Dice loss cannot be compared in Dice: no paired values.",
        ),
    ],
)
def test_verdict_sentence(test: PairedTest, sentence: str) -> None:
    assert verdict(test, "dice", "focal-tversky", "dice") == sentence
