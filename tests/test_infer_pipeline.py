"""lvwall.infer.pipeline: the streamed segmentation of one recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from echo_inputs import (
    HEIGHT,
    WIDTH,
    echo_frames,
)
from lvwall.data.records import MODEL_SIZE
from lvwall.errors import DataError
from lvwall.infer import (
    PredictOptions,
    SegmentationModel,
    load_segmentation_model,
    segment_frames,
)


def test_smoothing_reduces_flicker(tiny_model: dict[str, Path]) -> None:
    rng = np.random.default_rng(0)
    noisy = 0.5 + 0.2 * rng.standard_normal((40, 1, 16, 16)).astype(np.float32)

    class Noisy:
        index = 0

        def predict(self, batch: np.ndarray) -> np.ndarray:
            out = noisy[self.index : self.index + len(batch)]
            self.index += len(batch)
            return out

    def flicker(smoothing: str | None) -> float:
        model = SegmentationModel(Noisy(), 0.5, 16, "noise")
        options = PredictOptions(smoothing=smoothing, sector=False, batch_size=7)
        frames = (np.zeros((16, 16, 3), np.uint8) for _ in range(40))
        probabilities = np.stack([f.probability for f in segment_frames(frames, model, options)])
        return float(np.abs(np.diff(probabilities, axis=0)).mean())

    assert flicker("mean3") < 0.5 * flicker(None)
    assert flicker("mean5") < flicker("mean3")


def test_segment_frames_shapes_and_threshold(tiny_model: dict[str, Path]) -> None:
    model = load_segmentation_model(tiny_model["onnx"])
    frames = echo_frames(6)

    def segment(threshold: float) -> list:
        return list(segment_frames(iter(frames), model, PredictOptions(threshold=threshold)))

    low, high = segment(0.05), segment(0.95)
    assert len(low) == 6
    assert low[0].probability.shape == low[0].mask.shape == (MODEL_SIZE, MODEL_SIZE)
    assert low[0].mask_original.shape == (HEIGHT, WIDTH)
    np.testing.assert_array_equal(low[3].image, frames[3])
    assert sum(f.mask.sum() for f in low) > sum(f.mask.sum() for f in high)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"tta": "rotate"},
        {"smoothing": "median"},
        {"mask_filter": "holes"},
        {"threshold": 1.0},
    ],
)
def test_bad_options_are_value_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PredictOptions(**kwargs)


def test_a_failing_frame_source_fails_the_pipeline(tiny_model: dict[str, Path]) -> None:
    def frames():
        yield from echo_frames(3)
        raise DataError("clip.avi", "cannot be decoded after 3 frames")

    model = load_segmentation_model(tiny_model["onnx"])
    with pytest.raises(DataError, match="after 3 frames"):
        list(segment_frames(frames(), model, PredictOptions(batch_size=2)))


def test_stopping_early_closes_the_frame_source(tiny_model: dict[str, Path]) -> None:
    state = {"produced": 0, "closed": False}

    def frames():
        try:
            for frame in echo_frames(40):
                state["produced"] += 1
                yield frame
        finally:
            state["closed"] = True

    model = load_segmentation_model(tiny_model["onnx"])
    segmented = segment_frames(frames(), model, PredictOptions(batch_size=2, sector=False))
    next(segmented)
    segmented.close()
    assert state["closed"] and state["produced"] < 40
