"""One frame numbering everywhere a user reads frames: from 1, in a column or key named
``frame`` (or ``*_frame``), in every CSV and JSON that predict, measure and regional write.
The page's API is checked in test_serve_api.py (``quality.frames[].frame``, ``flagged``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.video import write_video
from lvwall.infer import SegmentationModel
from tiny_models import ReplayPredictor, soft_probabilities

runner = CliRunner(env={"COLUMNS": "400"})
N_FRAMES = 13
TINY = {"width": 96, "height": 64, "n_frames": N_FRAMES, "cycle_frames": 12, "first_ed_frame": 1}
COMMANDS = ("predict", "measure", "regional")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """predict, measure and regional run on one phantom video whose "network" answers with
    the phantom's own masks."""
    folder = tmp_path_factory.mktemp("numbering")
    recording = simulate_recording(4, params=draw_params(4, **TINY, segment_mi=(False,) * 6))
    video = folder / "phantom.avi"
    write_video(video, recording.video, fps=recording.params.fps)
    probabilities = soft_probabilities(recording.masks)
    with pytest.MonkeyPatch.context() as patch:
        for command in COMMANDS:
            patch.setattr(
                f"lvwall.commands.{command}.load_segmentation_model",
                lambda *args, **kwargs: SegmentationModel(
                    ReplayPredictor(probabilities), 0.5, 224, "replay"
                ),
            )
            result = runner.invoke(app, [command, str(video), "--out", str(folder / command)])
            assert result.exit_code == 0, result.output
    return folder


def _csv_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.csv"))


def test_every_csv_counts_frames_from_one_in_a_frame_column(outputs: Path) -> None:
    checked = []
    for path in _csv_files(outputs):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert "index" not in (rows[0] if rows else {}), f"{path} has an 'index' column"
        if rows and "frame" in rows[0]:
            frames = [int(row["frame"]) for row in rows]
            assert frames == list(range(1, len(rows) + 1)), path
            checked.append(path.name)
    # quality.csv and wall_area.csv (predict), measurements.csv (measure and regional),
    # motion.csv (regional).
    assert {"quality.csv", "wall_area.csv", "measurements.csv", "motion.csv"} <= set(checked)


def _frame_values(value, key: str = "") -> list[tuple[str, int]]:
    """Every number under a key that names a frame (``*frame``), anywhere in a JSON value."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _frame_values(v, k)]
    if isinstance(value, list):
        return [found for item in value for found in _frame_values(item, key)]
    if key.endswith("frame") and isinstance(value, int):
        return [(key, value)]
    return []


def test_every_json_frame_is_counted_from_one(outputs: Path) -> None:
    found = []
    for path in sorted(outputs.rglob("*.json")):
        values = _frame_values(json.loads(path.read_text()))
        assert all(1 <= number <= N_FRAMES for _, number in values), (path, values)
        found += [key for key, _ in values]
    assert {"ed_frame", "es_frame", "first_frame", "last_frame"} <= set(found)
