"""Accuracy of ``lvwall measure`` on phantom recordings with known truth.

Run: ``.venv/bin/python benchmarks/bench_measure.py --phantom DIR [--model M]`` on a dataset
written by ``lvwall simulate`` (one that no model trained on; the bundled model trained on
seeds 1 and 2). Every recording is measured twice: from the model's predictions on the
whole video (as ``lvwall measure`` does), and from the phantom's ground-truth masks of its
annotated cycle (so that the error comes from the method alone). Prints the mean absolute
error of EF (method of discs and area-length), GLS, segmental strain and volumes against
the phantom's analytic truth (``phantom_truth/<ECHO>.npz``), the per-segment AUROC of
segmental strain for the phantom's hypokinetic (MI) segments, and how often the intervals
cover the truth.

``--calibrate`` prints instead the conformal scales ``q`` that make the intervals cover the
truth of these recordings 90 % of the time (:data:`lvwall.measure.intervals.SCALES`; run it
on other recordings than those reported). ``--shares`` prints instead, from the
ground-truth masks only, the segmental strain error and AUROC for several weights of the
Eulerian estimate (:data:`lvwall.measure.strain.EULERIAN_WEIGHT`), and picks the weight of
least error among those that keep every segment's AUROC at least 0.9.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from lvwall.data import SEGMENT_NAMES, EchoRecord, FunctionTruth, InputSource, hmcqu, load_truth
from lvwall.infer import load_segmentation_model, segment_recording
from lvwall.measure import (
    Measurements,
    conformal_scale,
    endocardium,
    measure_recording,
    normalised_error,
    pixel_scale,
    segmental_strain,
)
from lvwall.wall import split_wall

#: Weights of the Eulerian estimate compared by --shares, and the AUROC every segment keeps.
WEIGHTS = (0.0, 0.25, 0.5, 0.6, 0.75, 1.0)
MIN_AUROC = 0.9


@dataclass(frozen=True)
class Case:
    """One recording: its record, truth, and measurements from predictions and from truth."""

    record: EchoRecord
    truth: FunctionTruth
    predicted: Measurements | None
    from_truth_masks: Measurements


def frame_size(layout: hmcqu.HmcquLayout, echo: str) -> tuple[int, int]:
    recording = InputSource(hmcqu.video_path(layout, echo), echo).open()
    return recording.height, recording.width


def measure_dataset(root: Path, model_path: Path | None, predict: bool) -> list[Case]:
    layout = hmcqu.find_layout(root)
    model = load_segmentation_model(model_path) if predict else None
    cases = []
    for record in hmcqu.read_a4c_xlsx(layout.xlsx):
        truth = load_truth(layout.root, record.echo).function
        size = frame_size(layout, record.echo)
        spacing = tuple(truth.pixel_spacing_mm)
        masks = hmcqu.read_mask_mat(hmcqu.mask_path(layout, record.echo))
        from_truth = measure_recording(masks, spacing_mm=spacing, frame_size=size)
        predicted = None
        if model is not None:
            source = InputSource(hmcqu.video_path(layout, record.echo), record.echo)
            found = segment_recording(source, model)
            predicted = measure_recording(
                found.masks, found.probabilities, spacing_mm=spacing, frame_size=size
            )
        cases.append(Case(record, truth, predicted, from_truth))
        print(f"  measured {record.echo}", flush=True)
    return cases


def _truth_value(truth: FunctionTruth, key: str) -> float:
    if key in SEGMENT_NAMES:
        return float(truth.strain_percent[SEGMENT_NAMES.index(key)])
    return {
        "edv": float(truth.volume_ml[0]),
        "esv": float(truth.volume_ml[truth.es_index]),
        "ef_percent": truth.ef_percent,
        "gls_percent": truth.gls_percent,
    }[key]


def _estimate(result: Measurements, key: str) -> float | None:
    if key in SEGMENT_NAMES:
        return result.segment_strain[key]
    return {
        "edv": result.edv,
        "esv": result.esv,
        "ef_percent": result.ef_percent,
        "gls_percent": result.gls_percent,
    }[key]


def error_table(cases: list[Case], which: str) -> pd.DataFrame:
    """Mean absolute error (and bias) of each number, over the recordings measured."""
    rows = []
    numbers = {
        "EF, discs (points)": lambda r, t: (r.ef_percent, t.ef_percent),
        "EF, area-length (points)": lambda r, t: (r.ef_area_length_percent, t.ef_percent),
        "GLS (points)": lambda r, t: (r.gls_percent, t.gls_percent),
        "EDV (%)": lambda r, t: _relative(r.edv, t.volume_ml[0]),
        "ESV (%)": lambda r, t: _relative(r.esv, t.volume_ml[t.es_index]),
    }
    for label, pick in numbers.items():
        pairs = [pick(getattr(case, which), case.truth) for case in cases]
        rows.append(_row(label, pairs))
    pairs = [
        (getattr(case, which).segment_strain[name], case.truth.strain_percent[k])
        for case in cases
        for k, name in enumerate(SEGMENT_NAMES)
    ]
    rows.append(_row("segmental strain (points)", pairs))
    return pd.DataFrame(rows).set_index("number")


def _relative(estimate: float | None, truth: float) -> tuple[float | None, float]:
    return (None if estimate is None else 100.0 * (estimate - truth) / truth), 0.0


def _row(label: str, pairs: list[tuple[float | None, float]]) -> dict:
    measured = [(e, t) for e, t in pairs if e is not None]
    errors = np.array([e - t for e, t in measured])
    return {
        "number": label,
        "MAE": np.abs(errors).mean() if len(errors) else np.nan,
        "bias": errors.mean() if len(errors) else np.nan,
        "max |error|": np.abs(errors).max() if len(errors) else np.nan,
        "measured": f"{len(measured)}/{len(pairs)}",
    }


def auroc_table(cases: list[Case], which: str) -> pd.DataFrame:
    """Per-segment AUROC of segmental strain (higher: less shortening) for MI segments."""
    rows = []
    for k, name in enumerate(SEGMENT_NAMES):
        measured = [c for c in cases if getattr(c, which).segment_strain[name] is not None]
        labels = np.array([c.record.segment_mi[k] for c in measured])
        scores = np.array([getattr(c, which).segment_strain[name] for c in measured])
        truth_scores = np.array([c.truth.strain_percent[k] for c in measured])
        both = 0 < labels.sum() < len(labels)
        rows.append(
            {
                "segment": name,
                "MI": int(labels.sum()),
                "non-MI": int(len(labels) - labels.sum()),
                "AUROC": roc_auc_score(labels, scores) if both else np.nan,
                "AUROC of the truth": roc_auc_score(labels, truth_scores) if both else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("segment")


def coverage_table(cases: list[Case]) -> pd.DataFrame:
    rows = []
    for label, keys in (
        ("EDV", ["edv"]),
        ("ESV", ["esv"]),
        ("EF", ["ef_percent"]),
        ("GLS", ["gls_percent"]),
        ("segmental strain", list(SEGMENT_NAMES)),
    ):
        covered, widths, total = [], [], 0
        for case in cases:
            for key in keys:
                total += 1
                found = case.predicted.intervals.get(key)
                if found is not None:
                    covered.append(found.covers(_truth_value(case.truth, key)))
                    widths.append(found.high - found.low)
        rows.append(
            {
                "number": label,
                "coverage": np.mean(covered) if covered else np.nan,
                "mean width": np.mean(widths) if widths else np.nan,
                "with interval": f"{len(covered)}/{total}",
            }
        )
    return pd.DataFrame(rows).set_index("number")


def phase_table(cases: list[Case]) -> pd.DataFrame:
    """Frames between the measured and the true ED and ES (the phantom is periodic: a true ED
    is any multiple of the cycle length from the annotated one)."""
    rows = []
    for case in cases:
        result = case.predicted
        if result.cycle is None:
            continue
        period = case.record.n_cycle_frames - 1
        true_ed = case.record.reference_frame - 1
        true_es = true_ed + case.truth.es_index
        for label, found, true in (
            ("ED", result.ed_index, true_ed),
            ("ES", result.es_index, true_es),
        ):
            offset = (found - true + period // 2) % period - period // 2
            rows.append({"phase": label, "frames off": abs(offset)})
    frame = pd.DataFrame(rows)
    return frame.groupby("phase")["frames off"].agg(["mean", "max"])


def print_accuracy(cases: list[Case]) -> None:
    pd.set_option("display.width", 120)
    print(f"\n{len(cases)} recordings, {sum(c.record.mi for c in cases)} with MI")
    for which, title in (
        ("predicted", "bundled model's masks of the whole video"),
        ("from_truth_masks", "the phantom's ground-truth masks (method only)"),
    ):
        print(f"\nErrors against the phantom's truth, {title}:")
        print(error_table(cases, which).round(2).to_string())
        print(f"\nAUROC of segmental strain for MI segments, {title}:")
        print(auroc_table(cases, which).round(3).to_string())
    print("\nED and ES frames from predictions, frames from the truth:")
    print(phase_table(cases).round(2).to_string())
    print("\nInterval coverage of the truth (nominal 90 %), predictions:")
    print(coverage_table(cases).round(3).to_string())
    for case in cases:
        reasons = set(case.predicted.missing.values())
        if reasons:
            print(
                f"{case.record.echo}: {len(case.predicted.missing)} missing: {'; '.join(reasons)}"
            )


def print_calibration(cases: list[Case]) -> None:
    print("\nConformal scales q (lvwall.measure.intervals.SCALES):")
    for kind, keys in (
        ("edv", ["edv"]),
        ("esv", ["esv"]),
        ("ef_percent", ["ef_percent"]),
        ("gls_percent", ["gls_percent"]),
        ("strain_percent", list(SEGMENT_NAMES)),
    ):
        scores = []
        for case in cases:
            for key in keys:
                found = case.predicted.intervals.get(key)
                estimate = _estimate(case.predicted, key)
                if found is not None and estimate is not None:
                    truth = _truth_value(case.truth, key)
                    scores.append(normalised_error(kind, estimate, found.ensemble, truth))
        print(f"  {kind}: {conformal_scale(scores):.3f}  (from {len(scores)} numbers)")


def print_shares(root: Path) -> None:
    layout = hmcqu.find_layout(root)
    truth_strain, labels, by_weight = [], [], {weight: [] for weight in WEIGHTS}
    for record in hmcqu.read_a4c_xlsx(layout.xlsx):
        truth = load_truth(layout.root, record.echo).function
        masks = hmcqu.read_mask_mat(hmcqu.mask_path(layout, record.echo))
        scale = pixel_scale(
            masks.shape[1:], frame_size(layout, record.echo), tuple(truth.pixel_spacing_mm)
        )
        ed, es = (endocardium(split_wall(masks[i]), scale) for i in (0, truth.es_index))
        for weight in WEIGHTS:
            by_weight[weight].append(segmental_strain(ed, es, eulerian_weight=weight))
        truth_strain.append(truth.strain_percent)
        labels.append(record.segment_mi)
    truth_strain, labels = np.array(truth_strain), np.array(labels)
    print(f"\nSegmental strain at ES from ground-truth masks of {len(labels)} recordings:")
    rows = []
    for weight, values in by_weight.items():
        values = np.array(values)
        aurocs = [
            roc_auc_score(labels[:, k], values[:, k])
            for k in range(len(SEGMENT_NAMES))
            if 0 < labels[:, k].sum() < len(labels)
        ]
        rows.append(
            {
                "Eulerian weight": weight,
                "MAE (points)": np.abs(values - truth_strain).mean(),
                "AUROC min": min(aurocs),
                "AUROC mean": np.mean(aurocs),
            }
        )
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    eligible = table[table["AUROC min"] >= MIN_AUROC]
    best = eligible.loc[eligible["MAE (points)"].idxmin(), "Eulerian weight"]
    print(f"least error with every AUROC >= {MIN_AUROC}: Eulerian weight {best}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phantom", type=Path, required=True, help="lvwall simulate output")
    parser.add_argument("--model", type=Path, help="default: the bundled model")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--calibrate", action="store_true", help="print the conformal scales")
    mode.add_argument("--shares", action="store_true", help="compare Eulerian weights")
    args = parser.parse_args()
    if args.shares:
        print_shares(args.phantom)
        return
    cases = measure_dataset(args.phantom, args.model, predict=True)
    if args.calibrate:
        print_calibration(cases)
    else:
        print_accuracy(cases)


if __name__ == "__main__":
    main()
