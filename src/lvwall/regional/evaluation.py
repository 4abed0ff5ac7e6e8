"""Evaluate regional analysis on a labelled dataset in the HMC-QU layout (HMC-QU or phantom).

Two figures: how well the six-segment split agrees with a phantom's own segment maps
(per-segment Dice; only a phantom knows them), and how well the hypokinesia flags find the
segments labelled MI in ``A4C.xlsx`` and, where the dataset has it, ``A2C.xlsx``
(cross-validated, patient-wise, thresholds learned per view; see :mod:`lvwall.regional.mi`).
With both views, a patient's A4C and A2C recordings are paired by the patient ID in their
ECHO names (:func:`lvwall.data.patient_id`) and judged on all twelve segments. The
split runs on the dataset's ground-truth masks, so the Dice measures the split and not a
segmenter, or on ``lvwall predict`` outputs to measure the whole pipeline; HMC-QU has no A2C
masks, so its A2C recordings are evaluated only from predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lvwall.data import (
    SEGMENT_NAMES,
    VIEWS,
    EchoRecord,
    echo_view,
    hmcqu,
    load_truth,
    patient_id,
    truth_path,
)
from lvwall.infer import read_masks_npz
from lvwall.regional.mi import (
    DEFAULT_SCORE,
    MIEvaluation,
    PatientEvaluation,
    cross_validate,
    segment_scores,
)
from lvwall.regional.motion import wall_motion
from lvwall.wall import RegionalError, label_maps, segment_dice, split_sequence

#: The file name of a recording's predicted masks below ``--predictions``.
_PREDICTED = "masks.npz"


@dataclass(frozen=True)
class DatasetEvaluation:
    """Per-recording split Dice (phantom only, else empty; with each recording's view, the
    segment columns by label position, named by the A4C segments), the MI evaluation of each
    view that could be evaluated (A4C, then A2C), the recordings that could not be analysed
    with the reason, and notes on what was left out (one sentence each)."""

    split_dice: pd.DataFrame
    views: dict[str, MIEvaluation]
    failures: list[str]
    notes: list[str]

    @property
    def mi(self) -> MIEvaluation:
        """The evaluation of the first view: A4C, unless only A2C could be evaluated."""
        return next(iter(self.views.values()))

    @property
    def patients(self) -> PatientEvaluation | None:
        """The per-patient evaluation over both views' twelve segments; ``None`` with A4C
        alone."""
        return PatientEvaluation(self.views) if len(self.views) > 1 else None

    def dice_summary(self) -> pd.DataFrame:
        """Mean, minimum and 10th percentile of each segment's (label position's) Dice over the
        recordings."""
        dice = self.split_dice[list(SEGMENT_NAMES)]
        return pd.DataFrame({"mean": dice.mean(), "min": dice.min(), "p10": dice.quantile(0.1)}).T


@dataclass(frozen=True)
class _Scored:
    """The scores and labels of one view's analysed recordings."""

    scores: list[np.ndarray]
    labels: list[tuple[bool, ...]]
    patients: list[str]


def evaluate_dataset(
    root: str | Path,
    predictions: str | Path | None = None,
    septal_side: str = "left",
    score: str = DEFAULT_SCORE,
    n_splits: int = 5,
    seed: int = 0,
    progress: Callable[[Iterable[EchoRecord]], Iterable[EchoRecord]] = iter,
) -> DatasetEvaluation:
    """Split and score every labelled recording of the dataset at ``root``, view by view.

    A recording's view is the one its ECHO name shows (``_4CH_``, ``_CH2_``, ...; a phantom
    lists its A2C recordings in ``A4C.xlsx``), else its sheet's. A view's recordings are
    those marked as having a ground-truth mask. Masks come from the dataset's ground truth,
    or with ``predictions`` from ``PREDICTIONS/<ECHO>/masks.npz`` as ``lvwall predict``
    writes them (whole recordings, cut to the cycle the sheet gives); a view whose sheet
    marks no mask (HMC-QU's ``A2C.xlsx``) then contributes every recording whose predictions
    are there. A view with fewer than two analysed recordings is left out with a note; with
    none left, :class:`RegionalError`. ``septal_side`` is the image side of each view's first
    wall (septal in A4C, inferior in A2C). ``progress`` wraps the iteration over recordings
    (e.g. ``rich.progress.track``).
    """
    layout = hmcqu.find_layout(root)
    by_view: dict[str, list[EchoRecord]] = {}
    for sheet_view, records in hmcqu.read_sheets(layout).items():
        for record in records:
            by_view.setdefault(echo_view(record.echo) or sheet_view, []).append(record)
    views: dict[str, MIEvaluation] = {}
    dice_rows: list[dict[str, object]] = []
    failures: list[str] = []
    notes: list[str] = []
    analysed = 0
    chosen_any = False
    for view in VIEWS:
        sheet = hmcqu.sheet_path(layout, view)
        chosen, note = _chosen_records(sheet, by_view.get(view, []), predictions)
        notes.extend([note] if note else [])
        chosen_any = chosen_any or bool(chosen)
        scored = _score_view(
            layout, chosen, view, predictions, septal_side, score, progress, dice_rows, failures
        )
        analysed += len(scored.scores)
        if len(scored.scores) < 2:
            if chosen:
                notes.append(
                    f"only {len(scored.scores)} {view} recordings could be analysed; {view} is "
                    "left out (cross-validation needs two)"
                )
            continue
        views[view] = cross_validate(
            np.array(scored.scores),
            np.array(scored.labels),
            scored.patients,
            n_splits=n_splits,
            score=score,
            seed=seed,
            view=view,
        )
    if not chosen_any:
        raise RegionalError(str(layout.xlsx), "lists no recording with a mask")
    if not views:
        raise RegionalError(
            str(layout.root), f"only {analysed} recordings could be analysed; need two of a view"
        )
    split_dice = pd.DataFrame(dice_rows, columns=["echo", "view", *SEGMENT_NAMES])
    return DatasetEvaluation(split_dice=split_dice, views=views, failures=failures, notes=notes)


def _chosen_records(
    sheet: Path, records: list[EchoRecord], predictions: str | Path | None
) -> tuple[list[EchoRecord], str | None]:
    """The records with a ground-truth mask; for a sheet that marks none (HMC-QU's
    A2C.xlsx), those whose predicted masks are there. With a note on what is left out."""
    with_masks = [record for record in records if record.mask_available]
    if with_masks:
        return with_masks, None
    if predictions is None:
        return [], (
            f"{sheet}: its recordings have no ground-truth masks; give --predictions (lvwall "
            "predict output of their videos) to evaluate them"
        )
    present = [record for record in records if _predicted(predictions, record).is_file()]
    missing = len(records) - len(present)
    note = (
        f"{sheet}: {missing} of its {len(records)} recordings have no {_PREDICTED} in "
        f"{predictions} and are left out"
    )
    return present, note if missing else None


def _score_view(
    layout: hmcqu.HmcquLayout,
    records: list[EchoRecord],
    view: str,
    predictions: str | Path | None,
    septal_side: str,
    score: str,
    progress: Callable[[Iterable[EchoRecord]], Iterable[EchoRecord]],
    dice_rows: list[dict[str, object]],
    failures: list[str],
) -> _Scored:
    """Split and score ``records`` of ``view``; adds phantom Dice rows and failures."""
    scored = _Scored([], [], [])
    for record in progress(records):
        masks = _cycle_masks(layout, record, predictions)
        try:
            splits = split_sequence(masks, septal_side, source=record.echo)
        except RegionalError as error:
            failures.append(str(error))
            continue
        scored.scores.append(segment_scores(wall_motion(splits), score))
        scored.labels.append(record.segment_mi)
        scored.patients.append(patient_id(record.echo))
        if truth_path(layout.root, record.echo).is_file():
            truth = load_truth(layout.root, record.echo).segment_maps
            dice = segment_dice(label_maps(splits), truth)
            dice_rows.append(
                {"echo": record.echo, "view": view, **dict(zip(SEGMENT_NAMES, dice, strict=True))}
            )
    return scored


def _predicted(predictions: str | Path, record: EchoRecord) -> Path:
    return Path(predictions) / record.echo / _PREDICTED


def _cycle_masks(
    layout: hmcqu.HmcquLayout, record: EchoRecord, predictions: str | Path | None
) -> np.ndarray:
    if predictions is None:
        return hmcqu.read_mask_mat(hmcqu.mask_path(layout, record.echo))
    source = _predicted(predictions, record)
    predicted = read_masks_npz(source)
    return predicted.cycle(record.reference_frame, record.end_of_cycle, source).masks
