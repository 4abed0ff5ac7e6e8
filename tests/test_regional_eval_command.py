"""``lvwall regional-eval``: split and flag figures over a labelled dataset, in one view or
both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data import hmcqu
from lvwall.data.records import VIEW_SEGMENTS, EchoRecord
from lvwall.regional.analysis import Thresholds
from lvwall.regional.schematic import beating_wall
from two_view_data import write_two_view_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HMC-QU-layout dataset of synthetic walls: every second one has a still SEG12."""
    root = tmp_path_factory.mktemp("hmcqu")
    layout = hmcqu.HmcquLayout(
        root, root / hmcqu.VIDEOS_SUBDIR, root / hmcqu.MASKS_SUBDIR, root / hmcqu.XLSX_NAME
    )
    layout.videos_dir.mkdir(parents=True)
    records = []
    for index in range(6):
        mi = np.arange(6) == 4 if index % 2 else np.zeros(6, bool)
        record = EchoRecord(f"ES{index:04d} _4CH_1", tuple(mi), 1, 3, True)
        hmcqu.write_mask_mat(hmcqu.mask_path(layout, record.echo), beating_wall(1.0 - mi, 3))
        records.append(record)
    hmcqu.write_a4c_xlsx(layout.xlsx, records)
    return root


def test_evaluation_prints_and_writes_the_figures(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    result = runner.invoke(app, ["regional-eval", str(dataset), "--folds", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Hypokinesia flags" in result.output
    assert "Split Dice" not in result.output  # no phantom truth in this dataset
    assert "85.97%" in result.output
    assert "sensitivity 100.00%, specificity 100.00%" in result.output
    names = {path.name for path in out.iterdir()}
    assert names == {"split_dice.csv", "mi_segments.csv", "summary.txt", "thresholds.json"}
    thresholds = Thresholds.load(out / "thresholds.json")
    assert thresholds.score == "combined"  # the default score
    assert np.isfinite(thresholds.values[4])


def test_a_folder_that_is_not_a_dataset_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["regional-eval", str(tmp_path)])
    assert result.exit_code == 1
    assert "not an HMC-QU dataset folder" in result.output


def test_an_unknown_score_is_a_usage_error(dataset: Path) -> None:
    result = runner.invoke(app, ["regional-eval", str(dataset), "--score", "speed"])
    assert result.exit_code == 2
    assert "unknown score" in result.output


@pytest.fixture(scope="module")
def two_views(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("two-views") / "dataset"
    return root, write_two_view_dataset(root)


def test_both_views_are_reported_per_segment_and_per_patient(two_views, tmp_path: Path) -> None:
    root, predictions = two_views
    out = tmp_path / "eval"
    result = runner.invoke(
        app,
        ["regional-eval", str(root), "--predictions", str(predictions), "--folds", "3"]
        + ["--out", str(out)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "A4C (6 recordings) and A2C (7 recordings)" in result.output
    for row in (*VIEW_SEGMENTS["A4C"], *VIEW_SEGMENTS["A2C"], "A2C recording", "patient"):
        assert row in result.output
    assert "Patient-level MI detection over the 12 segments of A4C and A2C" in result.output
    names = {path.name for path in out.iterdir()}
    assert names == {
        "split_dice.csv",
        "mi_segments.csv",
        "mi_patients.csv",
        "summary.txt",
        "thresholds.json",
        "thresholds_a2c.json",
    }
    assert Thresholds.load(out / "thresholds.json", "A4C").view == "A4C"
    assert np.isfinite(Thresholds.load(out / "thresholds_a2c.json", "A2C").values[1])
    patients = (out / "mi_patients.csv").read_text().splitlines()
    assert patients[0] == "patient,mi,flagged,A4C_mi,A4C_flagged,A2C_mi,A2C_flagged"
    assert patients[1] == "ES0000,True,True,False,False,True,True"
    segments = (out / "mi_segments.csv").read_text().splitlines()
    assert segments[-1].startswith("patient (any of 12 segments),A4C+A2C,1.0,1.0")


def test_without_predictions_a2c_is_left_out_with_a_note(two_views) -> None:
    root, _ = two_views
    result = runner.invoke(
        app, ["regional-eval", str(root), "--folds", "3"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "A4C (6 recordings)" in result.output and "SEG4" not in result.output
    assert "note:" in result.output and "give --predictions" in result.output
