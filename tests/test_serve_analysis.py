"""One recording analysed for the page: predict's, measure's and regional's files from one
segmentation, and quality from predict's quality.csv where it is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from echo_inputs import echo_frames
from lvwall.data.inputs import discover
from lvwall.data.video import write_video
from lvwall.infer import OUTPUT_WRITERS, load_segmentation_model
from lvwall.serve.analysis import analyse
from lvwall.serve.overlay import FLAG_COLOUR
from lvwall.serve.quality import QUALITY_FILE

N_FRAMES = 5


@pytest.fixture(scope="module")
def model(tiny_model: dict[str, Path]):
    return load_segmentation_model(tiny_model["onnx"])


def _source(tmp_path: Path):
    (source,) = discover([write_video(tmp_path / "echo.gif", echo_frames(N_FRAMES), fps=10)])
    return source


class Progress:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.steps = 0

    def stage(self, name: str, total: int | None = None) -> None:
        self.stages.append((name, total))

    def advance(self) -> None:
        self.steps += 1


def test_each_command_gets_its_folder_and_the_page_its_video(tmp_path: Path, model) -> None:
    progress = Progress()
    analysis = analyse(_source(tmp_path), model, tmp_path / "out", progress=progress)
    files = {key: path.as_posix() for key, path in analysis.files.items()}
    assert files["overlay"] == "serve/echo/overlay.webm"
    assert files["masks"] == "predict/echo/masks.npz"
    assert files["predict_overlay"] == "predict/echo/overlay.gif"
    assert files["measure_json"] == "measure/echo/measurements.json"
    assert all((tmp_path / "out" / path).is_file() for path in files.values())
    assert [name for name, _ in progress.stages] == [
        "segmenting",
        "measuring",
        "regional analysis",
        "rendering the overlay video",
    ]
    # Each frame is one step of segmenting and one of rendering.
    assert progress.steps == 2 * N_FRAMES
    summary = analysis.summary
    assert summary["quality"]["checked"] is False and summary["flagged"] == []
    assert summary["measurements"]["quality"]["checked"] is False


def test_quality_csv_flags_frames_for_the_page_the_video_and_measure(
    tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where predict writes quality.csv (as it will), its flags reach every output."""
    npz = OUTPUT_WRITERS["npz"]

    def write_with_quality(recording, frames, out_dir):
        folder = npz.write(recording, frames, out_dir)
        rows = [f"{index},0.9," for index in range(N_FRAMES)]
        rows[1] = "1,0.2,low_contrast;broken_wall"
        (folder / QUALITY_FILE).write_text("frame,quality,flags\n" + "\n".join(rows) + "\n")
        return folder

    monkeypatch.setitem(OUTPUT_WRITERS, "npz", dataclasses.replace(npz, write=write_with_quality))
    analysis = analyse(_source(tmp_path), model, tmp_path / "out")
    summary = analysis.summary
    assert summary["flagged"] == [1]
    assert summary["quality"]["frames"][1] == {
        "index": 1,
        "quality": 0.2,
        "flags": ["low_contrast", "broken_wall"],
    }
    assert summary["measurements"]["quality"]["checked"] is True
    assert "quality" in analysis.files
    with av.open(str(tmp_path / "out" / analysis.files["overlay"])) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    near_flag = [np.abs(frame[1, 40].astype(int) - FLAG_COLOUR).max() < 40 for frame in frames]
    assert near_flag == [False, True, False, False, False]
