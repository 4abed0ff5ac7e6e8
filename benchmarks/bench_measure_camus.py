"""EF and GLS from a model's masks against EF and GLS from the experts' masks, on CAMUS stills.

Run: ``.venv/bin/python benchmarks/bench_measure_camus.py [--camus DIR ...] [--model M |
--models TEMPLATE]`` (default ``../shared/data/camus-2view-dev``, the bundled model). For
every patient and view with an ED and an ES still, the single-plane EF (method of discs and
area-length) and GLS are measured, as ``lvwall measure`` measures them, from the wall masks
of ``lvwall predict``'s pipeline and from the experts' wall (label 2); the script prints per
view the mean absolute difference, the bias and the 95 % limits of agreement (bias ± 1.96
SD; Bland & Altman, Lancet 1986), and how often the model gave no number. With ``--models
'runs/cv/camus-fold{fold}/last.ckpt'`` each patient is segmented by the fold model of
``camus_cv.py``'s patient-wise split (same ``--camus`` folders and ``--views``) that never
trained on it: the out-of-fold agreement. As a check of the cavity that the measurement
closes with the annulus line, the ED cavity area from the experts' wall is compared with
CAMUS's own LV cavity label (1). The PNG frames carry no pixel spacing, so volumes are in
px3; EF and GLS are ratios and need none. ``--out DIR`` writes the per-patient table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from camus_cv import fold_splits
from lvwall.data import CAMUS_VIEWS, PHASES, InputSource, list_patients, load_labelled, load_patient
from lvwall.infer import PredictOptions, SegmentationModel, load_segmentation_model, segment_frames
from lvwall.measure import measure_recording

DEFAULT_CAMUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camus-2view-dev"
CAVITY_LABEL = 1
#: The numbers compared, by column stem: EF by discs and area-length, and GLS.
NUMBERS: dict[str, str] = {
    "EF discs": "ef_percent",
    "EF area-length": "ef_area_length_percent",
    "GLS": "gls_percent",
}


def predicted(paths: list[Path], model: SegmentationModel) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Model-size masks and probabilities of the ED and ES images, and the frame size."""
    masks, probabilities = [], []
    for path in paths:
        recording = InputSource(path, path.stem).open()
        (frame,) = list(segment_frames(recording.frames(), model, PredictOptions()))
        masks.append(frame.mask)
        probabilities.append(frame.probability)
    return np.stack(masks), np.stack(probabilities), (recording.height, recording.width)


def fold_models(args: argparse.Namespace) -> tuple[dict[str, int], dict[int, SegmentationModel]]:
    """The held-out fold of every patient, and each fold's model, for ``--models``."""
    recordings = load_labelled(args.camus, progress=False, views=args.views.split(","))
    held_out = {r.patient: fold for fold, _, test in fold_splits(recordings, None) for r in test}
    models = {
        fold: load_segmentation_model(args.models.format(fold=fold), backend="onnx")
        for fold in sorted(set(held_out.values()))
    }
    return held_out, models


def patient_row(files, model: SegmentationModel) -> dict:
    """The numbers of one patient's view from the model's masks and from the experts'."""
    order = [files.phases.index(phase) for phase in PHASES]
    truth = load_patient(files)
    ed, es = (truth.meta["phase_frames"][phase] for phase in PHASES)
    from_truth = measure_recording(
        truth.masks, frame_size=truth.meta["original_size"], phases=(ed, es)
    )
    masks, probabilities, frame_size = predicted([files.images[i] for i in order], model)
    from_model = measure_recording(masks, probabilities, frame_size=frame_size, phases=(0, 1))
    labels = cv2.imread(str(files.masks[order[0]]), cv2.IMREAD_UNCHANGED)
    row = {"patient": files.patient, "view": CAMUS_VIEWS[files.view]}
    for stem, key in NUMBERS.items():
        row[f"{stem}, experts"] = getattr(from_truth, key)
        row[f"{stem}, model"] = getattr(from_model, key)
    interval = from_model.intervals.get("ef_percent")
    row["EF interval covers experts"] = (
        None
        if interval is None or from_truth.ef_percent is None
        else interval.covers(from_truth.ef_percent)
    )
    cavity = int((labels == CAVITY_LABEL).sum())
    row["ED cavity / label 1"] = from_truth.frames["cavity_area_px2"].iloc[ed] / cavity
    return row


def agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Per view and number: n, missing, mean absolute difference, bias and 95 % limits."""
    rows = []
    for view in [*sorted(table.view.unique()), "all"]:
        part = table if view == "all" else table[table.view == view]
        for stem in NUMBERS:
            model, experts = part[f"{stem}, model"], part[f"{stem}, experts"]
            difference = (model - experts).dropna()
            spread = 1.96 * difference.std()
            rows.append(
                {
                    "view": view,
                    "number": stem,
                    "n": len(difference),
                    "model gave none": int((model.isna() & experts.notna()).sum()),
                    "MAE": difference.abs().mean(),
                    "bias": difference.mean(),
                    "LoA low": difference.mean() - spread,
                    "LoA high": difference.mean() + spread,
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, nargs="+", default=[DEFAULT_CAMUS])
    parser.add_argument("--views", default="A4C,A2C", help="comma-separated views")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--model", type=Path, help="one model for every patient (default: bundled)")
    chosen.add_argument("--models", help="fold FOLD's model, with a {fold} placeholder")
    parser.add_argument("--out", type=Path, help="write agreement_patients.csv and agreement.csv")
    args = parser.parse_args()
    if args.models:
        held_out, models = fold_models(args)
    else:
        held_out, models = None, {None: load_segmentation_model(args.model, backend="onnx")}
    views = {view.upper() for view in args.views.split(",")}
    rows = []
    for root in args.camus:
        for files in list_patients(root):
            if set(files.phases) != set(PHASES) or CAMUS_VIEWS[files.view] not in views:
                continue
            fold = None if held_out is None else held_out[files.patient]
            rows.append({"fold": fold, **patient_row(files, models[fold])})
    table = pd.DataFrame(rows)
    summary = agreement(table)
    pd.set_option("display.width", 160)
    which = "out-of-fold models" if args.models else (args.model or "the bundled model")
    print(f"{len(table)} views with ED and ES stills in {', '.join(map(str, args.camus))}; {which}")
    print(summary.round(2).to_string(index=False))
    covered = table["EF interval covers experts"].dropna()
    print(
        f"EF intervals covering the experts' EF: {int(covered.astype(bool).sum())}/{len(covered)}"
    )
    ratio = table["ED cavity / label 1"]
    print(
        f"ED cavity from the experts' wall / CAMUS cavity label: mean {ratio.mean():.3f} "
        f"(range {ratio.min():.3f} to {ratio.max():.3f})"
    )
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "agreement_patients.csv", index=False)
        summary.to_csv(args.out / "agreement.csv", index=False)


if __name__ == "__main__":
    main()
