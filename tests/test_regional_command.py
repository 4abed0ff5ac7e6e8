"""``lvwall regional``: one recording's segments, motion, figures and table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data.records import SEGMENT_NAMES, VIEW_SEGMENTS
from lvwall.data.video import write_video
from lvwall.infer import SegmentationModel
from lvwall.measure.outputs import OUTPUT_FILES as MEASUREMENT_FILES
from lvwall.quality import FrameQuality, QualityControl
from lvwall.regional.analysis import OUTPUT_FILES, Thresholds, analyse_cycle
from lvwall.regional.schematic import beating_wall
from tiny_models import ReplayPredictor

runner = CliRunner(env={"COLUMNS": "200"})
STILL = 2  # SEG14 does not move


@pytest.fixture(scope="module")
def masks() -> np.ndarray:
    factors = np.ones(6)
    factors[STILL] = 0.0
    return beating_wall(factors, n_frames=5)


@pytest.fixture
def masks_npz(tmp_path: Path, masks: np.ndarray) -> Path:
    path = tmp_path / "predicted" / "echo 1" / "masks.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, model=masks)
    return path


def test_masks_npz_gives_every_output(masks_npz: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["regional", str(masks_npz), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "echo 1"
    expected = [*OUTPUT_FILES.values(), *MEASUREMENT_FILES.values()]
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
    assert "SEG14" in result.output and "apical septal" in result.output
    measured = json.loads((folder / MEASUREMENT_FILES["json"]).read_text())
    assert "EF " in result.output and "GLS " in result.output
    assert set(measured["segments"]) == set(SEGMENT_NAMES)


def test_thresholds_flag_the_still_segment(
    masks: np.ndarray, masks_npz: Path, tmp_path: Path
) -> None:
    scores = analyse_cycle(masks, score="thickening").scores
    cut = np.full(6, (scores[STILL] + np.delete(scores, STILL).min()) / 2)
    thresholds = Thresholds("thickening", cut).save(tmp_path / "thresholds.json")
    result = runner.invoke(
        app,
        ["regional", str(masks_npz), "-o", str(tmp_path / "out"), "--thresholds", str(thresholds)],
    )
    assert result.exit_code == 0, result.output
    table = (tmp_path / "out" / "echo 1" / "segments.csv").read_text().splitlines()
    flagged = [line.split(",")[0] for line in table[1:] if line.endswith("True")]
    assert flagged == ["SEG14"]
    assert "hypokinetic" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--score", "speed"], "unknown score 'speed'"),
        (["--septal-side", "top"], "top"),
        (["--view", "plax"], "'plax' is not a view; choose a4c or a2c"),
    ],
)
def test_bad_options_are_usage_errors(masks_npz: Path, tmp_path: Path, extra, message) -> None:
    result = runner.invoke(app, ["regional", str(masks_npz), "-o", str(tmp_path), *extra])
    assert result.exit_code == 2
    assert message in result.output


def test_thresholds_for_another_score_are_refused(masks_npz: Path, tmp_path: Path) -> None:
    thresholds = Thresholds("inward", np.zeros(6)).save(tmp_path / "thresholds.json")
    result = runner.invoke(
        app,
        ["regional", str(masks_npz), "-o", str(tmp_path), "--thresholds", str(thresholds)]
        + ["--score", "displacement"],
    )
    assert result.exit_code == 2
    assert "for the score 'inward'" in result.output


@pytest.mark.parametrize(
    ("extra", "view", "how"),
    [
        ([], "A4C", "(default)"),
        (["--view", "a4c"], "A4C", "(given)"),
        (["--view", "a2c"], "A2C", "(given)"),
        (["--view", "A2C"], "A2C", "(given)"),
    ],
)
def test_the_view_names_every_output(
    masks_npz: Path, tmp_path: Path, extra: list[str], view: str, how: str
) -> None:
    names = VIEW_SEGMENTS[view]
    result = runner.invoke(app, ["regional", str(masks_npz), "-o", str(tmp_path / "out"), *extra])
    assert result.exit_code == 0, result.output
    assert f"view: {view} {how}" in result.output
    assert f"segments {', '.join(names)}" in result.output
    assert all(name in result.output for name in names)
    folder = tmp_path / "out" / "echo 1"
    table = (folder / "segments.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in table[1:]] == list(names)
    assert all(line.split(",")[2] == view for line in table[1:])
    motion_header = (folder / "motion.csv").read_text().splitlines()[0]
    assert f"displacement_pct_{names[0]}" in motion_header
    with np.load(folder / "segments.npz") as archive:
        assert list(archive["segment_names"]) == list(names)
        assert str(archive["view"]) == view
    measured = json.loads((folder / MEASUREMENT_FILES["json"]).read_text())
    assert measured["view"] == view and set(measured["segments"]) == set(names)


def test_a2c_thresholds_flag_the_still_a2c_segment(
    masks: np.ndarray, masks_npz: Path, tmp_path: Path
) -> None:
    scores = analyse_cycle(masks, score="thickening", view="A2C").scores
    cut = np.full(6, (scores[STILL] + np.delete(scores, STILL).min()) / 2)
    thresholds = Thresholds("thickening", cut, view="A2C").save(tmp_path / "thresholds_a2c.json")
    result = runner.invoke(
        app,
        ["regional", str(masks_npz), "-o", str(tmp_path / "out"), "--view", "a2c"]
        + ["--thresholds", str(thresholds)],
    )
    assert result.exit_code == 0, result.output
    table = (tmp_path / "out" / "echo 1" / "segments.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in table[1:] if line.endswith("True")] == ["SEG15"]


@pytest.mark.parametrize(("saved", "given"), [("A4C", "a2c"), ("A2C", "a4c")])
def test_thresholds_of_the_other_view_are_one_sentence_and_exit_1(
    masks_npz: Path, tmp_path: Path, saved: str, given: str
) -> None:
    thresholds = Thresholds("combined", np.zeros(6), view=saved).save(tmp_path / "t.json")
    result = runner.invoke(
        app,
        ["regional", str(masks_npz), "-o", str(tmp_path / "out"), "--view", given]
        + ["--thresholds", str(thresholds)],
    )
    assert result.exit_code == 1
    assert f"holds thresholds for the {saved} segments" in result.output
    assert f"not for the {given.upper()} view" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.shared_data
@pytest.mark.slow
def test_the_real_a2c_recording_is_named_by_its_a2c_segments(
    hmcqu_sample_dir: Path, tmp_path: Path
) -> None:
    """ES0001_CH2_1.gif over the cycle A2C.xlsx gives (frames 1..21), with the bundled model
    and no --view: the view classifier recognises A2C."""
    gif = hmcqu_sample_dir / "ES0001_CH2_1.gif"
    if not gif.is_file():
        pytest.skip(f"real data not available: {gif} is absent (see README, 'Data')")
    result = runner.invoke(
        app,
        ["regional", str(gif), "--start", "1", "--end", "21"] + ["--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "view: A2C (recognised, p = " in result.output
    table = (tmp_path / "ES0001_CH2_1" / "segments.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in table[1:]] == list(VIEW_SEGMENTS["A2C"])


@pytest.mark.parametrize(
    ("masks_of", "extra", "message"),
    [
        (lambda m: np.zeros_like(m), [], "frame 1: the wall mask is empty"),
        (lambda m: m, ["--start", "4", "--end", "9"], "has 5 frames"),
    ],
)
def test_user_errors_are_one_sentence_and_exit_1(
    tmp_path: Path, masks: np.ndarray, masks_of, extra, message: str
) -> None:
    path = tmp_path / "clip.npz"
    np.savez_compressed(path, masks=masks_of(masks))
    result = runner.invoke(app, ["regional", str(path), "-o", str(tmp_path / "out"), *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def _verdicts(flagged: dict[int, str]):
    """A stand-in for quality control that flags the frames of ``flagged`` (0-based, in the
    order assessed) with the given flag and passes every other."""
    count = [0]

    def assess(self, image, probability, mask, sector=None) -> FrameQuality:
        index, count[0] = count[0], count[0] + 1
        if index in flagged:
            return FrameQuality(0.1, (flagged[index],), {flagged[index]: "made up"})
        return FrameQuality(0.9, (), {})

    return assess


def test_a_video_is_segmented_then_analysed_over_the_chosen_cycle(
    tmp_path: Path, masks: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = tmp_path / "echo.gif"
    write_video(video, [np.full((64, 64, 3), 40 * i, np.uint8) for i in range(5)], fps=10)
    model = SegmentationModel(ReplayPredictor(masks), 0.5, 224, "replay")
    monkeypatch.setattr("lvwall.commands.regional.load_segmentation_model", lambda path=None: model)
    monkeypatch.setattr(QualityControl, "assess", _verdicts({2: "fragmented"}))
    result = runner.invoke(
        app, ["regional", str(video), "-o", str(tmp_path / "out"), "--start", "2", "--end", "5"]
    )
    assert result.exit_code == 0, result.output
    # The video's third frame (the cycle's second) was flagged: left out, and said so.
    assert "frame 2 is flagged by quality control (fragmented)" in result.output
    with np.load(tmp_path / "out" / "echo" / "segments.npz") as archive:
        assert archive["segments"].shape == (4, 224, 224)
    assert (tmp_path / "out" / "echo" / "overlay.png").is_file()
