"""SegmentedRecording: one recording's masks and what is known of it, from predict's masks.npz
or segmented now with lvwall.infer, and measured as a whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from echo_inputs import echo_frames
from lvwall.cli import app
from lvwall.data.inputs import discover
from lvwall.data.video import write_video
from lvwall.errors import DataError
from lvwall.infer import (
    PredictOptions,
    SegmentationModel,
    SegmentedRecording,
    load_segmentation_model,
    predict_sources,
    read_masks_npz,
    segment_frames,
    segment_recording,
)
from lvwall.infer import segmented as segmented_module
from lvwall.measure import measure_recording, measure_segmented
from lvwall.quality import FrameQuality
from lvwall.regional.schematic import beating_wall
from tiny_models import ReplayPredictor


@pytest.mark.parametrize(
    ("key", "relative", "name"),
    [("model", "rec one/masks.npz", "rec one"), ("masks", "cycle.npz", "cycle")],
)
def test_masks_npz_is_read_and_named(tmp_path: Path, key: str, relative: str, name: str) -> None:
    masks = beating_wall(n_frames=3)
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{key: masks * 255})
    read = read_masks_npz(path)
    assert read.name == name
    assert np.array_equal(read.masks, masks)
    assert read.greys is None and read.probabilities is None and read.frame_flags is None


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (None, "does not exist"),
        (lambda p: p.write_text("garbage"), "is not a readable NPZ"),
        (lambda p: np.savez(p, other=np.zeros((3, 4, 4))), "holds no wall masks"),
        (lambda p: np.savez(p, model=np.zeros((1, 4, 4))), "frames >= 2"),
    ],
)
def test_bad_npz_files_name_the_file_and_the_problem(tmp_path: Path, write, problem: str) -> None:
    path = tmp_path / "masks.npz"
    if write is not None:
        write(path)
    with pytest.raises(DataError, match=problem) as info:
        read_masks_npz(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    ("start", "end", "frames"), [(1, None, [0, 1, 2, 3]), (2, 3, [1, 2]), (1, 2, [0, 1])]
)
def test_cycle_takes_frames_start_to_end_inclusive(start: int, end: int | None, frames) -> None:
    masks = np.arange(4)[:, None, None] * np.ones((4, 2, 2), np.uint8)
    grey = masks.astype(np.float32) / 4
    cycle = SegmentedRecording("r", masks, grey).cycle(start, end, "r.npz")
    assert list(cycle.masks[:, 0, 0]) == frames
    assert np.allclose(cycle.greys[:, 0, 0] * 4, frames)


@pytest.mark.parametrize(("start", "end"), [(3, 3), (0, 2), (2, 5)])
def test_a_cycle_that_does_not_fit_is_a_data_error(start: int, end: int) -> None:
    recording = SegmentedRecording("r", np.zeros((4, 2, 2), np.uint8))
    with pytest.raises(DataError, match="has 4 frames"):
        recording.cycle(start, end, "r.npz")


def test_a_recording_is_segmented_with_the_infer_pipeline(tmp_path: Path) -> None:
    masks = beating_wall(n_frames=6)
    video = tmp_path / "echo.gif"
    # Distinct frames (GIF writers merge repeated ones); the predictor ignores their content.
    write_video(video, [np.full((64, 64, 3), 30 * i, np.uint8) for i in range(6)], fps=10)
    predictor = ReplayPredictor(masks)
    model = SegmentationModel(predictor, threshold=0.5, image_size=224, description="replay")

    class Progress:
        started, advanced = 0, 0

        def start(self, recording) -> None:
            Progress.started += 1

        def advance(self) -> None:
            Progress.advanced += 1

    (source,) = discover([video])
    read = segment_recording(source, model, progress=Progress())
    assert read.name == "echo" and read.path == video
    assert np.array_equal(read.masks, masks)
    assert read.greys.shape == masks.shape
    assert read.greys.dtype == read.probabilities.dtype == np.float16
    assert read.probabilities.shape == masks.shape
    assert read.frame_size == (64, 64)
    assert len(read.frame_flags) == 6
    assert (Progress.started, Progress.advanced) == (1, 6)
    assert all(shape[1:] == (1, 224, 224) for shape in predictor.calls)


def test_regional_refuses_a_folder_of_several_recordings(tmp_path: Path) -> None:
    for name in ("a.gif", "b.gif"):
        write_video(tmp_path / name, [np.zeros((32, 32, 3), np.uint8)] * 2, fps=10)
    result = CliRunner().invoke(app, ["regional", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "holds 2 recordings; regional analysis takes one at a time" in result.output


def test_the_original_masks_give_the_frame_size(tmp_path: Path) -> None:
    masks = beating_wall(n_frames=3)
    path = tmp_path / "echo" / "masks.npz"
    path.parent.mkdir()
    np.savez(path, model=masks, original=np.zeros((3, 40, 60), np.uint8))
    assert read_masks_npz(path).frame_size == (40, 60)


# ---------------------------------------------------------------------------------------------
# Measured as a whole


@pytest.fixture(scope="module")
def cycle() -> np.ndarray:
    """One cycle, ED (frame 0) to ED (frame 10), ES at frame 5."""
    return beating_wall(n_frames=11, amplitude=10.0)


@pytest.mark.parametrize(
    ("known", "spacing", "unit", "expected_spacing"),
    [
        ({}, None, "px3", None),
        ({"spacing_mm": (0.3, 0.3)}, None, "ml", (0.3, 0.3)),
        # --spacing replaces the file's own spacing.
        ({"spacing_mm": (0.3, 0.3)}, 0.5, "ml", 0.5),
    ],
)
def test_measure_uses_what_is_known_unless_a_spacing_is_given(
    cycle, known, spacing, unit, expected_spacing
) -> None:
    measured = measure_segmented(SegmentedRecording("echo", cycle, **known), spacing_mm=spacing)
    direct = measure_recording(cycle, spacing_mm=expected_spacing, name="echo")
    assert measured.name == "echo"
    assert measured.scale.volume_unit == unit
    assert measured.edv == pytest.approx(direct.edv)
    assert measured.ef_percent == pytest.approx(direct.ef_percent)


def test_measure_keeps_the_quality_flags(cycle: np.ndarray) -> None:
    qualities = [FrameQuality(0.9, (), {})] * len(cycle)
    qualities[5] = FrameQuality(0.2, ("fragmented",), {"fragmented": "the wall is in 3 pieces"})
    recording = SegmentedRecording("echo", cycle, qualities=tuple(qualities))
    assert recording.flagged == [5]
    measured = measure_segmented(recording)
    assert measured.quality.es_flagged
    assert measured.ef_percent is None
    assert "quality control flagged the ES frame 6" in measured.missing["ef_percent"]


def test_an_analysis_refuses_a_recording_longer_than_its_frame_limit(
    tmp_path: Path, tiny_model: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an analysis keeps per frame is bounded by a frame limit, said in one sentence
    naming the file; predict, which keeps nothing, segments the same recording."""
    monkeypatch.setattr(segmented_module, "MAX_ANALYSED_FRAMES", 3)
    video = write_video(tmp_path / "long.avi", echo_frames(5), fps=10)
    (source,) = discover([video])
    model = load_segmentation_model(tiny_model["onnx"])
    with pytest.raises(DataError, match="has more than 3 frames, the most one analysis") as error:
        segment_recording(source, model)
    assert error.value.path == video
    (outcome,) = predict_sources([source], model, PredictOptions(), tmp_path / "out")
    assert outcome.ok and outcome.n_frames == 5


def test_a_collected_recording_holds_every_frame_in_order(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    (source,) = discover([write_video(tmp_path / "clip.avi", echo_frames(6), fps=10)])
    model = load_segmentation_model(tiny_model["onnx"])
    recording = segment_recording(source, model)
    expected = list(segment_frames(source.open().frames(), model, PredictOptions()))
    assert len(recording.masks) == len(expected) == 6
    np.testing.assert_array_equal(recording.masks, np.stack([f.mask for f in expected]))
    # Kept at half precision: within 0.0005 of the network's probabilities.
    np.testing.assert_allclose(
        recording.probabilities, np.stack([f.probability for f in expected]), atol=5e-4
    )
