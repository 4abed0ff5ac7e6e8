"""``lvwall measure`` end to end: masks.npz files and a tiny phantom video."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.video import write_video
from lvwall.infer import SegmentationModel
from lvwall.measure import OUTPUT_FILES
from lvwall.regional.schematic import beating_wall
from tiny_models import ReplayPredictor, soft_probabilities

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
    assert f"EF {content['ef_percent']:.1f} %" in result.output


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
    assert f"{missing}: failed: does not exist" in result.output, "as predict says it"
    assert result.output.count(missing.name) == 1, "the failure names its input once"
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


def test_a_phantom_video_is_segmented_and_measured_against_its_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = simulate_recording(4, params=draw_params(4, **TINY, segment_mi=(False,) * 6))
    video = tmp_path / "phantom.avi"
    write_video(video, recording.video, fps=recording.params.fps)
    # The "network" answers with the phantom's own masks, softened at their borders.
    probabilities = soft_probabilities(recording.masks)
    model = SegmentationModel(ReplayPredictor(probabilities), 0.5, 224, "replay")
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


def test_an_out_folder_inside_the_input_folder_is_not_searched_for_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = simulate_recording(4, params=draw_params(4, **TINY, segment_mi=(False,) * 6))
    write_video(tmp_path / "phantom.avi", recording.video, fps=recording.params.fps)
    probabilities = soft_probabilities(recording.masks)
    monkeypatch.setattr(
        "lvwall.commands.measure.load_segmentation_model",
        lambda path=None: SegmentationModel(ReplayPredictor(probabilities), 0.5, 224, "replay"),
    )
    out = tmp_path / "out"
    for _run in range(2):
        result = runner.invoke(app, ["measure", str(tmp_path), "-o", str(out)])
        assert result.exit_code == 0, result.output
    # The first run's measurements.png is an image: searched, it would be a second recording.
    assert sorted(path.name for path in out.iterdir() if path.is_dir()) == ["phantom"]


def test_a2c_measures_one_exam_with_biplane_ef(tmp_path: Path, cycle: np.ndarray) -> None:
    four = _npz(tmp_path, "ES0009 _4CH_1", cycle)
    two = _npz(tmp_path, "ES0009_CH2_1", beating_wall(n_frames=14, amplitude=7.0))
    out = tmp_path / "out"
    result = runner.invoke(app, ["measure", str(four), "--a2c", str(two), "-o", str(out)])
    assert result.exit_code == 0, result.output
    content = json.loads((out / "ES0009" / "exam.json").read_text())
    assert content["biplane"]["ef_percent"] is not None
    assert set(content["single_plane"]) == {"A4C", "A2C"}
    assert len(content["segments"]) == 12
    assert "biplane EF" in result.output and "ES0009 (A4C+A2C)" in result.output


def test_exams_pair_a_batch_by_the_view_token(tmp_path: Path, cycle: np.ndarray) -> None:
    paths = [_npz(tmp_path, name, cycle) for name in ("p1_4CH", "p1_2CH", "p2_4CH")]
    out = tmp_path / "out"
    result = runner.invoke(app, ["measure", *map(str, paths), "--exams", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["p1", "p2_4CH"]
    assert "no A4C/A2C partner" in result.output and "p2_4CH" in result.output


def test_view_a2c_names_the_a2c_segments(tmp_path: Path, cycle: np.ndarray) -> None:
    path = _npz(tmp_path, "echo", cycle)
    result = runner.invoke(app, ["measure", str(path), "--view", "a2c", "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    content = json.loads((tmp_path / "o" / "echo" / "measurements.json").read_text())
    assert content["view"] == "A2C"
    assert list(content["segments"]) == ["SEG4", "SEG10", "SEG15", "SEG13", "SEG7", "SEG1"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--ed", "{npz}"], "give --ed and --es together"),
        (["{npz}", "--view", "a3c"], "is not a view; choose a4c or a2c"),
        (["{npz}", "{npz2}", "--a2c", "{npz}"], "--a2c pairs with exactly one A4C"),
        ([], "give recordings, masks.npz files or --ed/--es stills"),
    ],
)
def test_option_mistakes_are_usage_errors(tmp_path, cycle, arguments, message) -> None:
    npz, npz2 = _npz(tmp_path, "a", cycle), _npz(tmp_path, "b", cycle)
    filled = [a.format(npz=npz, npz2=npz2) for a in arguments]
    result = runner.invoke(app, ["measure", *filled, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_ed_es_stills_are_measured_with_the_phases_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two images named NAME_ED / NAME_ES: each segmented on its own, measured as ED and ES
    without looking for a cycle, and no jump check between them."""
    recording = simulate_recording(4, params=draw_params(4, **TINY, segment_mi=(False,) * 6))
    truth = recording.function
    chosen = [0, truth.es_index]
    for phase, index in zip(("ED", "ES"), chosen, strict=True):
        cv2.imwrite(str(tmp_path / f"heart_{phase}.png"), recording.video[index])
    probabilities = soft_probabilities(recording.masks[chosen])
    model = SegmentationModel(ReplayPredictor(probabilities), 0.5, 224, "replay")
    monkeypatch.setattr("lvwall.commands.measure.load_segmentation_model", lambda path=None: model)
    stills = [str(tmp_path / "heart_ED.png"), str(tmp_path / "heart_ES.png")]
    result = runner.invoke(app, ["measure", *stills, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    content = json.loads((tmp_path / "out" / "heart" / "measurements.json").read_text())
    assert (content["ed_frame"], content["es_frame"]) == (1, 2)
    assert content["ef_percent"] == pytest.approx(truth.ef_percent, abs=5)
    assert "jump" not in (tmp_path / "out" / "heart" / "measurements.csv").read_text()


@pytest.mark.slow
def test_a_view_given_against_the_classifier_is_said_and_kept(
    hmcqu_sample_dir: Path, tmp_path: Path
) -> None:
    """The real A2C recording given as A4C: one warning sentence, measured as told."""
    gif = hmcqu_sample_dir / "ES0001_CH2_1.gif"
    if not gif.is_file():
        pytest.skip(f"real data not available: {gif} is absent (see README, 'Data')")
    result = runner.invoke(app, ["measure", str(gif), "--view", "a4c", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "the view classifier recognises A2C (recognised, p = " in said
    assert "not the A4C given; analysed as A4C" in said
    content = json.loads((tmp_path / "ES0001_CH2_1" / "measurements.json").read_text())
    assert (content["view"], content["view_source"]) == ("A4C", "given")
    assert "SEG3" in content["segments"]
