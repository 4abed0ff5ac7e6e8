"""``lvwall regional-eval``: split and flag figures over a labelled dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data import hmcqu
from lvwall.data.records import EchoRecord
from lvwall.regional.analysis import Thresholds
from lvwall.regional.schematic import beating_wall

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
