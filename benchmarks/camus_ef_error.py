"""Where the single-plane EF error of out-of-fold masks comes from, and what averaging models
buys, on the CAMUS ED/ES stills of camus-2view-dev.

Run: ``.venv/bin/python benchmarks/camus_ef_error.py --models TEMPLATE [TEMPLATE ...]
[--folds 2,4] [--camus DIR ...] [--out DIR]``, each template a fold model path with a
``{fold}`` placeholder, as ``camus_cv.py`` writes them (``runs/X/camus-fold{fold}/last.ckpt``),
``LABEL=TEMPLATE`` to name it in the table.
Every patient of the chosen folds is segmented, per view and phase, by each template's model of
the fold that held the patient out; with several templates also by their ensemble (the mean of
their probability maps, thresholded at the first model's threshold). The experts' wall and
each model's go through ``lvwall measure``'s border and method of discs
(:func:`lvwall.measure.trace_border`, :func:`lvwall.measure.discs`), and each single-plane EF
error (model - experts) is split four ways by recomputing the EF with part of the model's
cavity replaced by the experts':

* widths only: the model's disc widths with the experts' long axes; long axis only: the other
  way round (V = pi / 4 * sum(D_i^2) * L / 20, Lang et al., JASE 28(1), 2015);
* end-diastole only: the model's EDV with the experts' ESV; end-systole only: the other way.

Printed per view and model: patients, mean LV-wall Dice of the stills, the EF's mean absolute
error and bias, and the mean absolute error of each partial EF. ``--out`` writes the per-still
table (``ef_error_stills.csv``: volume, long axis and root-mean-square disc width of the
experts' cavity and each model's).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench_measure_camus import held_out_folds, load_fold_models
from lvwall.benchmark import machine_facts
from lvwall.data import CAMUS_VIEWS, PHASES, VIEWS, InputSource, list_patients, load_patient
from lvwall.infer import PredictOptions, SegmentationModel, segment_frames
from lvwall.measure import Discs, PixelScale, discs, ejection_fraction, trace_border
from lvwall.metrics import frame_metrics
from lvwall.wall import RegionalError

DEFAULT_CAMUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camus-2view-dev"
#: Lengths in mask pixels: EF is a ratio and needs no spacing.
MASK_PIXELS = PixelScale(row=1.0, column=1.0, unit="px")
ENSEMBLE = "ensemble"
#: The partial EFs: which of (ED widths, ED long axis, ES widths, ES long axis) the model gives.
PARTS: dict[str, tuple[bool, bool, bool, bool]] = {
    "widths only": (True, False, True, False),
    "long axis only": (False, True, False, True),
    "ED only": (True, True, False, False),
    "ES only": (False, False, True, True),
}


def model_label(entry: str) -> tuple[str, str]:
    """``(label, template)`` of a ``--models`` entry, ``LABEL=TEMPLATE`` or a bare template
    (then labelled by its run folder)."""
    label, _, template = entry.rpartition("=")
    return (label or template.split("/camus-fold")[0].split("/")[-1]), template


def cavity(mask: np.ndarray) -> Discs | None:
    """The method of discs' cut of a wall mask's cavity, ``None`` if its wall cannot be split."""
    try:
        return discs(trace_border(mask.astype(np.uint8), MASK_PIXELS))
    except RegionalError:
        return None


def segmented_stills(
    image: Path, models: dict[str, SegmentationModel]
) -> dict[str, tuple[np.ndarray, float]]:
    """Each model's probability map of one still and its threshold, and their ensemble's."""
    frames = list(InputSource(image, image.stem).open().frames())
    maps = {}
    for name, model in models.items():
        (frame,) = segment_frames(frames, model, PredictOptions())
        maps[name] = (frame.probability, model.threshold)
    if len(models) > 1:
        first_threshold = next(iter(maps.values()))[1]
        maps[ENSEMBLE] = (np.mean([p for p, _ in maps.values()], axis=0), first_threshold)
    return maps


def still_rows(files, models: dict[str, SegmentationModel]) -> list[dict]:
    """One row per phase and source (experts, each model, the ensemble) of one recording."""
    truth_masks = load_patient(files)
    rows = []
    for phase in PHASES:
        truth = truth_masks.masks[truth_masks.meta["phase_frames"][phase]] > 0
        masks = {"experts": truth}
        image = files.images[files.phases.index(phase)]
        for name, (probability, threshold) in segmented_stills(image, models).items():
            masks[name] = probability >= threshold
        rows.extend(measured_rows(files, phase, masks, truth))
    return rows


def measured_rows(files, phase: str, masks: dict[str, np.ndarray], truth: np.ndarray) -> list[dict]:
    """One row per source of one still: its wall's Dice against ``truth`` and the method of
    discs' cut of its cavity (``cut``, ``None`` where the wall cannot be split)."""
    rows = []
    for source, mask in masks.items():
        cut = cavity(mask)
        rows.append(
            {
                "patient": files.patient,
                "view": CAMUS_VIEWS[files.view],
                "phase": phase,
                "source": source,
                "dice": frame_metrics(mask, truth)["dice"],
                "volume": np.nan if cut is None else cut.volume,
                "long axis": np.nan if cut is None else cut.length,
                "rms width": np.nan if cut is None else float(np.sqrt(np.mean(cut.widths**2))),
                "cut": cut,
            }
        )
    return rows


def partial_ef(model: dict[str, Discs], experts: dict[str, Discs], part: str) -> float:
    """The EF with the parts of ``PARTS[part]`` from the model's cavities, the rest from the
    experts'."""
    ed_widths, ed_length, es_widths, es_length = PARTS[part]

    def volume(phase: str, widths_from_model: bool, length_from_model: bool) -> float:
        widths = (model if widths_from_model else experts)[phase].widths
        length = (model if length_from_model else experts)[phase].length
        return Discs(widths=widths, length=length).volume

    return ejection_fraction(volume("ED", ed_widths, ed_length), volume("ES", es_widths, es_length))


def error_table(stills: pd.DataFrame) -> pd.DataFrame:
    """Per view and model: Dice, EF error and the partial EF errors (module docstring)."""
    cuts = stills.set_index(["view", "patient", "source", "phase"])["cut"]
    rows = []
    measured = stills[stills.source != "experts"]
    for (view, source), group in measured.groupby(["view", "source"], sort=False):
        errors: dict[str, list[float]] = {"EF": [], **{part: [] for part in PARTS}}
        for patient in group.patient.unique():
            model = {phase: cuts[view, patient, source, phase] for phase in PHASES}
            experts = {phase: cuts[view, patient, "experts", phase] for phase in PHASES}
            if any(cut is None for cut in (*model.values(), *experts.values())):
                continue
            truth = ejection_fraction(experts["ED"].volume, experts["ES"].volume)
            errors["EF"].append(ejection_fraction(model["ED"].volume, model["ES"].volume) - truth)
            for part in PARTS:
                errors[part].append(partial_ef(model, experts, part) - truth)
        ef = np.array(errors["EF"])
        rows.append(
            {
                "view": view,
                "model": source,
                "patients": len(ef),
                "Dice": group["dice"].mean(),
                "EF MAE": np.abs(ef).mean(),
                "EF bias": ef.mean(),
                **{f"MAE, {part}": np.abs(errors[part]).mean() for part in PARTS},
            }
        )
    return pd.DataFrame(rows).sort_values(
        "view", key=lambda view: view.map(VIEWS.index), kind="stable"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, nargs="+", default=[DEFAULT_CAMUS])
    parser.add_argument(
        "--models",
        nargs="+",
        required=True,
        help="fold model paths with a {fold} placeholder, each optionally LABEL=PATH",
    )
    parser.add_argument("--folds", help="only the patients of these comma-separated folds")
    parser.add_argument("--out", type=Path, help="write ef_error_stills.csv here")
    args = parser.parse_args()
    started = time.perf_counter()
    held_out = held_out_folds(args.camus, args.folds)
    folds = set(held_out.values())
    by_label = {
        label: load_fold_models(template, folds)
        for label, template in map(model_label, args.models)
    }
    models = {
        fold: {label: of_label[fold] for label, of_label in by_label.items()} for fold in folds
    }
    rows = []
    for root in args.camus:
        for files in list_patients(root):
            if files.patient in held_out and set(files.phases) == set(PHASES):
                rows.extend(still_rows(files, models[held_out[files.patient]]))
    stills = pd.DataFrame(rows)
    print(
        f"{stills.patient.nunique()} patients of folds {args.folds or 'all'} in "
        f"{', '.join(map(str, args.camus))}; {machine_facts()['cpu']}; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    pd.set_option("display.width", 200)
    print(error_table(stills).round(4).to_string(index=False))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stills.drop(columns="cut").to_csv(args.out / "ef_error_stills.csv", index=False)


if __name__ == "__main__":
    main()
