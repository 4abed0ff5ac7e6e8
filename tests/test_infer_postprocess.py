"""lvwall.infer.postprocess: flip averaging, temporal smoothing, mask filters."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.infer import (
    CentredMean,
    FlipAverage,
    keep_largest_component,
)


class _Fixed:
    """A predictor returning a fixed map for every frame."""

    def __init__(self, probability: np.ndarray) -> None:
        self.probability = probability

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.probability, batch.shape).copy()


class _Echo:
    """A predictor returning its input (a network that is exactly left-right symmetric)."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return batch.copy()


RAMP = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (4, 1))


@pytest.mark.parametrize(
    ("predictor", "images", "expected"),
    [
        (_Fixed(RAMP), np.zeros((2, 1, 4, 8), np.float32), np.full((2, 1, 4, 8), 0.5)),
        (_Echo(), np.arange(64, dtype=np.float32).reshape(2, 1, 4, 8), None),
    ],
    ids=["left-biased-map-averages-out", "mirror-consistent-unchanged"],
)
def test_flip_average(predictor: object, images: np.ndarray, expected: np.ndarray | None) -> None:
    result = FlipAverage(predictor).predict(images)
    np.testing.assert_allclose(result, images if expected is None else expected, atol=1e-6)


@pytest.mark.parametrize(
    ("window", "values", "expected"),
    [
        (3, [0, 3, 6, 9], [1.5, 3, 6, 7.5]),
        (1, [0, 3, 6], [0, 3, 6]),
        (5, [0, 10, 20], [10, 10, 10]),
        (3, [4], [4]),
        (5, [0, 5, 10, 15, 20, 25], [5, 7.5, 10, 15, 17.5, 20]),
    ],
)
def test_centred_mean_values(window: int, values: list[float], expected: list[float]) -> None:
    stream = ((index, np.full((2, 2), v, np.float32)) for index, v in enumerate(values))
    result = list(CentredMean(window)(stream))
    assert [payload for payload, _ in result] == list(range(len(values)))
    np.testing.assert_allclose([p[0, 0] for _, p in result], expected, rtol=1e-6)


def test_centred_mean_streams_with_a_short_lag() -> None:
    seen: list[int] = []

    def source():
        for index in range(10):
            seen.append(index)
            yield index, np.zeros(1, np.float32)

    for payload, _ in CentredMean(5)(source()):
        assert len(seen) <= payload + 3  # frame t leaves once t + 2 has arrived


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (np.zeros((6, 6), np.uint8), np.zeros((6, 6), np.uint8)),
        (
            np.array([[1, 1, 0, 0, 0], [1, 1, 0, 0, 1], [0, 0, 0, 0, 0]], np.uint8),
            np.array([[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], np.uint8),
        ),
        (np.eye(4, dtype=np.uint8), np.eye(4, dtype=np.uint8)),  # diagonal: 8-connected
    ],
)
def test_keep_largest_component(mask: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(keep_largest_component(mask), expected)
