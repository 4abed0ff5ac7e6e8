"""What happens to the network's output before it is written, each variant by name.

:data:`TEST_TIME_AUGMENTATIONS` wrap a predictor, :data:`SMOOTHERS` average probability
streams over neighbouring frames, :data:`MASK_FILTERS` clean up binary masks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import cv2
import numpy as np

from lvwall.infer.backends import Predictor, check_batch

T = TypeVar("T")


class FlipAverage:
    """Test-time augmentation: the mean of the prediction for the frames and the flipped-back
    prediction for their left-right mirror images (one batched model call), the mirroring
    test-time augmentation of nnU-Net (Isensee et al., Nature Methods 18:203-211, 2021)."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = check_batch(batch)
        both = self.predictor.predict(np.concatenate([batch, batch[..., ::-1]]))
        n = len(batch)
        return 0.5 * (both[:n] + both[n:, ..., ::-1])


#: Wrappers that turn a predictor into a test-time-augmented one, by name.
TEST_TIME_AUGMENTATIONS: dict[str, Callable[[Predictor], Predictor]] = {"flip": FlipAverage}


class CentredMean:
    """Temporal smoothing: each frame's probabilities become the mean over a centred window of
    ``window`` frames (fewer at the ends). Streamed: a frame leaves once the ``window // 2``
    frames after it have arrived, so at most ``window`` frames are held."""

    def __init__(self, window: int = 3) -> None:
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd number, got {window}")
        self.window = window

    def __call__(self, frames: Iterable[tuple[T, np.ndarray]]) -> Iterator[tuple[T, np.ndarray]]:
        """Smooth a stream of (payload, probability) pairs; payloads pass through unchanged."""
        half = self.window // 2
        recent: deque[tuple[T, np.ndarray]] = deque(maxlen=self.window)
        n_in = n_out = 0
        for item in frames:
            recent.append(item)
            n_in += 1
            if n_in - 1 - n_out >= half:
                yield self._centred(recent, n_out, n_in)
                n_out += 1
        for index in range(n_out, n_in):
            yield self._centred(recent, index, n_in)

    def _centred(
        self, recent: deque[tuple[T, np.ndarray]], index: int, n_in: int
    ) -> tuple[T, np.ndarray]:
        first = n_in - len(recent)
        half = self.window // 2
        window = range(max(index - half, first), min(index + half, n_in - 1) + 1)
        mean = sum(recent[k - first][1] for k in window) / np.float32(len(window))
        return recent[index - first][0], mean


#: Temporal smoothers of probability streams, by name.
SMOOTHERS: dict[str, Callable[[], CentredMean]] = {
    "mean3": lambda: CentredMean(3),
    "mean5": lambda: CentredMean(5),
}


def keep_largest_component(mask: np.ndarray) -> np.ndarray:
    """Only the largest 8-connected region of a {0, 1} uint8 mask (the wall is one piece)."""
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n_labels <= 2:
        return mask
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8)


#: Clean-ups of binary masks, by name.
MASK_FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "largest": keep_largest_component,
}
