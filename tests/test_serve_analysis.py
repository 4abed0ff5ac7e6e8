"""One recording analysed for the page: predict's, measure's and regional's files from one
segmentation, with the quality verdicts of the segmentation pipeline."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from echo_inputs import echo_frames
from lvwall.data import VIEW_SEGMENTS
from lvwall.data.inputs import discover
from lvwall.data.video import write_video
from lvwall.infer import load_segmentation_model
from lvwall.infer.writers import FLAG_COLOUR
from lvwall.quality import FrameQuality, QualityControl
from lvwall.regional import DEFAULT_SCORE, Thresholds
from lvwall.serve.analysis import analyse

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
    assert summary["quality"]["checked"] is True
    assert len(summary["quality"]["frames"]) == N_FRAMES
    flagged = [frame["frame"] for frame in summary["quality"]["frames"] if frame["flags"]]
    assert summary["flagged"] == flagged
    assert summary["measurements"]["quality"]["checked"] is True


def test_flagged_frames_reach_the_page_the_video_and_measure(
    tmp_path: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame quality control flags is flagged in the JSON, marked in the video and counted
    by measure."""
    assess = QualityControl.assess
    seen = []

    def flag_the_second(self, image, probability, mask, sector=None):
        verdict = assess(self, image, probability, mask, sector)
        seen.append(verdict)
        if len(seen) == 2:
            return FrameQuality(0.2, ("fragmented",), {"fragmented": "in pieces"})
        return FrameQuality(0.9, (), {})

    monkeypatch.setattr(QualityControl, "assess", flag_the_second)
    analysis = analyse(_source(tmp_path), model, tmp_path / "out")
    summary = analysis.summary
    assert summary["flagged"] == [2]
    assert summary["quality"]["frames"][1] == {
        "frame": 2,
        "quality": 0.2,
        "flags": ["fragmented"],
        "reasons": {"fragmented": "in pieces"},
    }
    assert summary["measurements"]["quality"]["checked"] is True
    assert "quality" in analysis.files
    with av.open(str(tmp_path / "out" / analysis.files["overlay"])) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    near_flag = [np.abs(frame[1, 40].astype(int) - FLAG_COLOUR).max() < 40 for frame in frames]
    assert near_flag == [False, True, False, False, False]


@pytest.mark.parametrize(
    ("view", "learned_views", "reason"),
    [
        ("A4C", ["A4C"], None),
        ("A2C", ["A4C"], "the server's --thresholds are for the A4C view, not A2C"),
        ("A2C", ["A4C", "A2C"], None),
        ("A4C", [], "start lvwall serve with --thresholds from lvwall regional-eval"),
    ],
)
def test_thresholds_flag_only_the_recordings_of_their_view(
    tmp_path: Path, model, view: str, learned_views: list[str], reason: str | None
) -> None:
    """A thresholds file is of one view: a recording of a view without one is analysed
    without flags, saying why, and named and coloured by its own view."""
    thresholds = [Thresholds(DEFAULT_SCORE, np.zeros(6), view=name) for name in learned_views]
    summary = analyse(
        _source(tmp_path), model, tmp_path / "out", view=view, thresholds=thresholds
    ).summary
    assert summary["view"] == summary["measurements"]["view"] == view
    assert (summary["regional"]["thresholds"], summary["regional"]["no_flags_reason"]) == (
        reason is None,
        reason,
    )
    assert list(summary["segment_colours"]) == list(VIEW_SEGMENTS[view])
