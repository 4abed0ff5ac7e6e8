"""``quality_agreement`` against hand-computed MAE, Spearman and AUROC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lvwall.quality import quality_agreement


@pytest.mark.parametrize(
    ("quality", "dice", "mae", "spearman", "auroc"),
    [
        # Ranks 4,3,1,2 against 3,4,1,2: rho = 1 - 6 * 2 / (4 * 15) = 0.8; both failed frames
        # (0.2, 0.7 < 0.75) score below both others.
        ([0.9, 0.8, 0.3, 0.6], [0.85, 0.9, 0.2, 0.7], 0.0875, 0.8, 1.0),
        # Reversed: every failed frame scores above every other.
        ([0.1, 0.2, 0.9, 0.8], [0.85, 0.9, 0.2, 0.7], (0.75 + 0.7 + 0.7 + 0.1) / 4, -0.8, 0.0),
        # One failed frame (0.5), ranked between the two good ones: AUROC 1/2.
        ([0.6, 0.7, 0.8], [0.8, 0.5, 0.9], (0.2 + 0.2 + 0.1) / 3, 0.5, 0.5),
    ],
)
def test_hand_computed_cases(quality, dice, mae, spearman, auroc) -> None:
    result = quality_agreement(quality, dice)
    assert result["mae"] == pytest.approx(mae)
    assert result["spearman"] == pytest.approx(spearman)
    assert result["auroc"] == pytest.approx(auroc)
    assert result["n"] == len(dice)


def test_fail_below_sets_which_frames_failed() -> None:
    result = quality_agreement([0.9, 0.8, 0.3], [0.95, 0.85, 0.8], fail_below=0.9)
    assert result["n_failed"] == 2
    assert result["auroc"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("quality", "dice", "undefined"),
    [
        ([0.5, 0.6], [0.8, 0.9], "auroc"),  # nothing failed
        ([0.5, 0.6], [0.1, 0.2], "auroc"),  # everything failed
        ([0.5, 0.5], [0.8, 0.7], "spearman"),  # constant quality
    ],
)
def test_undefined_figures_are_nan(quality, dice, undefined) -> None:
    assert math.isnan(quality_agreement(quality, dice)[undefined])


@pytest.mark.parametrize(
    ("quality", "dice", "fail_below"),
    [
        ([0.5], [0.5, 0.6], 0.75),
        ([], [], 0.75),
        ([1.2], [0.5], 0.75),
        ([np.nan], [0.5], 0.75),
        ([0.5], [0.5], 0.0),
    ],
)
def test_bad_arguments_raise(quality, dice, fail_below) -> None:
    with pytest.raises(ValueError):
        quality_agreement(quality, dice, fail_below)
