"""Do the image's contrast and edges under the predicted mask tell the quality score anything new?

A wall drawn where the image shows one sits on tissue brighter than the blood inside it and
than what lies just outside it, and its borders follow edges of the image; a wall drawn
through haze or a dark cavity does not (appearance features for judging a segmentation
without ground truth: Kohlberger et al., "Evaluating segmentation error without ground
truth", MICCAI 2012, LNCS 7510:528-536). For every clean CAMUS frame of the chosen folds this
segments the frame with the fold model of ``camus_cv.py`` that never trained on it, as
``lvwall predict --format png`` does, measures the quality score's own features
(:data:`lvwall.quality.FEATURE_NAMES`) and seven contrast features of the model-size grey
frame (:data:`CONTRAST_FEATURES`), then compares, by the nested patient-wise evaluation of
``quality_cv.py`` on these frames alone, the score on the bundled features with the score on
those features plus contrast features. Each feature alone is reported as a ranking (its
AUROC for Dice < 0.75 whichever way it points, and its Spearman with Dice).

    python benchmarks/quality_contrast.py \\
        --models 'runs/cv2view-g-150-f{fold}/camus-fold{fold}/last.ckpt' --folds 2,4 \\
        --out runs/quality-contrast
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy.stats import rankdata

from camus_cv import fold_splits
from lvwall.atomic import atomic_path
from lvwall.data import load_labelled
from lvwall.infer import (
    PredictOptions,
    SegmentedFrame,
    load_segmentation_model,
    segment_frames,
)
from lvwall.metrics import frame_metrics
from lvwall.quality import FAIL_BELOW, FEATURE_NAMES, QualityControl, cavity_mask, quality_agreement
from quality_cv import print_nested_agreement, read_table
from quality_data import TruthFrame, camus_frames

#: Contrast features: mean grey level on the wall minus that in the cavity and in a band
#: just outside the wall, over the fan's mean; the cavity's mean and spread over the fan's
#: mean (haze fills it); the wall's spread; and the mean gradient magnitude along the
#: wall's inner and outer borders over the fan's mean gradient.
CONTRAST_FEATURES: tuple[str, ...] = (
    "wall_minus_cavity",
    "wall_minus_outside",
    "cavity_mean",
    "cavity_spread",
    "wall_spread",
    "inner_edge",
    "outer_edge",
)
#: Width in pixels (model size) of the band outside the wall that ``wall_minus_outside``
#: reads: about half an expert wall's thickness on each side of it.
OUTSIDE_BAND = 6
#: Grey level (model input, [0, 1]) above which a pixel counts as inside the fan.
FAN_LEVEL = 0.02


def wall_regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(wall, cavity, band outside both) as boolean maps, or None without a cavity; the
    cavity as quality control measures it (:func:`lvwall.quality.cavity_mask`)."""
    wall = mask > 0
    cavity = cavity_mask(mask)
    if not cavity.any():
        return None
    size = 2 * OUTSIDE_BAND + 1
    grown = cv2.dilate(wall.astype(np.uint8), np.ones((size, size), np.uint8)) > 0
    return wall, cavity, grown & ~wall & ~cavity


def contrast_features(grey: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """:data:`CONTRAST_FEATURES` of a model-size grey frame and its wall mask (NaN without a
    cavity)."""
    regions = wall_regions(mask)
    if regions is None:
        return dict.fromkeys(CONTRAST_FEATURES, float("nan"))
    wall, cavity, outside = regions
    grey = grey.astype(np.float32)
    fan = grey > FAN_LEVEL
    level = float(grey[fan].mean()) if fan.any() else 1.0
    smooth = cv2.GaussianBlur(grey, (5, 5), 1.5)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    edge_level = float(gradient[fan].mean()) if fan.any() else 1.0
    neighbours = np.ones((3, 3), np.uint8)
    inner = (cv2.dilate(cavity.astype(np.uint8), neighbours) > 0) & wall
    outer = (cv2.dilate(outside.astype(np.uint8), neighbours) > 0) & wall

    def mean(values: np.ndarray, where: np.ndarray) -> float:
        return float(values[where].mean()) if where.any() else float("nan")

    return {
        "wall_minus_cavity": (mean(grey, wall) - mean(grey, cavity)) / level,
        "wall_minus_outside": (mean(grey, wall) - mean(grey, outside)) / level,
        "cavity_mean": mean(grey, cavity) / level,
        "cavity_spread": float(grey[cavity].std()) / level,
        "wall_spread": float(grey[wall].std()) / level,
        "inner_edge": mean(gradient, inner) / edge_level,
        "outer_edge": mean(gradient, outer) / edge_level,
    }


def ranking(values: pd.Series, dice: pd.Series) -> tuple[float, float]:
    """(AUROC for Dice < 0.75 whichever way the feature points, Spearman with Dice) of one
    feature, its missing values at its median."""
    filled = values.fillna(values.median())
    ranks = (rankdata(filled) - 1) / max(len(filled) - 1, 1)
    up = quality_agreement(ranks, dice)
    down = quality_agreement(1 - ranks, dice)
    return max(up["auroc"], down["auroc"]), up["spearman"]


def bundled_row(frame: TruthFrame, fold: int, segmented: SegmentedFrame) -> dict:
    """One clean out-of-fold CAMUS frame's row as ``quality_cv.py`` reads it: its Dice and
    the bundled score's features and flags."""
    examined = QualityControl().examine(segmented.image, segmented.probability, segmented.mask)
    return {
        "source": "camus",
        "fold": fold,
        "group": frame.patient,
        "name": frame.name,
        "view": frame.view,
        "degradation": "",
        "dice": frame_metrics(segmented.mask, frame.truth)["dice"],
        **examined.features,
        "flags": ";".join(examined.reasons),
    }


def compare_candidates(
    rows: list[dict],
    target: Path,
    candidates: tuple[str, ...],
    feature_sets: dict[str, tuple[str, ...]],
    described: str,
) -> pd.DataFrame:
    """Write the out-of-fold ``rows`` to ``target``, then print each candidate feature's
    ranking alone (beside the soft Dice's) and the nested agreement of the score on each of
    ``feature_sets``; the table read back is returned."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    table = read_table(target)
    for name in candidates:
        table[name] = pd.to_numeric(table[name].replace("", np.nan))
    n_failed = int((table.dice < FAIL_BELOW).sum())
    print(f"{len(table)} clean CAMUS frames of {described}, {n_failed} with Dice < {FAIL_BELOW}")
    print(f"\n{'feature or score':34s} {'AUROC':>6s} {'Spearman':>8s} {'MAE':>6s}")
    for name in ("soft_dice", *candidates):
        auroc, spearman = ranking(table[name], table.dice)
        print(f"{name + ', alone':34s} {auroc:6.3f} {spearman:8.3f}")
    print_nested_agreement(table, feature_sets)
    print(f"wrote {target}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-2view-dev"))
    parser.add_argument("--models", required=True, help="fold FOLD's model, with {fold}")
    parser.add_argument("--folds", default="0,1,2,3,4", help="comma-separated folds to score")
    parser.add_argument("--out", type=Path, default=Path("runs/quality-contrast"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    folds = [int(fold) for fold in args.folds.split(",")]
    recordings = load_labelled([args.camus], progress=False, views=["A4C", "A2C"])
    held_out = {r.patient: fold for fold, _, test in fold_splits(recordings, None) for r in test}
    models = {
        fold: load_segmentation_model(
            args.models.format(fold=fold), backend="onnx", threads=args.threads
        )
        for fold in folds
    }
    rows = []
    for frame in camus_frames(args.camus):
        fold = held_out[frame.patient]
        if fold not in models:
            continue
        (segmented,) = list(segment_frames([frame.image], models[fold], PredictOptions()))
        rows.append(
            {
                **bundled_row(frame, fold, segmented),
                **contrast_features(segmented.grey, segmented.mask),
            }
        )
    compare_candidates(
        rows,
        args.out / "quality_contrast.csv",
        CONTRAST_FEATURES,
        {
            "bundled features": FEATURE_NAMES,
            "bundled + wall contrasts": FEATURE_NAMES + CONTRAST_FEATURES[:2],
            "bundled + edges": FEATURE_NAMES + CONTRAST_FEATURES[5:],
            "bundled + all contrast features": FEATURE_NAMES + CONTRAST_FEATURES,
        },
        f"folds {args.folds} ({time.perf_counter() - started:.0f} s)",
    )


if __name__ == "__main__":
    main()
