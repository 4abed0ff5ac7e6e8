"""lvwall.infer.pipeline: the streamed segmentation of one recording."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
    STAGE_BYTES,
    PredictOptions,
    SegmentationModel,
    frames_in_flight,
    load_segmentation_model,
    segment_frames,
)
from lvwall.infer import pipeline as pipeline_module


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


@pytest.mark.parametrize(
    ("height", "width", "batch_size", "expected"),
    [
        (600, 800, 8, 16),  # an echo video's frames: twice the batch
        (1080, 1920, 8, 8),
        (2048, 2048, 8, 4),  # 16 MiB a frame: 4 fill the stage's 64 MiB
        (4096, 4096, 8, 1),
        (8192, 8192, 8, 1),  # larger than a stage: one at a time
        (600, 800, 1, 2),
    ],
)
def test_frames_in_flight_follow_the_frame_size(
    height: int, width: int, batch_size: int, expected: int
) -> None:
    assert frames_in_flight(height, width, batch_size) == expected
    held = expected * 4 * height * width
    assert held <= STAGE_BYTES or expected == 1


@pytest.mark.parametrize(("height", "width", "batch_size"), [(0, 10, 8), (10, 10, 0)])
def test_frames_in_flight_refuses_empty_sizes(height: int, width: int, batch_size: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        frames_in_flight(height, width, batch_size)


@pytest.mark.parametrize(("stage_bytes", "most_ahead"), [(None, 40), (1, 8)])
def test_the_pipeline_decodes_no_further_ahead_than_its_frames_allow(
    monkeypatch: pytest.MonkeyPatch, stage_bytes: int | None, most_ahead: int
) -> None:
    """With a stage as small as one frame, the decoder runs at most a few frames ahead of the
    consumer (the sector's look-ahead, one queued, one in the network), whatever the batch
    size: memory does not grow with the frame size."""
    if stage_bytes is not None:
        monkeypatch.setattr(pipeline_module, "STAGE_BYTES", stage_bytes)
    decoded = 0

    def frames() -> Iterator[np.ndarray]:
        nonlocal decoded
        for _ in range(80):
            decoded += 1
            yield np.zeros((32, 40, 3), np.uint8)

    model = SegmentationModel(_Constant(), 0.5, 16, "constant")
    ahead = []
    for consumed, _ in enumerate(segment_frames(frames(), model, PredictOptions(batch_size=8)), 1):
        time.sleep(0.002)  # a slow writer: the decoder fills what it may
        ahead.append(decoded - consumed)
    assert len(ahead) == 80
    if stage_bytes is None:
        assert max(ahead) >= 16, "frames of an echo video are decoded well ahead"
    assert max(ahead) <= most_ahead


class _Constant:
    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.full(batch.shape, 0.7, np.float32)


def test_a_frame_larger_than_a_preview_travels_shrunk_with_full_size_masks() -> None:
    model = SegmentationModel(_Constant(), 0.5, 16, "constant")
    frames = [np.full((64, 2100, 3), 90, np.uint8)] * 3
    segmented = list(segment_frames(iter(frames), model, PredictOptions(sector=False)))
    assert [frame.image.shape for frame in segmented] == [(62, 2048, 3)] * 3
    assert all(frame.mask_original.shape == (64, 2100) for frame in segmented)
    assert all(frame.mask_original.all() for frame in segmented), "0.7 > 0.5 everywhere"
