"""Quality control of one recording's segmented frames: flags with reasons, and a score.

:class:`QualityControl` is made once per recording and shown its frames in order (the
``jump`` check compares each with the frames before it). For each frame it measures the
input (:mod:`lvwall.quality.echo_input`), the wall's shape (:mod:`lvwall.quality.wall_shape`)
and motion (:mod:`lvwall.quality.jump`), runs the named checks (:mod:`lvwall.quality.checks`)
and scores the frame with the quality model (:mod:`lvwall.quality.score_model`). A frame
flagged ``not_echo`` or ``no_wall`` has nothing to trust and scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lvwall.data import Sector, find_sector, prepare_frame
from lvwall.quality.checks import FLAGS, echo_checks, jump_checks, shape_checks
from lvwall.quality.echo_input import FanShape, fan_shape, sector_content
from lvwall.quality.features import frame_features
from lvwall.quality.jump import JumpChecker
from lvwall.quality.score_model import QualityModel, bundled_quality_model
from lvwall.quality.wall_shape import measure_wall

#: Flags that leave nothing to trust in a frame: it scores 0.
UNTRUSTWORTHY: frozenset[str] = frozenset({"not_echo", "no_wall"})


@dataclass(frozen=True)
class FrameQuality:
    """One frame's verdict: ``quality`` in [0, 1], the estimated Dice of its wall against an
    expert's; ``flags``, the failed checks in :data:`FLAGS` order; ``reasons``, one line per
    flag."""

    quality: float
    flags: tuple[str, ...]
    reasons: dict[str, str]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def flag_text(self) -> str:
        """The flags ``;``-separated, empty when none (the ``flags`` column of quality.csv)."""
        return ";".join(self.flags)


@dataclass(frozen=True)
class FrameFeatures:
    """What quality control measured on one frame: ``features`` by name (see
    :data:`lvwall.quality.features.FEATURE_NAMES`) and the failed checks' ``reasons``."""

    features: dict[str, float]
    reasons: dict[str, str]


class QualityControl:
    """Checks and scores the frames of one recording, in order.

    ``model`` defaults to the bundled quality model, read once per process when the first
    frame is scored (:meth:`measure` alone does not need it).
    """

    def __init__(self, model: QualityModel | None = None) -> None:
        self._model = model
        self._jumps = JumpChecker()
        self._fan: tuple[Sector, FanShape] | None = None
        self._own_sector: Sector | None = None

    def examine(
        self,
        image: np.ndarray,
        probability: np.ndarray,
        mask: np.ndarray,
        sector: Sector | None = None,
    ) -> FrameFeatures:
        """Measure one frame and run the checks, without scoring.

        ``image`` is the input frame: RGB or grey, uint8 or float in [0, 1], any size (the
        decoded frame, or the model's grey input). ``probability`` (H, W) float and ``mask``
        (H, W) {0, 1} are the network's output at model size; ``sector`` is the recording's
        sector at that size (``None``, or one not found: it is looked for in the frame).
        """
        probability = np.asarray(probability)
        mask = np.asarray(mask)
        if probability.ndim != 2 or mask.shape != probability.shape:
            raise ValueError(
                f"need a (H, W) probability and a mask of its shape, got {probability.shape} "
                f"and {mask.shape}"
            )
        grey = self._model_grey(image, mask.shape)
        region = self._sector(grey, sector)
        if self._fan is None or self._fan[0] is not region:
            self._fan = (region, fan_shape(region))
        fan = self._fan[1]
        content = sector_content(grey, region)
        shape = measure_wall(mask)
        motion = self._jumps.update(mask)
        found = {**echo_checks(fan, content), **shape_checks(shape), **jump_checks(motion)}
        reasons = {flag: found[flag] for flag in FLAGS if flag in found}
        return FrameFeatures(frame_features(probability, mask, shape, fan, content), reasons)

    def assess(
        self,
        image: np.ndarray,
        probability: np.ndarray,
        mask: np.ndarray,
        sector: Sector | None = None,
    ) -> FrameQuality:
        """Measure, check and score one frame (arguments as for :meth:`measure`)."""
        examined = self.examine(image, probability, mask, sector)
        reasons = examined.reasons
        if UNTRUSTWORTHY & reasons.keys():
            quality = 0.0
        else:
            if self._model is None:
                self._model = bundled_quality_model()
            quality = self._model.predict_one(examined.features)
        return FrameQuality(quality, tuple(reasons), reasons)

    @staticmethod
    def _model_grey(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        image = np.asarray(image)
        if image.shape == shape and image.dtype == np.float32:
            return image
        return prepare_frame(image, shape)

    def _sector(self, grey: np.ndarray, sector: Sector | None) -> Sector:
        """The recording's sector, else the first one found in its own frames."""
        if sector is not None and sector.found and sector.mask.shape == grey.shape:
            return sector
        if self._own_sector is None or not self._own_sector.found:
            self._own_sector = find_sector(grey)
        return self._own_sector


def check_recording(
    frames: Sequence[np.ndarray],
    probabilities: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    model: QualityModel | None = None,
) -> list[FrameQuality]:
    """The verdict of every frame of one recording, checked in order by one
    :class:`QualityControl` (arguments per frame as for :meth:`QualityControl.assess`)."""
    control = QualityControl(model)
    return [
        control.assess(frame, probability, np.asarray(mask, dtype=np.uint8))
        for frame, probability, mask in zip(frames, probabilities, masks, strict=True)
    ]
