"""EF from the bundled model's masks against EF from the ground truth, on real CAMUS frames.

Run: ``.venv/bin/python benchmarks/bench_measure_camus.py [--camus DIR] [--model M]``
(default ``../shared/data/camus-a4c-dev``). For every patient with both an ED and an ES
frame, the single-plane EF (method of discs and area-length) is measured from the wall
masks that ``lvwall predict``'s pipeline gives and from the ground-truth wall (label 2),
and the mean absolute difference printed. As a check of the cavity that the measurement
closes with the annulus line, the cavity area from the ground-truth wall is compared with
CAMUS's own LV cavity label (1). The PNG frames carry no pixel spacing, so volumes are in
px3; EF is a ratio and needs none.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lvwall.data.camus import PHASES, list_patients, load_patient
from lvwall.data.inputs import InputSource
from lvwall.infer import PredictOptions, load_segmentation_model, segment_frames
from lvwall.measure import measure_recording

DEFAULT_CAMUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camus-a4c-dev"
CAVITY_LABEL = 1


def predicted(paths: list[Path], model) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Model-size masks and probabilities of the ED and ES images, and the frame size."""
    masks, probabilities = [], []
    for path in paths:
        recording = InputSource(path, path.stem).open()
        (frame,) = list(segment_frames(recording.frames(), model, PredictOptions()))
        masks.append(frame.mask)
        probabilities.append(frame.probability)
    return np.stack(masks), np.stack(probabilities), (recording.height, recording.width)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=DEFAULT_CAMUS)
    parser.add_argument("--model", type=Path, help="default: the bundled model")
    args = parser.parse_args()
    model = load_segmentation_model(args.model)
    rows = []
    for files in list_patients(args.camus):
        if set(files.phases) != set(PHASES):
            continue
        order = [files.phases.index(phase) for phase in PHASES]
        images = [files.images[i] for i in order]
        truth = load_patient(files)
        ed, es = (truth.meta["phase_frames"][phase] for phase in PHASES)
        size = truth.meta["original_size"]
        from_truth = measure_recording(truth.masks, frame_size=size, phases=(ed, es))
        masks, probabilities, frame_size = predicted(images, model)
        from_model = measure_recording(masks, probabilities, frame_size=frame_size, phases=(0, 1))
        labels = cv2.imread(str(files.masks[order[0]]), cv2.IMREAD_UNCHANGED)
        cavity = int((labels == CAVITY_LABEL).sum())
        ours = from_truth.frames["cavity_area_px2"].iloc[ed]
        interval = from_model.intervals.get("ef_percent")
        rows.append(
            {
                "patient": files.patient,
                "EF truth, discs": from_truth.ef_percent,
                "EF model, discs": from_model.ef_percent,
                "EF truth, area-length": from_truth.ef_area_length_percent,
                "EF model, area-length": from_model.ef_area_length_percent,
                "model interval covers truth": None
                if interval is None or from_truth.ef_percent is None
                else interval.covers(from_truth.ef_percent),
                "ED cavity / label 1": ours / cavity,
            }
        )
    table = pd.DataFrame(rows).set_index("patient")
    pd.set_option("display.width", 160)
    print(f"{len(table)} CAMUS patients with both an ED and an ES frame in {args.camus}")
    print(table.round(2).to_string())
    for method in ("discs", "area-length"):
        difference = (table[f"EF model, {method}"] - table[f"EF truth, {method}"]).dropna()
        print(
            f"EF, {method}: mean absolute difference model vs truth "
            f"{difference.abs().mean():.2f} points (bias {difference.mean():+.2f}, "
            f"max {difference.abs().max():.2f}, n = {len(difference)})"
        )
    covered = table["model interval covers truth"].dropna()
    print(f"EF intervals covering the ground-truth EF: {int(covered.sum())}/{len(covered)}")
    ratio = table["ED cavity / label 1"]
    print(
        f"ED cavity from the ground-truth wall / CAMUS cavity label: mean {ratio.mean():.3f} "
        f"(range {ratio.min():.3f} to {ratio.max():.3f})"
    )


if __name__ == "__main__":
    main()
