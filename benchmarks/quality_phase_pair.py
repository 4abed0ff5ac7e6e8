"""Does the wall's area at end-diastole against end-systole tell the quality score anything new?

The myocardium is nearly incompressible, so one recording's wall keeps roughly its area in an
apical plane from end-diastole (ED) to end-systole (ES); a model that draws one of the two
walls through the cavity or into the surrounding tissue changes it. This reads a per-frame
table of clean CAMUS frames written by ``quality_contrast.py`` or ``quality_oof.py`` (the
quality features of each frame's out-of-fold mask, its Dice and its name
``patientNNNN_4CH_ED``), adds to every frame the change of wall area between its recording's
two phases, ``|log(wall_fraction / wall_fraction of the other phase)|``, prints the same
change for the experts' own walls (how far the prior holds on real hearts), the feature's
ranking of the frames alone, and the nested patient-wise evaluation of ``quality_cv.py`` with
and without it.

    python benchmarks/quality_phase_pair.py runs/quality-contrast/quality_contrast.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lvwall.data import MODEL_SIZE, PHASES, WALL_LABEL, resize
from lvwall.quality import FEATURE_NAMES
from quality_contrast import ranking
from quality_cv import print_nested_agreement, read_table

PAIR_FEATURE = "wall_area_change"


def recording_of(name: str) -> str:
    """``patientNNNN_4CH`` of ``patientNNNN_4CH_ED``."""
    return name.rsplit("_", 1)[0]


def area_change(areas: pd.Series, names: pd.Series) -> pd.Series:
    """Each frame's ``|log(area / area of its recording's other phase)|``; NaN where the
    recording lacks the other phase."""
    by_name = dict(zip(names, areas, strict=True))
    other = names.map(
        lambda name: by_name.get(f"{recording_of(name)}_{PHASES[name.endswith('_ED')]}")
    )
    return np.abs(np.log(areas.astype(float) / other.astype(float)))


def expert_areas(camus: Path, names: pd.Series) -> pd.Series:
    """Wall pixels of the experts' label map of each named frame at model size, as the CAMUS
    reader resizes it."""

    def area(name: str) -> int:
        labels = cv2.imread(str(camus / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise SystemExit(f"{camus / 'masks' / (name + '.png')}: cannot be read as a label map")
        return int(resize((labels == WALL_LABEL).astype(np.uint8), MODEL_SIZE, mask=True).sum())

    return names.map(area)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path, help="per-frame CSV of quality_contrast/quality_oof")
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-2view-dev"))
    args = parser.parse_args()

    table = read_table(args.table)
    table = table[table.clean_camus].reset_index(drop=True)
    table[PAIR_FEATURE] = area_change(table.wall_fraction, table.name)
    experts = area_change(expert_areas(args.camus, table.name), table.name)
    failed = table.dice < 0.75
    print(f"{len(table)} clean CAMUS frames, {int(failed.sum())} with Dice < 0.75")
    print(f"\n{'wall area change ED-ES':34s} {'median':>7s} {'90th %':>7s} {'95th %':>7s}")
    for label, values in (
        ("experts' walls", experts),
        ("model, frames with Dice >= 0.75", table[PAIR_FEATURE][~failed]),
        ("model, frames with Dice < 0.75", table[PAIR_FEATURE][failed]),
    ):
        quantiles = values.quantile([0.5, 0.9, 0.95]).to_numpy()
        print(f"{label:34s} " + " ".join(f"{value:7.3f}" for value in quantiles))

    print(f"\n{'feature or score':34s} {'AUROC':>6s} {'Spearman':>8s} {'MAE':>6s}")
    for name in ("soft_dice", PAIR_FEATURE):
        auroc, spearman = ranking(table[name], table.dice)
        print(f"{name + ', alone':34s} {auroc:6.3f} {spearman:8.3f}")
    print_nested_agreement(
        table,
        {
            "bundled features": FEATURE_NAMES,
            "bundled + wall area change": (*FEATURE_NAMES, PAIR_FEATURE),
            "soft Dice": ("soft_dice",),
            "soft Dice + wall area change": ("soft_dice", PAIR_FEATURE),
        },
    )


if __name__ == "__main__":
    main()
