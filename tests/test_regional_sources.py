"""Where the masks come from: predict's masks.npz, or a recording segmented with lvwall.infer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvwall.data.video import write_video
from lvwall.errors import DataError
from lvwall.infer import SegmentationModel
from lvwall.regional.schematic import beating_wall
from lvwall.regional.sources import RecordingMasks, read_masks_npz, segment_recording


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
    assert read.frames is None


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
    cycle = RecordingMasks("r", masks, grey).cycle(start, end, "r.npz")
    assert list(cycle.masks[:, 0, 0]) == frames
    assert np.allclose(cycle.frames[:, 0, 0] * 4, frames)


@pytest.mark.parametrize(("start", "end"), [(3, 3), (0, 2), (2, 5)])
def test_a_cycle_that_does_not_fit_is_a_data_error(start: int, end: int) -> None:
    recording = RecordingMasks("r", np.zeros((4, 2, 2), np.uint8), None)
    with pytest.raises(DataError, match="has 4 frames"):
        recording.cycle(start, end, "r.npz")


class _ReplayPredictor:
    """Stands in for the network: returns the next frames of a known mask sequence."""

    def __init__(self, masks: np.ndarray) -> None:
        self.masks = masks.astype(np.float32)
        self.calls: list[tuple[int, ...]] = []
        self.position = 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(batch.shape)
        out = self.masks[self.position : self.position + len(batch), None]
        self.position += len(batch)
        return out


def test_a_recording_is_segmented_with_the_infer_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    masks = beating_wall(n_frames=6)
    video = tmp_path / "echo.gif"
    # Distinct frames (GIF writers merge repeated ones); the predictor ignores their content.
    write_video(video, [np.full((64, 64, 3), 30 * i, np.uint8) for i in range(6)], fps=10)
    predictor = _ReplayPredictor(masks)
    model = SegmentationModel(predictor, threshold=0.5, image_size=224, description="replay")
    monkeypatch.setattr("lvwall.infer.load_segmentation_model", lambda path=None: model)

    class Progress:
        started, advanced = 0, 0

        def start(self, recording) -> None:
            Progress.started += 1

        def advance(self) -> None:
            Progress.advanced += 1

    read = segment_recording(video, progress=Progress())
    assert read.name == "echo"
    assert np.array_equal(read.masks, masks)
    assert read.frames.shape == masks.shape and read.frames.dtype == np.float32
    assert (Progress.started, Progress.advanced) == (1, 6)
    assert all(shape[1:] == (1, 224, 224) for shape in predictor.calls)


def test_a_folder_of_several_recordings_is_refused(tmp_path: Path) -> None:
    for name in ("a.gif", "b.gif"):
        write_video(tmp_path / name, [np.zeros((32, 32, 3), np.uint8)] * 2, fps=10)
    with pytest.raises(DataError, match="holds 2 recordings"):
        segment_recording(tmp_path)
