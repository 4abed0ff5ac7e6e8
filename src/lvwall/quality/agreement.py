"""How well a quality score predicts the real Dice on labelled frames.

Three figures, as quality-control studies report them (Robinson et al., MICCAI 2018): the
mean absolute error between score and Dice (is the score a calibrated Dice estimate?),
Spearman's rank correlation (does it order frames like Dice does?), and the area under the
ROC curve of the score for detecting frames with Dice below a failure level (does a
threshold on it catch the failures?).
"""

from __future__ import annotations

import warnings

import numpy as np

#: Frames with a Dice below this failed (the issue's level for "do not trust").
FAIL_BELOW = 0.75


def quality_agreement(
    quality: np.ndarray, dice: np.ndarray, fail_below: float = FAIL_BELOW
) -> dict[str, float]:
    """``n``, ``n_failed``, ``mae``, ``spearman`` and ``auroc`` of scores against true Dice.

    ``auroc`` is that of ``1 - quality`` for detecting ``dice < fail_below``: 1 when every
    failed frame scores below every other, 0.5 for a score that knows nothing; NaN when no
    frame, or every frame, failed. ``spearman`` is NaN when either input is constant.
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    quality = np.asarray(quality, dtype=np.float64).ravel()
    dice = np.asarray(dice, dtype=np.float64).ravel()
    if quality.shape != dice.shape or quality.size == 0:
        raise ValueError(
            f"need as many quality values as Dice values, and some: {quality.size}, {dice.size}"
        )
    for name, values in (("quality", quality), ("dice", dice)):
        if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
            raise ValueError(f"{name} values must lie in [0, 1]")
    if not 0.0 < fail_below <= 1.0:
        raise ValueError(f"fail_below must be in (0, 1], got {fail_below}")
    failed = dice < fail_below
    n_failed = int(failed.sum())
    auroc = float("nan")
    if 0 < n_failed < len(dice):
        auroc = float(roc_auc_score(failed, 1.0 - quality))
    spearman = float("nan")
    if np.ptp(quality) > 0 and np.ptp(dice) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spearman = float(spearmanr(quality, dice).statistic)
    return {
        "n": int(len(dice)),
        "n_failed": n_failed,
        "mae": float(np.abs(quality - dice).mean()),
        "spearman": spearman,
        "auroc": auroc,
    }
