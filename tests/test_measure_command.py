"""``lvwall measure`` end to end: masks.npz files and a tiny phantom video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.video import write_video
from lvwall.infer import SegmentationModel
from lvwall.measure import OUTPUT_FILES
from lvwall.regional.schematic import beating_wall

#: Wide enough that Rich wraps no message the tests look for.
runner = CliRunner(env={"COLUMNS": "400"})
#: A tiny phantom recording: one cycle from its first frame, in a small video.
TINY = {"width": 96, "height": 64, "n_frames": 13, "cycle_frames": 12, "first_ed_frame": 1}


@pytest.fixture(scope="module")
def cycle() -> np.ndarray:
    return beating_wall(n_frames=11, amplitude=10.0)


def _npz(folder: Path, name: str, masks: np.ndarray) -> Path:
    path = folder / name / "masks.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, model=masks, original=np.zeros((len(masks), 48, 96), np.uint8))
    return path


def test_masks_npz_gives_every_file_and_the_summary(tmp_path: Path, cycle: np.ndarray) -> None:
    path = _npz(tmp_path / "predicted", "echo 1", cycle)
    result = runner.invoke(app, ["measure", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "echo 1"
    assert sorted(p.name for p in folder.iterdir()) == sorted(OUTPUT_FILES.values())
    content = json.loads((folder / "measurements.json").read_text())
    assert (content["ed_frame"], content["es_frame"]) == (1, 6)
    assert content["volume_unit"] == "px3"
    # The frame was 48 x 96 pixels: a mask pixel spans 48/224 rows and 96/224 columns.
    assert content["pixel_size"] == {"row": 48 / 224, "column": 96 / 224, "unit": "px"}
    rows = (folder / "measurements.csv").read_text().splitlines()
    assert len(rows) == 1 + len(cycle)
    assert "lvwall measure" in result.output and f"{content['ef_percent']:.1f}" in result.output


def test_spacing_gives_millilitres_and_a_rerun_replaces_the_result(tmp_path, cycle) -> None:
    path = _npz(tmp_path, "echo", cycle)
    for _ in range(2):
        result = runner.invoke(
            app, ["measure", str(path), "-o", str(tmp_path / "out")] + ["--spacing", "0.4"]
        )
        assert result.exit_code == 0, result.output
    content = json.loads((tmp_path / "out" / "echo" / "measurements.json").read_text())
    assert content["volume_unit"] == "ml"
    assert content["pixel_size"]["unit"] == "mm"


@pytest.mark.parametrize("spacing", ["0", "-0.2"])
def test_spacing_that_is_not_positive_is_a_usage_error(tmp_path, cycle, spacing: str) -> None:
    path = _npz(tmp_path, "echo", cycle)
    result = runner.invoke(
        app, ["measure", str(path), "-o", str(tmp_path / "out"), "--spacing", spacing]
    )
    assert result.exit_code == 2
    assert "positive number of millimetres per pixel" in result.output
    assert not (tmp_path / "out").exists()


def test_every_input_is_processed_and_a_failure_exits_1(tmp_path: Path, cycle: np.ndarray) -> None:
    good = _npz(tmp_path, "good", cycle)
    short = _npz(tmp_path, "short", cycle[:6])
    missing = tmp_path / "absent.npz"
    out = tmp_path / "out"
    result = runner.invoke(app, ["measure", str(missing), str(short), str(good), "-o", str(out)])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert (out / "good" / "measurements.json").is_file()
    # Shorter than a cycle: measured, written, every number missing with the reason.
    content = json.loads((out / "short" / "measurements.json").read_text())
    assert content["ef_percent"] is None
    assert "shorter than one heartbeat" in content["missing"]["ef_percent"]
    assert "missing:" in result.output
    assert not (out / "absent").exists()


def test_a_folder_with_other_files_is_not_overwritten(tmp_path: Path, cycle: np.ndarray) -> None:
    path = _npz(tmp_path, "echo", cycle)
    (tmp_path / "out" / "echo").mkdir(parents=True)
    (tmp_path / "out" / "echo" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["measure", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "holds files lvwall did not write" in result.output
    assert [p.name for p in (tmp_path / "out" / "echo").iterdir()] == ["notes.txt"]


class _ReplayPredictor:
    """Answers each batch with the next probability maps of a prepared sequence."""

    def __init__(self, probabilities: np.ndarray) -> None:
        self.probabilities, self.position = probabilities.astype(np.float32), 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        out = self.probabilities[self.position : self.position + len(batch), None]
        self.position += len(batch)
        return out


def test_a_phantom_video_is_segmented_and_measured_against_its_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = simulate_recording(4, params=draw_params(4, **TINY, segment_mi=(False,) * 6))
    video = tmp_path / "phantom.avi"
    write_video(video, recording.video, fps=recording.params.fps)
    # The "network" answers with the phantom's own masks, softened at their borders.
    probabilities = np.stack(
        [ndimage.gaussian_filter(m.astype(np.float32), 1.0) for m in recording.masks]
    )
    model = SegmentationModel(_ReplayPredictor(probabilities), 0.5, 224, "replay")
    monkeypatch.setattr("lvwall.commands.measure.load_segmentation_model", lambda path=None: model)
    truth = recording.function
    spacing = str(truth.pixel_spacing_mm[0])
    result = runner.invoke(
        app, ["measure", str(video), "-o", str(tmp_path / "out"), "--spacing", spacing]
    )
    assert result.exit_code == 0, result.output
    content = json.loads((tmp_path / "out" / "phantom" / "measurements.json").read_text())
    assert content["ed_frame"] == 1
    assert content["es_frame"] == 1 + truth.es_index
    assert content["ef_percent"] == pytest.approx(truth.ef_percent, abs=5)
    assert content["gls_percent"] == pytest.approx(truth.gls_percent, abs=2)
    assert content["edv"] == pytest.approx(truth.volume_ml[0], rel=0.15)
    interval = content["intervals"]["ef_percent"]
    assert interval["low"] < content["ef_percent"] < interval["high"]
    assert (tmp_path / "out" / "phantom" / "measurements.png").stat().st_size > 10_000
