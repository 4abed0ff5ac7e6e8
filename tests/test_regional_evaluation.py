"""Evaluation on a dataset in the HMC-QU layout: split Dice on a phantom and MI figures, per
view and per patient over both views."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lvwall.data import hmcqu
from lvwall.data.phantom import write_dataset
from lvwall.data.records import SEGMENT_NAMES, VIEW_SEGMENTS, EchoRecord
from lvwall.regional.evaluation import DatasetEvaluation, evaluate_dataset
from lvwall.regional.schematic import beating_wall
from lvwall.wall.errors import RegionalError
from two_view_data import A2C_MI, A4C_MI, TWO_VIEW_PATIENTS, write_two_view_dataset

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


# --------------------------------------------------------------------------------------------
# Both views: A4C.xlsx and A2C.xlsx, paired by patient into twelve segments


@pytest.fixture(scope="module")
def two_views(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("two-views") / "dataset"
    return root, write_two_view_dataset(root)


@pytest.fixture(scope="module")
def from_both_views(two_views) -> DatasetEvaluation:
    root, predictions = two_views
    return evaluate_dataset(root, predictions=predictions, n_splits=3)


def test_both_views_are_evaluated_with_their_own_segments(from_both_views) -> None:
    evaluation = from_both_views
    assert list(evaluation.views) == ["A4C", "A2C"]
    a2c = evaluation.views["A2C"]
    assert a2c.view == "A2C" and len(a2c.truth) == TWO_VIEW_PATIENTS
    assert list(a2c.segment_metrics) == list(VIEW_SEGMENTS["A2C"])
    assert np.array_equal(a2c.truth[:, 1], [i in A2C_MI for i in range(TWO_VIEW_PATIENTS)])
    assert not np.delete(a2c.truth, 1, axis=1).any()
    assert evaluation.mi is evaluation.views["A4C"]
    assert evaluation.failures == [] and evaluation.notes == []


def test_recordings_of_one_patient_are_paired_into_twelve_segments(from_both_views) -> None:
    patients = from_both_views.patients
    table = patients.patients()
    both = range(TWO_VIEW_PATIENTS - 1)
    assert list(table.index) == [f"ES000{i}" for i in both]
    assert patients.incomplete == 1  # patient 6 has A2C only
    assert list(table["mi"]) == [i in A4C_MI | A2C_MI for i in both]
    assert list(table["A4C_mi"]) == [i in A4C_MI for i in both]
    assert list(table["A2C_mi"]) == [i in A2C_MI for i in both]
    metrics = patients.patient_metrics
    assert (metrics.n_positive, metrics.n_negative) == (4, 2)
    assert metrics.sensitivity == 1.0 and metrics.specificity == 1.0


def test_the_two_view_table_has_twelve_segments_then_recordings_and_patients(
    from_both_views,
) -> None:
    patients = from_both_views.patients
    table = patients.table()
    assert list(table.index) == [
        *VIEW_SEGMENTS["A4C"],
        "A4C recording (any segment)",
        *VIEW_SEGMENTS["A2C"],
        "A2C recording (any segment)",
        "patient (any of 12 segments)",
    ]
    assert list(table["view"]) == ["A4C"] * 7 + ["A2C"] * 7 + ["A4C+A2C"]
    assert np.isfinite(table.loc["SEG10", "threshold"]) and np.isnan(table.iloc[-1]["threshold"])
    summary = patients.summary()
    assert "85.97%" in summary  # the published A4C figures, for A4C only
    assert summary.count("Published") == 1
    assert "A2C: Recording-level MI detection (7 recordings" in summary
    assert "over the 12 segments of A4C and A2C (6 patients with every view; 1 patients" in summary


def test_a2c_without_masks_or_predictions_leaves_a4c_alone_with_a_note(two_views) -> None:
    root, _ = two_views
    evaluation = evaluate_dataset(root, n_splits=3)
    assert list(evaluation.views) == ["A4C"] and evaluation.patients is None
    assert len(evaluation.notes) == 1
    assert evaluation.notes[0].startswith(f"{root / 'A2C.xlsx'}: its recordings have no ground")
    assert "--predictions" in evaluation.notes[0]


def test_a2c_recordings_without_predictions_are_left_out_with_a_note(
    two_views, tmp_path: Path
) -> None:
    root, predictions = two_views
    partial = tmp_path / "predictions"
    shutil.copytree(predictions, partial)
    shutil.rmtree(partial / "ES0002 N_CH2_1")
    evaluation = evaluate_dataset(root, predictions=partial, n_splits=3)
    assert len(evaluation.views["A2C"].truth) == TWO_VIEW_PATIENTS - 1
    assert evaluation.notes == [
        f"{root / 'A2C.xlsx'}: 1 of its 7 recordings have no masks.npz in {partial} and are "
        "left out"
    ]
    assert evaluation.patients.incomplete == 2  # patient 2 now lacks A2C, patient 6 A4C
    assert len(evaluation.patients.patients()) == TWO_VIEW_PATIENTS - 2


def test_a2c_recordings_listed_in_a4c_xlsx_are_evaluated_as_a2c(tmp_path: Path) -> None:
    """A phantom lists its A2C recordings (``PH0001 _2CH_1``) in A4C.xlsx with masks; their
    names say their view."""
    root = tmp_path / "dataset"
    layout = hmcqu.HmcquLayout(
        root, root / hmcqu.VIDEOS_SUBDIR, root / hmcqu.MASKS_SUBDIR, root / hmcqu.XLSX_NAME
    )
    layout.videos_dir.mkdir(parents=True)
    records = []
    for index in range(4):
        for token, still in (("4CH", 4), ("2CH", 1)):
            mi = (np.arange(6) == still) & bool(index % 2)
            record = EchoRecord(f"PH000{index} _{token}_1", tuple(mi), 1, 3, True)
            hmcqu.write_mask_mat(hmcqu.mask_path(layout, record.echo), beating_wall(1.0 - mi, 3))
            records.append(record)
    hmcqu.write_a4c_xlsx(layout.xlsx, records)
    evaluation = evaluate_dataset(root, n_splits=2)
    assert list(evaluation.views) == ["A4C", "A2C"]
    assert np.array_equal(evaluation.views["A2C"].truth[:, 1], [False, True, False, True])
    assert list(evaluation.patients.patients().index) == ["PH0000", "PH0001", "PH0002", "PH0003"]
