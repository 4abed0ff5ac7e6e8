"""Nested patient-wise evaluation of the quality score, and the bundled quality model.

Reads the out-of-fold feature table of ``quality_oof.py``. For each outer fold k of the
CAMUS split, the score is fitted on the rows of the other folds only (their CAMUS frames,
clean and degraded, and the phantom frames assigned to them) and scores the clean CAMUS
frames of fold k; the pooled scores of all folds give the AUROC for Dice < 0.75, Spearman's
rho and the MAE. Then it fits the score on every row and writes the bundled quality model
(``src/lvwall/assets/quality-model.json`` unless ``--asset`` says otherwise). A table with
the companion network's features (``quality_oof.py --companions``) is also evaluated with
them, side by side (``quality_companion.py``); the bundled model uses the single network's
features only. ``--flag-rates`` also prints how often each check flags, by source and
degradation, and the Dice of flagged and unflagged frames.

    python benchmarks/quality_cv.py runs/quality/quality_oof.csv --flag-rates
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from lvwall.atomic import atomic_path
from lvwall.model import ASSETS_DIR
from lvwall.quality import (
    FAIL_BELOW,
    FEATURE_NAMES,
    FLAGS,
    QUALITY_MODEL_NAME,
    UNTRUSTWORTHY,
    QualityModel,
    fit_quality_model,
    quality_agreement,
)
from quality_companion import COMPANION_FEATURE_NAMES

#: Ridge penalty of the linear score (on standardised features).
ALPHA = 1.0
#: Weight of a clean CAMUS frame against a degraded or phantom one: real clean frames are
#: what the score meets in use, the others only cover the low-Dice range.
CLEAN_WEIGHT = 5.0
#: The scores evaluated, by name, with their features; the first is the bundled one.
SCORES: dict[str, tuple[str, ...]] = {
    "single network": FEATURE_NAMES,
    "with companion": FEATURE_NAMES + COMPANION_FEATURE_NAMES,
}


def read_table(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, keep_default_na=False, na_values={"dice": [""]})
    for name in FEATURE_NAMES + COMPANION_FEATURE_NAMES:
        if name in table:
            table[name] = pd.to_numeric(table[name].replace("", np.nan))
    table["clean_camus"] = (table.source == "camus") & (table.degradation == "")
    # Quality control scores these 0 by rule; the model never sees them.
    table["untrustworthy"] = (
        table["flags"].str.split(";").apply(lambda f: bool(UNTRUSTWORTHY & set(f)))
    )
    return table


def fit(rows: pd.DataFrame, features: tuple[str, ...], description: str = "") -> QualityModel:
    """The score on ``features`` fitted to ``rows`` that quality control does not score 0 by
    rule."""
    rows = rows[~rows.untrustworthy]
    weights = np.where(rows.clean_camus, CLEAN_WEIGHT, 1.0)
    return fit_quality_model(
        rows[list(features)].to_numpy(),
        rows.dice.to_numpy(),
        features,
        groups=rows.group.to_numpy(),
        weights=weights,
        alpha=ALPHA,
        description=description,
    )


def nested_scores(table: pd.DataFrame, features: tuple[str, ...]) -> pd.Series:
    """Each row's score on ``features`` as quality control gives it, from the model fitted
    without its outer fold (0 for frames flagged ``not_echo`` or ``no_wall``)."""
    scores = pd.Series(0.0, index=table.index)
    for fold in sorted(table.fold.unique()):
        held_out = table.fold == fold
        model = fit(table[~held_out], features)
        scored = held_out & ~table.untrustworthy
        scores[scored] = model.predict(table.loc[scored, list(features)].to_numpy())
    return scores


def print_nested_agreement(
    table: pd.DataFrame, feature_sets: dict[str, tuple[str, ...]], width: int = 34
) -> None:
    """Print AUROC, Spearman and MAE of the nested score on each named feature set."""
    for score, features in feature_sets.items():
        figures = quality_agreement(nested_scores(table, features), table.dice)
        print(
            f"{score:{width}s} {figures['auroc']:6.3f} {figures['spearman']:8.3f} "
            f"{figures['mae']:6.3f}"
        )


def report(table: pd.DataFrame, scores: pd.Series, score: str) -> dict[str, dict]:
    subsets = {
        "CAMUS dev, clean (target)": table.clean_camus,
        "CAMUS dev, degraded": (table.source == "camus") & ~table.clean_camus,
        "phantom, clean and degraded": table.source == "phantom",
    }
    if "view" in table:
        for view in sorted(table.view[table.clean_camus].unique()):
            subsets[f"CAMUS dev, clean, {view}"] = table.clean_camus & (table.view == view)
    print(
        f"\nQuality ({score}) vs Dice, nested patient-wise 5-fold CV (failure: Dice < {FAIL_BELOW})"
    )
    print(f"{'frames':30s} {'n':>5s} {'failed':>6s} {'AUROC':>6s} {'Spearman':>8s} {'MAE':>6s}")
    results = {}
    for name, rows in subsets.items():
        figures = quality_agreement(scores[rows], table.dice[rows])
        results[name] = figures
        print(
            f"{name:30s} {figures['n']:5d} {figures['n_failed']:6d} {figures['auroc']:6.3f} "
            f"{figures['spearman']:8.3f} {figures['mae']:6.3f}"
        )
    clean = table.clean_camus
    print("\nclean CAMUS per outer fold:")
    for fold in sorted(table.fold.unique()):
        rows = clean & (table.fold == fold)
        figures = quality_agreement(scores[rows], table.dice[rows])
        print(
            f"  fold {fold}: n {figures['n']:3d}, failed {figures['n_failed']:2d}, AUROC "
            f"{figures['auroc']:.3f}, Spearman {figures['spearman']:.3f}, MAE {figures['mae']:.3f}"
        )
    return results


def flag_rates(table: pd.DataFrame) -> None:
    """Per source and degradation: the share of frames each check flags; then per check, the
    mean Dice of flagged and unflagged frames."""
    flags = table["flags"].str.split(";")
    flagged = pd.DataFrame({flag: flags.apply(lambda f, flag=flag: flag in f) for flag in FLAGS})
    kind = table.source + " " + table.degradation.replace("", "clean")
    rates = flagged.groupby(kind).mean().map(lambda rate: f"{rate:.0%}")
    rates.insert(0, "frames", kind.value_counts())
    rates.insert(1, "Dice", table.dice.groupby(kind).mean().round(3))
    print("\nShare of frames flagged by each check (out-of-fold predictions)")
    print(rates.to_string())
    print(f"\n{'check':17s} {'flagged':>7s} {'Dice flagged':>12s} {'Dice others':>11s}")
    for flag in [*FLAGS, "any"]:
        hit = flagged.any(axis=1) if flag == "any" else flagged[flag]
        print(
            f"{flag:17s} {int(hit.sum()):7d} {table.dice[hit].mean():12.3f} "
            f"{table.dice[~hit].mean():11.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features", type=Path, help="quality_oof.csv")
    parser.add_argument("--asset", type=Path, default=ASSETS_DIR / QUALITY_MODEL_NAME)
    parser.add_argument("--flag-rates", action="store_true")
    args = parser.parse_args()
    table = read_table(args.features)
    targets = {
        score: report(table, nested_scores(table, features), score)["CAMUS dev, clean (target)"]
        for score, features in SCORES.items()
        if set(features) <= set(table.columns)
    }
    if args.flag_rates:
        flag_rates(table)
    if len(targets) > 1:
        print("\nclean CAMUS dev, side by side:")
        for score, figures in targets.items():
            print(
                f"  {score:15s} AUROC {figures['auroc']:.3f}, Spearman "
                f"{figures['spearman']:.3f}, MAE {figures['mae']:.3f}"
            )
    target = targets["single network"]
    fitted = table[~table.untrustworthy]
    description = (
        f"Fitted by benchmarks/quality_cv.py on {len(fitted)} out-of-fold frames "
        f"({int(fitted.clean_camus.sum())} clean CAMUS dev, the rest degraded CAMUS and "
        f"phantom; frames flagged not_echo or no_wall score 0 by rule); nested CV on clean "
        f"CAMUS: AUROC(Dice<{FAIL_BELOW}) {target['auroc']:.3f}, Spearman "
        f"{target['spearman']:.3f}, MAE {target['mae']:.3f}"
    )
    model = fit(table, FEATURE_NAMES, description)
    with atomic_path(args.asset) as tmp:
        tmp.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.asset}: {description}")


if __name__ == "__main__":
    main()
