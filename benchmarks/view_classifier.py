"""How well does the view classifier tell A4C from A2C on patients it never saw, and on HMC-QU?

Run: ``.venv/bin/python benchmarks/view_classifier.py [--camus DIR] [--hmcqu DIR]
[--models TEMPLATE] [--sweep] [--write]`` (defaults ``../shared/data/camus-2view-dev`` and
``../shared/data/hmcqu-sample``).

Every CAMUS recording (one patient's ED and ES stills of one view) goes through lvwall's
prediction pipeline (``segment_frames``, as ``lvwall predict`` runs it), so the classifier
sees the same model-size grey frames and predicted walls at fitting as at inference. By
default the bundled segmentation model predicts the walls; it was trained on all of these
frames, so its walls are better than on a new patient. With ``--models
'runs/cv2view-a/camus-fold{fold}/last.ckpt'`` each patient is segmented by the fold model of
``camus_cv.py``'s split that never trained on it instead.

The classifier is cross-validated over the same patient-wise 5 folds (``camus_cv.py``'s
``lvwall.data.kfold`` split): the accuracy per view and overall, of frames and of recordings
(a recording's frame probabilities averaged, as ``ViewClassifier.classify`` does), with 95 %
percentile bootstrap intervals over patients (Efron & Tibshirani, An Introduction to the
Bootstrap, 1993; patients resampled whole, since a patient's frames are not independent),
and the confusion matrix. Three ablations are cross-validated beside it, fitted the same way
(standardised pixels, 50 principal components, logistic regression with C = 0.1): the same
window with only what lies beyond the frame's edge filled, or nothing filled (the black
around the fan and beyond the frame kept), and the entire frame at 32x32. Then each, fitted
on every CAMUS frame, classifies the real HMC-QU two-view exam read through lvwall's input
path; those two recordings are never fitted on. ``--sweep`` repeats the cross-validation
and the check for narrower and wider windows, filled and unfilled. ``--write`` saves the
classifier as the bundled ``view-model.json``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from camus_cv import fold_splits
from lvwall.benchmark import machine_facts
from lvwall.data import (
    MODEL_SIZE,
    VIEWS,
    InputSource,
    LabelledRecording,
    load_labelled,
    whole_frame,
)
from lvwall.infer import PredictOptions, SegmentationModel, load_segmentation_model, segment_frames
from lvwall.model import ASSETS_DIR
from lvwall.quality import VIEW_MODEL_NAME, WallCrop, fit_view_classifier

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: The HMC-QU two-view exam of one patient, HMCQU_PATIENT: file name and true view.
HMCQU_PATIENT = "ES0001"
HMCQU_EXAM: dict[str, str] = {"ES0001 _4CH_1.gif": "A4C", "ES0001_CH2_1.gif": "A2C"}
#: Segmentation as ``lvwall predict`` runs it; quality control does not change the masks.
OPTIONS = PredictOptions(quality=False)
BOOTSTRAP_SAMPLES = 2000
#: Side of the whole-frame ablation's image.
WHOLE_FRAME_SIDE = 32
#: The windows of ``--sweep``: narrower and wider than the bundled :class:`WallCrop`.
SWEEP_CROPS: dict[str, WallCrop] = {
    "narrow (0.5, 0.5, 0.1, 0.6)": WallCrop(left=0.5, right=0.5, above=0.1, below=0.6),
    "bundled (0.7, 0.7, 0.1, 0.8)": WallCrop(),
    "wide (0.9, 0.9, 0.1, 1.0)": WallCrop(left=0.9, right=0.9, above=0.1, below=1.0),
}

#: P(A2C) of each frame of one recording, from its grey frames and predicted walls.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: A way of classifying: fitted on (greys, masks, view) recordings, it gives a Scorer.
Method = Callable[[list[tuple[np.ndarray, np.ndarray, str]]], Scorer]


@dataclass(frozen=True)
class Segmented:
    """One recording's model-size grey frames and predicted walls, and who and what it is."""

    greys: np.ndarray
    masks: np.ndarray
    view: str
    patient: str


def segmented(frames: list[np.ndarray], model: SegmentationModel) -> tuple[np.ndarray, np.ndarray]:
    """The model-size grey frames and predicted walls of one recording's RGB frames."""
    results = list(segment_frames(frames, model, OPTIONS))
    return np.stack([frame.grey for frame in results]), np.stack([frame.mask for frame in results])


def as_video_frames(recording: LabelledRecording) -> list[np.ndarray]:
    """A CAMUS recording's frames as uint8 RGB, as a decoder delivers them (the PNGs are
    uint8 grey, so this gives back exactly their pixels)."""
    return [
        np.repeat(np.round(frame * 255).astype(np.uint8)[:, :, None], 3, axis=2)
        for frame in recording.frames
    ]


def bundled_method(crop: WallCrop) -> Method:
    """lvwall's classifier with window ``crop``, read inside each recording's sector."""

    def fit(recordings: list[tuple[np.ndarray, np.ndarray, str]]) -> Scorer:
        classifier = fit_view_classifier(recordings, crop=crop)
        return lambda greys, masks: classifier.predict_proba(greys, masks)[:, 1]

    return fit


def table_method(features: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Method:
    """An ablation: ``features`` of a recording's frames, through the same standardisation,
    principal components and logistic regression as :func:`lvwall.quality.fit_view_classifier`."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit(recordings: list[tuple[np.ndarray, np.ndarray, str]]) -> Scorer:
        table = np.concatenate([features(greys, masks) for greys, masks, _ in recordings])
        views = np.concatenate([[view] * len(greys) for greys, _, view in recordings])
        pipeline = make_pipeline(
            StandardScaler(), PCA(50, random_state=0), LogisticRegression(C=0.1, max_iter=5000)
        ).fit(table, views == VIEWS[1])
        return lambda greys, masks: pipeline.predict_proba(features(greys, masks))[:, 1]

    return fit


def whole_frames(greys: np.ndarray, masks: np.ndarray) -> np.ndarray:
    side = (WHOLE_FRAME_SIDE, WHOLE_FRAME_SIDE)
    return np.stack(
        [cv2.resize(grey, side, interpolation=cv2.INTER_AREA).ravel() for grey in greys]
    )


def frame_edge_filled(crop: WallCrop) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``crop``'s windows with the whole frame taken for the sector: only what lies beyond
    the frame's edge is filled; the black around the fan stays black."""
    return lambda greys, masks: crop.windows(greys, masks, whole_frame(*greys.shape[1:]))


def nothing_filled(crop: WallCrop) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``crop``'s windows with nothing filled: the frames are padded with black (wider than
    any window reaches, since margins are at most one wall extent) and taken whole for the
    sector, so the black around the fan and beyond the frame both stay black."""

    def features(greys: np.ndarray, masks: np.ndarray) -> np.ndarray:
        padding = ((0, 0), (MODEL_SIZE, MODEL_SIZE), (MODEL_SIZE, MODEL_SIZE))
        padded = np.pad(greys, padding)
        return crop.windows(padded, np.pad(masks, padding), whole_frame(*padded.shape[1:]))

    return features


def methods(crop: WallCrop) -> dict[str, Method]:
    return {
        "wall window, outside sector filled": bundled_method(crop),
        "wall window, beyond frame filled": table_method(frame_edge_filled(crop)),
        "wall window, nothing filled": table_method(nothing_filled(crop)),
        f"whole frame at {WHOLE_FRAME_SIDE}x{WHOLE_FRAME_SIDE}": table_method(whole_frames),
    }


#: The methods ``--sweep`` tries with each window: the bundled one and the unfilled one.
SWEPT_METHODS: tuple[str, ...] = (
    "wall window, outside sector filled",
    "wall window, nothing filled",
)


def out_of_fold(method: Method, data: list[Segmented], folds: list[set[str]]) -> np.ndarray:
    """P(A2C) of every frame (recordings' frames in order) from ``method`` fitted without
    the patients of its fold."""
    scores: list[np.ndarray | None] = [None] * len(data)
    for patients in folds:
        scorer = method([(r.greys, r.masks, r.view) for r in data if r.patient not in patients])
        for index, recording in enumerate(data):
            if recording.patient in patients:
                scores[index] = scorer(recording.greys, recording.masks)
    return np.concatenate(scores)


def bootstrap_interval(right: np.ndarray, patients: np.ndarray, seed: int = 0) -> tuple:
    """95 % percentile interval of the accuracy, patients resampled with replacement."""
    names, index = np.unique(patients, return_inverse=True)
    hits = np.bincount(index, weights=right, minlength=len(names))
    counts = np.bincount(index, minlength=len(names))
    draws = np.random.default_rng(seed).integers(0, len(names), (BOOTSTRAP_SAMPLES, len(names)))
    accuracies = hits[draws].sum(axis=1) / counts[draws].sum(axis=1)
    return tuple(np.percentile(accuracies, [2.5, 97.5]))


def accuracy_table(title: str, called: np.ndarray, views: np.ndarray, patients: np.ndarray) -> None:
    print(f"\n{title}")
    print(f"  {'view':5s} {'n':>5s} {'right':>6s} {'accuracy':>8s}  95 % CI (bootstrap, patients)")
    for view in (*VIEWS, "all"):
        rows = np.ones(len(views), bool) if view == "all" else views == view
        right = (called[rows] == views[rows]).astype(float)
        low, high = bootstrap_interval(right, patients[rows])
        print(
            f"  {view:5s} {rows.sum():5d} {int(right.sum()):6d} {right.mean():8.3f}  "
            f"[{low:.3f}, {high:.3f}]"
        )
    print(f"  confusion, rows true view, columns called: {' '.join(f'{v:>5s}' for v in VIEWS)}")
    for truth in VIEWS:
        counts = [int(((views == truth) & (called == view)).sum()) for view in VIEWS]
        print(f"  {truth:>43s} {' '.join(f'{count:5d}' for count in counts)}")


def call(probability: np.ndarray) -> np.ndarray:
    return np.where(probability >= 0.5, VIEWS[1], VIEWS[0])


def report_cv(name: str, scores: np.ndarray, data: list[Segmented]) -> float:
    """Print the frame and recording accuracy of out-of-fold ``scores``; the frame accuracy."""
    views = np.concatenate([[r.view] * len(r.greys) for r in data])
    patients = np.concatenate([[r.patient] * len(r.greys) for r in data])
    accuracy_table(f"{name}: frames", call(scores), views, patients)
    # A recording's call averages its frames' probabilities, as ViewClassifier.classify does.
    bounds = np.cumsum([0] + [len(r.greys) for r in data])
    means = np.array(
        [scores[start:end].mean() for start, end in zip(bounds[:-1], bounds[1:], strict=True)]
    )
    accuracy_table(
        f"{name}: recordings (frames averaged)",
        call(means),
        np.array([r.view for r in data]),
        np.array([r.patient for r in data]),
    )
    return float((call(scores) == views).mean())


def cv_accuracy(method: Method, data: list[Segmented], folds: list[set[str]]) -> float:
    """The out-of-fold frame accuracy of ``method``, printed by nothing."""
    views = np.concatenate([[r.view] * len(r.greys) for r in data])
    return float((call(out_of_fold(method, data, folds)) == views).mean())


def read_hmcqu(folder: Path, model: SegmentationModel) -> list[Segmented]:
    exam = []
    for name, view in HMCQU_EXAM.items():
        recording = InputSource(folder / name, name).open()
        greys, masks = segmented(list(recording.frames()), model)
        exam.append(Segmented(greys, masks, view, HMCQU_PATIENT))
    return exam


def hmcqu_line(name: str, scorer: Scorer, exam: list[Segmented]) -> str:
    """Per HMC-QU recording: the call from its averaged probability, and frames right."""
    cells = []
    for recording in exam:
        scores = scorer(recording.greys, recording.masks)
        called = call(np.array([scores.mean()]))[0]
        right = int((call(scores) == recording.view).sum())
        cells.append(
            f"{recording.view} -> {called} (P(A2C) {scores.mean():.2f}, frames right "
            f"{right}/{len(scores)})"
        )
    return f"  {name:38s} " + "; ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=SHARED / "camus-2view-dev")
    parser.add_argument("--hmcqu", type=Path, default=SHARED / "hmcqu-sample")
    parser.add_argument("--models", help="fold FOLD's segmentation model, {fold} placeholder")
    parser.add_argument("--sweep", action="store_true", help="also try other window sizes")
    parser.add_argument("--write", action="store_true", help=f"write {VIEW_MODEL_NAME}")
    parser.add_argument("--asset", type=Path, default=ASSETS_DIR / VIEW_MODEL_NAME)
    args = parser.parse_args()
    started = time.perf_counter()
    facts = machine_facts()
    print(
        f"processor: {facts['cpu']}, {facts['cores_available']} cores, load "
        f"{facts['load_average_1min']}"
    )
    print(f"command: {shlex.join(['python', *sys.argv])}")

    recordings = load_labelled([args.camus], progress=False)
    splits = fold_splits(recordings, None)
    bundled_model = load_segmentation_model(None)
    if args.models:
        held_out = {r.patient: fold for fold, _, test in splits for r in test}
        fold_models = {
            fold: load_segmentation_model(args.models.format(fold=fold), backend="onnx")
            for fold in sorted(set(held_out.values()))
        }
        walls = f"out-of-fold models {args.models}"
    else:
        walls = "the bundled model (trained on these frames)"
    data = []
    for recording in recordings:
        model = fold_models[held_out[recording.patient]] if args.models else bundled_model
        greys, masks = segmented(as_video_frames(recording), model)
        data.append(Segmented(greys, masks, recording.view, recording.patient))
    print(
        f"CAMUS {args.camus}: {sum(len(r.greys) for r in data)} frames, {len(data)} "
        f"recordings, {len({r.patient for r in data})} patients; walls from {walls} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    folds = [{r.patient for r in test} for _, _, test in splits]
    everything = [(r.greys, r.masks, r.view) for r in data]
    has_hmcqu = (args.hmcqu / next(iter(HMCQU_EXAM))).is_file()
    exam = read_hmcqu(args.hmcqu, bundled_model) if has_hmcqu else []

    crop = WallCrop()
    accuracies = {}
    for name, method in methods(crop).items():
        accuracies[name] = report_cv(
            f"Patient-wise {len(folds)}-fold CV, {name}", out_of_fold(method, data, folds), data
        )
    if has_hmcqu:
        print(f"\nHMC-QU two-view exam ({args.hmcqu}), never fitted on; fitted on all CAMUS")
        for name, method in methods(crop).items():
            print(hmcqu_line(name, method(everything), exam))
    else:
        print(f"\nHMC-QU check skipped: {args.hmcqu} holds no {next(iter(HMCQU_EXAM))}")
    if args.sweep:
        print("\nWindow sizes (left, right, above, below): CV frame accuracy; HMC-QU")
        for label, other in SWEEP_CROPS.items():
            for name in SWEPT_METHODS:
                method = methods(other)[name]
                accuracy = cv_accuracy(method, data, folds)
                print(f"  {label}, {name}: CV {accuracy:.3f}")
                if has_hmcqu:
                    print(hmcqu_line("", method(everything), exam))

    classifier = fit_view_classifier(
        everything,
        crop=crop,
        trained_on=(
            f"{sum(len(r.greys) for r in data)} CAMUS frames (ED and ES, A4C and A2C) of "
            f"{len({r.patient for r in data})} patients in camus-2view-dev, walls from {walls}; "
            "benchmarks/view_classifier.py"
        ),
        cv_accuracy=round(accuracies[SWEPT_METHODS[0]], 4),
    )
    if has_hmcqu:
        print("\nthe classifier fitted on all CAMUS frames (--write saves it), on HMC-QU:")
        for name, recording in zip(HMCQU_EXAM, exam, strict=True):
            verdict = classifier.classify(recording.greys, recording.masks)
            print(f"  {name:18s} true {recording.view}: {verdict.describe()}")
    if args.write:
        print(f"\nwrote {classifier.save(args.asset)}")
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
