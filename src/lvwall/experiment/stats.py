"""Summary statistics and the paired test that compare two losses recording by recording.

* :func:`summarise`: mean, sample standard deviation and a two-sided 95 % Student-t confidence
  interval of the mean, ``mean +/- t(0.975, n - 1) * s / sqrt(n)`` (Student, Biometrika 1908).
  The t-interval assumes roughly normal recording means; with the 20-160 recordings of a
  cross-validated study it is close to a bootstrap interval and, unlike one, deterministic.
* :func:`paired_wilcoxon`: the Wilcoxon signed-rank test (Wilcoxon, Biometrics Bulletin 1945)
  of the per-recording differences between two losses, :func:`scipy.stats.wilcoxon` with
  zero differences dropped (``zero_method="wilcox"``) and the exact null distribution for
  small samples. Pairs with a missing value (an HD95 with no surface to measure) are left out.
  When every difference is zero the losses agree on every recording: the p-value is 1.
* :func:`verdict`: one plain sentence on the primary metric.

p-values are per metric and not corrected for testing several metrics; Dice is the primary
endpoint, as in the HMC-QU study (Degerli et al., IEEE Access 9:34442, 2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from lvwall.atomic import to_plain

#: Two-sided confidence level of :func:`summarise`.
CONFIDENCE = 0.95
#: Significance level of :func:`verdict`.
ALPHA = 0.05

#: How each metric is named in sentences and tables.
METRIC_LABELS: dict[str, str] = {
    "dice": "Dice",
    "iou": "IoU",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall (sensitivity)",
    "f1": "F1",
    "specificity": "specificity",
    "hd95": "HD95",
    "assd": "ASSD",
}

#: How each loss is named in sentences and tables.
LOSS_LABELS: dict[str, str] = {
    "dice": "Dice loss",
    "dice-bce": "Dice + BCE loss",
    "focal-tversky": "Focal Tversky loss",
}


def loss_label(loss: str) -> str:
    """A loss's name for readers (:data:`LOSS_LABELS`), else its registry name."""
    return LOSS_LABELS.get(loss, loss)


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and 95 % t-interval of ``n`` values (NaN skipped).

    ``std`` and the interval are NaN for fewer than two values; everything is NaN for none.
    """

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return to_plain(asdict(self))


@dataclass(frozen=True)
class PairedTest:
    """A paired Wilcoxon signed-rank test of ``a - b`` over recordings.

    ``n`` counts the pairs with both values; ``statistic`` is scipy's (the smaller rank sum
    for a two-sided test), NaN when every difference is zero or there are no pairs.
    """

    n: int
    statistic: float
    p_value: float
    mean_difference: float
    median_difference: float

    def to_dict(self) -> dict[str, Any]:
        return to_plain(asdict(self))


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of values, got shape {array.shape}")
    return array[~np.isnan(array)]


def summarise(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Summary:
    """Mean, sample standard deviation (ddof 1) and two-sided Student-t interval of the mean.

    NaN values are skipped. Raises :class:`ValueError` for a ``confidence`` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    finite = _finite(values)
    n = len(finite)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(finite.mean())
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(finite.std(ddof=1))
    half_width = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half_width, mean + half_width)


def paired_wilcoxon(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> PairedTest:
    """Two-sided Wilcoxon signed-rank test of the paired differences ``a - b``.

    ``a[i]`` and ``b[i]`` belong to the same recording. Pairs where either is NaN are left
    out. Raises :class:`ValueError` when ``a`` and ``b`` differ in length.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D and of equal length, got {a.shape} and {b.shape}")
    both = ~(np.isnan(a) | np.isnan(b))
    differences = a[both] - b[both]
    n = len(differences)
    if n == 0:
        return PairedTest(0, math.nan, math.nan, math.nan, math.nan)
    mean_difference = float(differences.mean())
    median_difference = float(np.median(differences))
    if not np.any(differences):
        return PairedTest(n, math.nan, 1.0, mean_difference, median_difference)
    result = stats.wilcoxon(differences, zero_method="wilcox", alternative="two-sided")
    return PairedTest(
        n, float(result.statistic), float(result.pvalue), mean_difference, median_difference
    )


def format_p(p_value: float) -> str:
    """``p = 0.43``; three decimals below 0.1 (``p = 0.012``); ``p < 0.001``; NaN: ``p = n/a``."""
    if math.isnan(p_value):
        return "p = n/a"
    if p_value < 0.001:
        return "p < 0.001"
    if p_value < 0.1:
        return f"p = {p_value:.3f}"
    return f"p = {p_value:.2f}"


def verdict(test: PairedTest, metric: str, loss_a: str, loss_b: str, alpha: float = ALPHA) -> str:
    """One sentence on whether ``loss_a`` and ``loss_b`` differ in ``metric``.

    ``test`` is :func:`paired_wilcoxon` of ``loss_a``'s values minus ``loss_b``'s, e.g.
    "Focal Tversky loss and Dice loss do not differ significantly in Dice (p = 0.43, n = 20
    recordings)."
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    name_a = loss_label(loss_a)
    name_b = loss_label(loss_b)
    metric_name = METRIC_LABELS.get(metric, metric)
    recordings = "recording" if test.n == 1 else "recordings"
    evidence = f"{format_p(test.p_value)}, n = {test.n} {recordings}"
    if test.n == 0:
        return f"{name_a} and {name_b} cannot be compared in {metric_name}: no paired values."
    if math.isnan(test.p_value) or test.p_value >= alpha:
        return f"{name_a} and {name_b} do not differ significantly in {metric_name} ({evidence})."
    # A median of zero can still come with a significant test (zeros are dropped).
    shift = test.median_difference or test.mean_difference
    direction = "higher" if shift > 0 else "lower"
    return (
        f"{name_a} gives a significantly {direction} {metric_name} than {name_b} "
        f"(median difference {test.median_difference:+.3f}, {evidence})."
    )
