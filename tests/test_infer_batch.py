"""lvwall.infer.batch: many inputs into one folder, with progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from echo_inputs import (
    N_FRAMES,
    echo_frames,
)
from lvwall.data.inputs import discover
from lvwall.data.video import write_video
from lvwall.infer import (
    PredictOptions,
    load_segmentation_model,
    predict_sources,
)


def test_progress_hears_every_frame(tmp_path: Path, tiny_model: dict[str, Path]) -> None:
    clip = write_video(tmp_path / "clip.avi", echo_frames(), fps=10)

    class Recorder:
        def __init__(self) -> None:
            self.started: list[str] = []
            self.frames = 0

        def start(self, recording) -> None:
            self.started.append(recording.name)

        def advance(self) -> None:
            self.frames += 1

    recorder = Recorder()
    (outcome,) = predict_sources(
        discover([clip]),
        load_segmentation_model(tiny_model["onnx"]),
        PredictOptions(),
        tmp_path / "out",
        progress=recorder,
    )
    assert outcome.ok and outcome.n_frames == N_FRAMES
    assert recorder.started == ["clip"] and recorder.frames == N_FRAMES


def test_unknown_output_format_is_a_value_error(
    tmp_path: Path, tiny_model: dict[str, Path]
) -> None:
    model = load_segmentation_model(tiny_model["onnx"])
    with pytest.raises(ValueError, match="unknown output format 'tiff'; choose one of"):
        predict_sources([], model, PredictOptions(), tmp_path, output_format="tiff")
