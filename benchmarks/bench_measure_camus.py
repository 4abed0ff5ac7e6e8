"""Two-view measurements from a model's masks against the same numbers from the experts' masks,
on the CAMUS ED/ES stills of camus-2view-dev: single-plane and biplane EF, GLS per view,
biplane EDV/ESV, the twelve segments' strain, interval coverage, and the method floor.

Run: ``.venv/bin/python benchmarks/bench_measure_camus.py [--camus DIR ...] [--model M |
--models TEMPLATE] [--out DIR] [--figure PNG]`` (default ``../shared/data/camus-2view-dev``,
the bundled model). For every patient, each view's ED and ES stills are segmented and
measured as ``lvwall measure --ed/--es`` measures them (phases as given), and the two views
as one exam (``lvwall measure --a2c``: biplane method of discs); the experts' wall masks
(label 2) go through the same code. With ``--models 'runs/cv2view/camus-fold{fold}/last.ckpt'``
each patient is segmented by the fold model of ``camus_cv.py``'s patient-wise split (same
``--camus`` folders) that never trained on it: the out-of-fold agreement; ``--folds 0,1``
measures the patients of those folds only (a study row run on some folds). ``--against
RUN/agreement_patients.csv`` compares the absolute EF and GLS errors with another run's,
paired over the patients both measured (Wilcoxon signed-rank).

Printed per number: n, how often the model gave none where the experts' masks gave one, the
mean absolute difference, the bias and the 95 % limits of agreement (bias +- 1.96 SD; Bland &
Altman, Lancet 1986); EDV and ESV as the ratio model / experts (the PNGs carry no pixel
spacing); the coverage of the nominal 90 % intervals, and the conformal scale ``q``
(:mod:`lvwall.measure.intervals`) that would make the EF and GLS intervals cover the experts'
numbers 90 % of the time, with the coverage each fold gets from the other folds' ``q``; why
numbers are missing. The method
floor compares lvwall's numbers from the experts' wall with the method of discs on the
experts' own cavity label (1), closed by the atrium (3): what the measuring code adds when
the wall is perfect. ``--figure`` draws Bland-Altman plots of the main numbers.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from camus_cv import fold_splits
from lvwall.benchmark import machine_facts
from lvwall.data import (
    CAMUS_VIEWS,
    PHASES,
    STRUCTURE_LABELS,
    InputSource,
    list_patients,
    load_labelled,
    load_patient,
    segment_names,
)
from lvwall.experiment import format_p, paired_wilcoxon
from lvwall.infer import (
    PredictOptions,
    SegmentationModel,
    SegmentedRecording,
    load_segmentation_model,
    segment_frames,
)
from lvwall.measure import (
    Endocardium,
    biplane_volume,
    conformal_scale,
    disc_volume,
    ejection_fraction,
    measure_exam,
    normalised_error,
)

DEFAULT_CAMUS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camus-2view-dev"
STILLS = {"A4C": (0, 1), "A2C": (0, 1)}
#: The numbers compared, by column stem, and how (difference, or ratio for volumes).
NUMBERS: dict[str, str] = {
    "EF A4C": "difference",
    "EF A2C": "difference",
    "EF biplane": "difference",
    "GLS A4C": "difference",
    "GLS A2C": "difference",
    "GLS two-view": "difference",
    "EDV biplane": "ratio",
    "ESV biplane": "ratio",
}
SEGMENTS = (*segment_names("A4C"), *segment_names("A2C"))
#: The numbers with an interval: the view whose measurement holds it (``None``: the two-view
#: exam's) and the kind of number it is calibrated as.
INTERVALS: dict[str, tuple[str | None, str]] = {
    "EF A4C": ("A4C", "ef_percent"),
    "EF A2C": ("A2C", "ef_percent"),
    "EF biplane": (None, "ef_percent"),
    "GLS A4C": ("A4C", "gls_percent"),
    "GLS A2C": ("A2C", "gls_percent"),
}


def predicted(paths: list[Path], model: SegmentationModel, name: str) -> SegmentedRecording:
    """The ED and ES stills segmented one by one, as ``lvwall measure --ed/--es`` does."""
    masks, probabilities = [], []
    for path in paths:
        recording = InputSource(path, path.stem).open()
        (frame,) = list(segment_frames(recording.frames(), model, PredictOptions()))
        masks.append(frame.mask)
        probabilities.append(frame.probability)
    return SegmentedRecording(
        name=name,
        masks=np.stack(masks),
        probabilities=np.stack(probabilities),
        frame_size=(recording.height, recording.width),
    )


def experts(files) -> tuple[SegmentedRecording, list[Path]]:
    """The experts' wall masks of one view, ED then ES, and the label files in that order."""
    truth = load_patient(files)
    order = [truth.meta["phase_frames"][phase] for phase in PHASES]
    recording = SegmentedRecording(
        name=truth.name, masks=truth.masks[order], frame_size=truth.meta["original_size"]
    )
    labels = [files.masks[files.phases.index(phase)] for phase in PHASES]
    return recording, labels


def label_border(labels: np.ndarray) -> Endocardium:
    """The experts' cavity (label 1) border from one end of the mitral annulus round the apex
    to the other: the cavity's outline without its stretch along the atrium (label 3)."""
    cavity = (labels == STRUCTURE_LABELS["cavity"]).astype(np.uint8)
    contours, _ = cv2.findContours(cavity, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=len)[:, 0, ::-1].astype(float)  # (row, col)
    atrium = (labels == STRUCTURE_LABELS["atrium"]).astype(np.uint8)
    atrium = cv2.dilate(atrium, np.ones((3, 3), np.uint8))
    on_annulus = atrium[outline[:, 0].astype(int), outline[:, 1].astype(int)] > 0
    if on_annulus.all() or not on_annulus.any():
        raise ValueError("the cavity touches no atrium, or only atrium")
    # Start just after the annulus stretch, so that the open border runs annulus to annulus.
    start = int(np.flatnonzero(on_annulus & ~np.roll(on_annulus, -1))[0]) + 1
    rolled = np.roll(outline, -start, axis=0)[~np.roll(on_annulus, -start)]
    return Endocardium(points=rolled, labels=np.ones(len(rolled), dtype=np.uint8))


def label_numbers(labels: dict[str, list[Path]]) -> dict[str, float]:
    """Single-plane and biplane EF by discs from the experts' cavity labels: the floor."""
    borders = {
        view: [label_border(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)) for path in paths]
        for view, paths in labels.items()
    }
    row = {
        f"EF {view}": ejection_fraction(disc_volume(ed), disc_volume(es))
        for view, (ed, es) in borders.items()
    }
    (ed4, es4), (ed2, es2) = borders["A4C"], borders["A2C"]
    row["EF biplane"] = ejection_fraction(biplane_volume(ed4, ed2), biplane_volume(es4, es2))
    return row


def exam_numbers(exam) -> dict[str, float | None]:
    """The compared numbers of one exam, ``None`` where missing."""
    row: dict[str, float | None] = {
        "EF biplane": exam.ef_percent,
        "EDV biplane": exam.edv,
        "ESV biplane": exam.esv,
        "GLS two-view": exam.gls_percent,
    }
    for view, single in exam.views.items():
        row[f"EF {view}"] = single.ef_percent
        row[f"GLS {view}"] = single.gls_percent
        row.update({name: single.segment_strain[name] for name in single.segment_names})
    return row


#: The JSON keys of the headline numbers whose absence is counted.
HEADLINE_KEYS = ("edv", "esv", "ef_percent", "gls_percent")


def why_missing(exam) -> str:
    """Why a headline number (volumes, EF, GLS) of the exam is missing, ``""`` when none is;
    the reason up to its details, so that patients group by it."""
    for source in (*exam.views.values(), exam):
        for key in HEADLINE_KEYS:
            if key in source.missing:
                return source.missing[key].split(":")[0].split("(")[0].strip()
    return ""


def patient_row(patient: str, views: dict, model: SegmentationModel) -> dict:
    """Every compared number of one patient, from the model's masks and the experts'."""
    truth, labels, ours = {}, {}, {}
    for view, files in views.items():
        truth[view], labels[view] = experts(files)
        order = [files.images[files.phases.index(phase)] for phase in PHASES]
        ours[view] = predicted(order, model, f"{patient}_{view}")
    from_truth = measure_exam(truth["A4C"], truth["A2C"], phases=STILLS)
    from_model = measure_exam(ours["A4C"], ours["A2C"], phases=STILLS)
    row: dict = {"patient": patient, "model missing": why_missing(from_model)}
    for key, value in exam_numbers(from_truth).items():
        row[f"{key}, experts"] = value
    for key, value in exam_numbers(from_model).items():
        row[f"{key}, model"] = value
    for key, value in label_numbers(labels).items():
        row[f"{key}, cavity label"] = value
    for key, (view, kind) in INTERVALS.items():
        interval = (from_model if view is None else from_model.views[view]).intervals.get(kind)
        reference = row[f"{key}, experts"]
        known = interval is not None and reference is not None
        row[f"{key} covered"] = interval.covers(reference) if known else None
        row[f"{key} score"] = (
            normalised_error(kind, row[f"{key}, model"], interval.ensemble, reference)
            if known
            else None
        )
    return row


def calibration(table: pd.DataFrame) -> pd.DataFrame:
    """Per interval kind: the conformal scale ``q`` these patients give (the experts' number
    as the truth, the numbers of a kind pooled), and, with fold models, the coverage each
    fold's patients get from the ``q`` of the other folds (cross-conformal check)."""
    rows = []
    for kind in dict.fromkeys(kind for _, kind in INTERVALS.values()):
        stems = [stem for stem, (_, of_kind) in INTERVALS.items() if of_kind == kind]
        scores = pd.concat(
            [table[["fold", f"{stem} score"]].set_axis(["fold", "score"], axis=1) for stem in stems]
        ).dropna(subset=["score"])
        row = {"kind": kind, "numbers": len(scores), "q here": scale_or_nan(scores["score"])}
        folds = scores["fold"].dropna().unique()
        if len(folds) > 1:
            covered = [
                (own["score"] <= scale_or_nan(scores[scores.fold != fold]["score"])).mean()
                for fold, own in scores.groupby("fold")
            ]
            row["coverage, q of the other folds"] = ", ".join(f"{c:.1%}" for c in covered)
        rows.append(row)
    return pd.DataFrame(rows)


def scale_or_nan(scores: pd.Series) -> float:
    """The conformal scale of ``scores``, NaN (which covers nothing) where they are too few
    for one (a ``--limit`` run)."""
    try:
        return conformal_scale(scores)
    except ValueError:
        return float("nan")


def agreement(table: pd.DataFrame, reference: str = "experts", against: str = "model") -> list:
    """n, missing, MAE, bias and 95 % limits of each number (ratio for volumes)."""
    rows = []
    for stem, kind in [*NUMBERS.items(), *((name, "difference") for name in SEGMENTS)]:
        if f"{stem}, {against}" not in table or f"{stem}, {reference}" not in table:
            continue
        ours, theirs = table[f"{stem}, {against}"], table[f"{stem}, {reference}"]
        both = ours.notna() & theirs.notna()
        values = (ours / theirs if kind == "ratio" else ours - theirs)[both].astype(float)
        spread = 1.96 * values.std()
        rows.append(
            {
                "number": stem + (" (ratio)" if kind == "ratio" else ""),
                "n": int(both.sum()),
                f"{against} gave none": int((ours.isna() & theirs.notna()).sum()),
                "MAE": (values - (1.0 if kind == "ratio" else 0.0)).abs().mean(),
                "bias": values.mean(),
                "LoA low": values.mean() - spread,
                "LoA high": values.mean() + spread,
            }
        )
    return rows


def paired_errors(table: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Per EF and GLS number, the mean absolute error of ``table``'s model and of ``other``'s
    over the patients both measured, and a paired Wilcoxon test of the absolute errors."""
    both = table.merge(other, on="patient", suffixes=("", " other"))
    rows = []
    for stem in ("EF A4C", "EF A2C", "EF biplane", "GLS A4C", "GLS A2C"):
        mine = (both[f"{stem}, model"] - both[f"{stem}, experts"]).abs().astype(float)
        theirs = (both[f"{stem}, model other"] - both[f"{stem}, experts other"]).abs().astype(float)
        test = paired_wilcoxon(mine.to_numpy(), theirs.to_numpy())
        rows.append(
            {
                "number": stem,
                "n": test.n,
                "MAE this run": mine[theirs.notna()].mean(),
                "MAE other": theirs[mine.notna()].mean(),
                "p": format_p(test.p_value),
            }
        )
    return pd.DataFrame(rows)


def bland_altman(table: pd.DataFrame, target: Path) -> None:
    """Bland-Altman plots (difference against mean) of EF and GLS, model against experts."""
    stems = ["EF biplane", "EF A4C", "EF A2C", "GLS A4C", "GLS A2C", "GLS two-view"]
    figure = Figure(figsize=(15, 8.5), layout="constrained")
    for axes, stem in zip(figure.subplots(2, 3).ravel(), stems, strict=True):
        ours, theirs = table[f"{stem}, model"], table[f"{stem}, experts"]
        both = ours.notna() & theirs.notna()
        mean = ((ours + theirs) / 2)[both].astype(float)
        difference = (ours - theirs)[both].astype(float)
        bias, spread = difference.mean(), 1.96 * difference.std()
        axes.scatter(mean, difference, s=8, alpha=0.6, color="#0072B2")
        for value, style in ((bias, "-"), (bias - spread, "--"), (bias + spread, "--")):
            axes.axhline(value, color="#D55E00", linestyle=style, linewidth=1)
        axes.axhline(0, color="0.5", linewidth=0.8)
        axes.set(
            xlabel=f"mean of model and experts ({stem}, %)",
            ylabel="model - experts (points)",
            title=f"{stem}: bias {bias:+.2f}, LoA {bias - spread:.1f} to {bias + spread:.1f}, "
            f"n = {len(difference)}",
        )
        axes.grid(alpha=0.3)
    figure.suptitle("camus-2view-dev: lvwall measure from the model's masks vs the experts' masks")
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)


def held_out_folds(camus: list[Path], folds: str | None) -> dict[str, int]:
    """The fold of ``camus_cv.py``'s patient-wise split that holds out each patient of the
    comma-separated ``folds`` (all when ``None``)."""
    recordings = load_labelled(camus, progress=False)
    return {r.patient: fold for fold, _, test in fold_splits(recordings, folds) for r in test}


def load_fold_models(template: str, folds: set[int]) -> dict[int, SegmentationModel]:
    """Each fold's model from a path ``template`` with a ``{fold}`` placeholder."""
    return {
        fold: load_segmentation_model(template.format(fold=fold), backend="onnx")
        for fold in sorted(folds)
    }


def fold_models(args: argparse.Namespace) -> tuple[dict[str, int], dict[int, SegmentationModel]]:
    """The held-out fold of every patient of ``--folds`` (all by default), and each of those
    folds' model, for ``--models``."""
    held_out = held_out_folds(args.camus, args.folds)
    return held_out, load_fold_models(args.models, set(held_out.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, nargs="+", default=[DEFAULT_CAMUS])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--model", type=Path, help="one model for every patient (default: bundled)")
    chosen.add_argument("--models", help="fold FOLD's model, with a {fold} placeholder")
    parser.add_argument(
        "--folds", help="with --models: only the patients of these comma-separated folds"
    )
    parser.add_argument(
        "--against",
        type=Path,
        help="another run's agreement_patients.csv: paired errors over the patients both have",
    )
    parser.add_argument("--limit", type=int, help="only the first N patients (a quick look)")
    parser.add_argument("--out", type=Path, help="write the per-patient and agreement tables")
    parser.add_argument("--figure", type=Path, help="write Bland-Altman plots to this PNG")
    args = parser.parse_args()
    if args.folds and not args.models:
        parser.error("--folds picks the patients of fold models; give --models too")
    started = time.perf_counter()
    if args.models:
        held_out, models = fold_models(args)
    else:
        held_out, models = None, {None: load_segmentation_model(args.model, backend="onnx")}
    patients: dict[str, dict] = {}
    for root in args.camus:
        for files in list_patients(root):
            if set(files.phases) == set(PHASES):
                patients.setdefault(files.patient, {})[CAMUS_VIEWS[files.view]] = files
    exams = {p: v for p, v in sorted(patients.items()) if set(v) == {"A4C", "A2C"}}
    if held_out is not None:
        exams = {p: v for p, v in exams.items() if p in held_out}
    rows = []
    for number, (patient, views) in enumerate(list(exams.items())[: args.limit], start=1):
        fold = None if held_out is None else held_out[patient]
        rows.append({"fold": fold, **patient_row(patient, views, models[fold])})
        if number % 25 == 0:
            print(f"  {number}/{len(exams)} patients, {time.perf_counter() - started:.0f} s")
    table = pd.DataFrame(rows)
    which = "out-of-fold models" if args.models else (args.model or "the bundled model")
    cpu = machine_facts()["cpu"]
    print(
        f"{len(table)} patients with A4C and A2C ED/ES stills in "
        f"{', '.join(map(str, args.camus))}; {which}; {cpu}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    pd.set_option("display.width", 160)
    summary = pd.DataFrame(agreement(table))
    print("\nmodel's masks vs experts' masks, both through lvwall's measuring code")
    print(summary.round(2).to_string(index=False))
    floor = pd.DataFrame(agreement(table, reference="cavity label", against="experts"))
    print("\nmethod floor: lvwall on the experts' wall vs discs on the experts' cavity label")
    print(floor.round(2).to_string(index=False))
    print("\ninterval coverage of the experts' number (nominal 90 %):")
    for stem in INTERVALS:
        covered = table[f"{stem} covered"].dropna().astype(bool)
        print(f"  {stem}: {covered.sum()}/{len(covered)} = {covered.mean():.1%}")
    print("\nconformal scale q for 90 % coverage of the experts' numbers (split conformal):")
    print(calibration(table).round(3).to_string(index=False))
    reasons = Counter(reason for reason in table["model missing"] if reason)
    print(f"\npatients with a missing number from the model's masks: {sum(reasons.values())}")
    for reason, count in reasons.most_common():
        print(f"  {count} x {reason}")
    if args.against:
        print(f"\nabsolute errors, this run against {args.against}, paired over patients:")
        print(paired_errors(table, pd.read_csv(args.against)).round(3).to_string(index=False))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "agreement_patients.csv", index=False)
        summary.to_csv(args.out / "agreement.csv", index=False)
        floor.to_csv(args.out / "floor.csv", index=False)
    if args.figure:
        bland_altman(table, args.figure)


if __name__ == "__main__":
    main()
