"""Dice of `lvwall predict --format png` masks against the CAMUS wall masks, at the labels' size.

lvwall predict ../shared/data/camus-a4c-dev/images --format png --out /tmp/m
python benchmarks/png_dice.py /tmp/m ../shared/data/camus-a4c-dev [--held-out RUN/split.json]
python benchmarks/png_dice.py /tmp/m ../shared/data/camus-2view-dev --against /tmp/other

The masks are scored as `lvwall predict` writes them, at each frame's own size, so models
that run at different input sizes are scored against the same labels. ``--held-out`` scores
only the recordings on the validation side of a training run's split (CAMUS recordings are
named ``patientNNNN_4CH``, their frames ``patientNNNN_4CH_ED.png``). ``--against`` scores a
second folder of masks of the same frames and compares the two per view, paired over
recordings (the mean Dice of a recording's ED and ES frames, as ``camus_cv.py`` reports
it): mean difference, 95 % interval over recordings and the Wilcoxon signed-rank p.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from lvwall.data import CAMUS_VIEWS, WALL_LABEL
from lvwall.experiment import format_p, paired_wilcoxon, summarise
from lvwall.metrics import frame_metrics


def scores(predictions: Path, truth_paths: list[Path]) -> pd.DataFrame:
    """One row per frame: recording, view and Dice of the mask in ``predictions``."""
    rows = []
    for truth_path in truth_paths:
        predicted = np.asarray(Image.open(predictions / truth_path.name)) > 127
        truth = np.asarray(Image.open(truth_path)) == WALL_LABEL
        recording = truth_path.stem.rsplit("_", 1)[0]
        rows.append(
            {
                "recording": recording,
                "view": CAMUS_VIEWS[recording.split("_")[1]],
                "dice": frame_metrics(predicted, truth)["dice"],
            }
        )
    return pd.DataFrame(rows)


def summary(values: pd.Series) -> str:
    return (
        f"Dice mean {values.mean():.4f} ± {values.std(ddof=1):.3f}, "
        f"median {values.median():.3f}, min {values.min():.3f}"
    )


def paired(table: pd.DataFrame, other: pd.DataFrame) -> None:
    """Per view: the mean over recordings of this Dice minus the other's, its 95 % interval
    (t over recordings) and the Wilcoxon signed-rank p."""
    mine = table.groupby(["view", "recording"]).dice.mean()
    theirs = other.groupby(["view", "recording"]).dice.mean().reindex(mine.index)
    for view in [*mine.index.unique(level="view"), "both"]:
        rows = slice(None) if view == "both" else view
        difference = summarise(mine[rows] - theirs[rows])
        test = paired_wilcoxon(mine[rows].to_numpy(), theirs[rows].to_numpy())
        print(
            f"  {view}: {difference.n} recordings, {difference.mean:+.4f} "
            f"[{difference.ci_low:+.4f}, {difference.ci_high:+.4f}], "
            f"Wilcoxon {format_p(test.p_value)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("camus", type=Path)
    parser.add_argument("--held-out", type=Path, default=None, help="a run's split.json")
    parser.add_argument("--against", type=Path, help="another folder of masks of the same frames")
    args = parser.parse_args()
    truth_paths = sorted((args.camus / "masks").glob("*.png"))
    if args.held_out:
        held_out = set(json.loads(args.held_out.read_text())["val"])
        truth_paths = [path for path in truth_paths if path.stem.rsplit("_", 1)[0] in held_out]
    table = scores(args.predictions, truth_paths)
    print(f"{len(table)} masks: {summary(table.dice)}")
    for view, rows in table.groupby("view"):
        print(f"  {view}, {len(rows)} masks: {summary(rows.dice)}")
    if args.against:
        other = scores(args.against, truth_paths)
        print(f"{args.against}, {len(other)} masks: {summary(other.dice)}")
        for view, rows in other.groupby("view"):
            print(f"  {view}, {len(rows)} masks: {summary(rows.dice)}")
        print(f"{args.predictions} minus {args.against}, paired over recordings:")
        paired(table, other)


if __name__ == "__main__":
    main()
