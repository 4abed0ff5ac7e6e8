"""Evaluate regional analysis on a labelled dataset in the HMC-QU layout (HMC-QU or phantom).

Two figures: how well the six-segment split agrees with a phantom's own segment maps
(per-segment Dice; only a phantom knows them), and how well the hypokinesia flags find the
segments labelled MI in ``A4C.xlsx`` (cross-validated, patient-wise; see
:mod:`lvwall.regional.mi`). The split runs on the dataset's ground-truth masks, so the Dice
measures the split and not a segmenter, or on ``lvwall predict`` outputs to measure the
whole pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lvwall.data import SEGMENT_NAMES, EchoRecord, hmcqu, load_truth, truth_path
from lvwall.infer import read_masks_npz
from lvwall.regional.mi import DEFAULT_SCORE, MIEvaluation, cross_validate, segment_scores
from lvwall.regional.motion import wall_motion
from lvwall.wall import RegionalError, label_maps, segment_dice, split_sequence


@dataclass(frozen=True)
class DatasetEvaluation:
    """Per-recording split Dice (phantom only, else empty), the MI evaluation, and the
    recordings that could not be analysed with the reason (one sentence each)."""

    split_dice: pd.DataFrame
    mi: MIEvaluation
    failures: list[str]

    def dice_summary(self) -> pd.DataFrame:
        """Mean, minimum and 10th percentile of each segment's Dice over the recordings."""
        dice = self.split_dice[list(SEGMENT_NAMES)]
        return pd.DataFrame({"mean": dice.mean(), "min": dice.min(), "p10": dice.quantile(0.1)}).T


def evaluate_dataset(
    root: str | Path,
    predictions: str | Path | None = None,
    septal_side: str = "left",
    score: str = DEFAULT_SCORE,
    n_splits: int = 5,
    seed: int = 0,
    progress: Callable[[Iterable[EchoRecord]], Iterable[EchoRecord]] = iter,
) -> DatasetEvaluation:
    """Split and score every recording with masks in the dataset at ``root``.

    Masks come from the dataset's ground truth, or with ``predictions`` from
    ``PREDICTIONS/<ECHO>/masks.npz`` as ``lvwall predict`` writes them (whole recordings, cut
    to the cycle given in ``A4C.xlsx``). ``progress`` wraps the iteration over recordings
    (e.g. ``rich.progress.track``).
    """
    layout = hmcqu.find_layout(root)
    records = [r for r in hmcqu.read_a4c_xlsx(layout.xlsx) if r.mask_available]
    if not records:
        raise RegionalError(str(layout.xlsx), "lists no recording with a mask")
    dice_rows, scores, labels, patients, failures = [], [], [], [], []
    for record in progress(records):
        masks = _cycle_masks(layout, record, predictions)
        try:
            splits = split_sequence(masks, septal_side, source=record.echo)
        except RegionalError as error:
            failures.append(str(error))
            continue
        scores.append(segment_scores(wall_motion(splits), score))
        labels.append(record.segment_mi)
        patients.append(record.patient)
        if truth_path(layout.root, record.echo).is_file():
            truth = load_truth(layout.root, record.echo).segment_maps
            dice = segment_dice(label_maps(splits), truth)
            dice_rows.append({"echo": record.echo, **dict(zip(SEGMENT_NAMES, dice, strict=True))})
    if len(scores) < 2:
        raise RegionalError(
            str(layout.root), f"only {len(scores)} recordings could be analysed; need two"
        )
    mi = cross_validate(
        np.array(scores), np.array(labels), patients, n_splits=n_splits, score=score, seed=seed
    )
    split_dice = pd.DataFrame(dice_rows, columns=["echo", *SEGMENT_NAMES])
    return DatasetEvaluation(split_dice=split_dice, mi=mi, failures=failures)


def _cycle_masks(
    layout: hmcqu.HmcquLayout, record: EchoRecord, predictions: str | Path | None
) -> np.ndarray:
    if predictions is None:
        return hmcqu.read_mask_mat(hmcqu.mask_path(layout, record.echo))
    predicted = read_masks_npz(Path(predictions) / record.echo / "masks.npz")
    source = Path(predictions) / record.echo / "masks.npz"
    return predicted.cycle(record.reference_frame, record.end_of_cycle, source).masks
