"""Dice of `lvwall predict --format png` masks against the CAMUS dev wall masks.

lvwall predict ../shared/data/camus-a4c-dev/images --format png --out /tmp/m
python benchmarks/png_dice.py /tmp/m ../shared/data/camus-a4c-dev [--held-out RUN/split.json]

``--held-out`` scores only the recordings on the validation side of a training run's split
(CAMUS recordings are named ``patientNNNN_4CH``, their frames ``patientNNNN_4CH_ED.png``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from lvwall.data import WALL_LABEL
from lvwall.metrics import frame_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("camus", type=Path)
    parser.add_argument("--held-out", type=Path, default=None, help="a run's split.json")
    args = parser.parse_args()
    truth_paths = sorted((args.camus / "masks").glob("*.png"))
    if args.held_out:
        held_out = set(json.loads(args.held_out.read_text())["val"])
        truth_paths = [path for path in truth_paths if path.stem.rsplit("_", 1)[0] in held_out]
    dice = []
    for truth_path in truth_paths:
        predicted = np.asarray(Image.open(args.predictions / truth_path.name)) > 127
        truth = np.asarray(Image.open(truth_path)) == WALL_LABEL
        dice.append(frame_metrics(predicted, truth)["dice"])
    values = np.array(dice)
    print(
        f"{len(values)} masks: Dice mean {values.mean():.3f} ± {values.std(ddof=1):.3f}, "
        f"median {np.median(values):.3f}, min {values.min():.3f}"
    )


if __name__ == "__main__":
    main()
