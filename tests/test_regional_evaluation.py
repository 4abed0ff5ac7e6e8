"""Evaluation on a dataset in the HMC-QU layout: split Dice on a phantom and MI figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvwall.data import hmcqu
from lvwall.data.phantom import write_dataset
from lvwall.data.records import SEGMENT_NAMES, EchoRecord
from lvwall.regional.evaluation import DatasetEvaluation, evaluate_dataset
from lvwall.wall.errors import RegionalError

N_RECORDINGS = 4


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EchoRecord]]:
    root = tmp_path_factory.mktemp("phantom") / "dataset"
    records = write_dataset(
        root, N_RECORDINGS, seed=3, progress=False, fixed_params={"width": 160, "height": 112}
    )
    return root, records


@pytest.fixture(scope="module")
def from_truth(phantom) -> DatasetEvaluation:
    return evaluate_dataset(phantom[0], n_splits=2)


def test_split_agrees_with_the_phantom_segment_maps(phantom, from_truth) -> None:
    _, records = phantom
    evaluation = from_truth
    assert list(evaluation.split_dice["echo"]) == [record.echo for record in records]
    summary = evaluation.dice_summary()
    assert list(summary.columns) == list(SEGMENT_NAMES)
    assert (summary.loc["mean"] >= 0.85).all(), summary
    assert evaluation.failures == []


def test_mi_labels_come_from_the_sheet(phantom, from_truth) -> None:
    _, records = phantom
    mi = from_truth.mi
    assert mi.score == "combined"  # the default score
    assert np.array_equal(mi.truth, np.array([record.segment_mi for record in records]))
    assert mi.n_splits == 2


def _write_predictions(root: Path, records: list[EchoRecord], out: Path) -> None:
    """Predictions as `lvwall predict` writes them: the whole recording, here the true cycle
    between empty frames before and after it."""
    layout = hmcqu.find_layout(root)
    for record in records:
        cycle = hmcqu.read_mask_mat(hmcqu.mask_path(layout, record.echo))
        before = np.zeros((record.reference_frame - 1, *cycle.shape[1:]), np.uint8)
        whole = np.concatenate([before, cycle, np.zeros_like(cycle[:2])])
        (out / record.echo).mkdir(parents=True)
        np.savez_compressed(out / record.echo / "masks.npz", model=whole)


def test_predictions_are_cut_to_the_cycle_of_the_sheet(phantom, from_truth, tmp_path) -> None:
    root, records = phantom
    _write_predictions(root, records, tmp_path)
    from_predictions = evaluate_dataset(root, predictions=tmp_path, n_splits=2)
    assert np.allclose(
        from_predictions.split_dice[list(SEGMENT_NAMES)], from_truth.split_dice[list(SEGMENT_NAMES)]
    )


def test_a_recording_that_cannot_be_split_is_skipped_and_reported(phantom, tmp_path: Path) -> None:
    root, records = phantom
    _write_predictions(root, records, tmp_path)
    spoiled = tmp_path / records[0].echo / "masks.npz"
    with np.load(spoiled) as archive:
        whole = archive["model"]
    whole[records[0].reference_frame] = 0  # the cycle's second frame loses its wall
    np.savez_compressed(spoiled, model=whole)
    evaluation = evaluate_dataset(root, predictions=tmp_path, n_splits=2)
    assert len(evaluation.split_dice) == N_RECORDINGS - 1
    assert len(evaluation.failures) == 1
    assert evaluation.failures[0].startswith(f"{records[0].echo}, frame 2: the wall mask is empty")


def test_too_few_analysable_recordings_is_an_error(phantom, tmp_path: Path) -> None:
    root, records = phantom
    _write_predictions(root, records, tmp_path)
    for record in records[1:]:
        np.savez_compressed(tmp_path / record.echo / "masks.npz", model=np.zeros((40, 8, 8)))
    with pytest.raises(RegionalError, match="only 1 recordings could be analysed"):
        evaluate_dataset(root, predictions=tmp_path, n_splits=2)
