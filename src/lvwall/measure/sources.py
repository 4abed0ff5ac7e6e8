"""Where a recording's masks and probability maps come from, for measurement: a recording
segmented now with :mod:`lvwall.infer`, or a ``masks.npz`` that ``lvwall predict`` wrote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lvwall.measure.recording import measure_recording
from lvwall.measure.result import Measurements
from lvwall.regional.sources import read_masks_npz

if TYPE_CHECKING:
    from lvwall.data.inputs import InputSource
    from lvwall.infer import PredictProgress, SegmentationModel, SegmentedFrame

#: The key of ``lvwall predict``'s masks at the video frame's own size (their shape gives
#: the frame's).
ORIGINAL_KEY = "original"


@dataclass(frozen=True)
class MeasurementInput:
    """One recording's model-size wall masks (T, H, W) and what else is known of it.

    ``probabilities`` (T, H, W) are ``None`` for masks read from a file; ``frame_size`` is the
    video frame's (height, width) and ``spacing_mm`` its (row, column) pixel size, ``None``
    where unknown; ``frame_flags`` the quality-control flags per frame, ``None`` when quality
    was not checked.
    """

    name: str
    path: Path
    masks: np.ndarray
    probabilities: np.ndarray | None
    frame_size: tuple[int, int] | None
    spacing_mm: tuple[float, float] | None
    frame_flags: list[tuple[str, ...]] | None

    def measure(self, spacing_mm: float | None = None, septal_side: str = "left") -> Measurements:
        """Volumes, EF and strain of this recording (:func:`measure_recording`);
        ``spacing_mm`` (mm per pixel) replaces the file's own pixel spacing where given."""
        return measure_recording(
            self.masks,
            self.probabilities,
            spacing_mm=spacing_mm or self.spacing_mm,
            frame_size=self.frame_size,
            frame_flags=self.frame_flags,
            septal_side=septal_side,
            name=self.name,
        )


def quality_flags(frames: Sequence[SegmentedFrame]) -> list[tuple[str, ...]] | None:
    """The quality-control flags of each segmented frame, or ``None`` when quality was not
    checked (``PredictOptions(quality=False)``)."""
    if any(frame.quality is None for frame in frames):
        return None
    return [frame.flags for frame in frames]


def segment_for_measurement(
    source: InputSource,
    model: SegmentationModel,
    progress: PredictProgress | None = None,
) -> MeasurementInput:
    """Segment every frame of a recording with ``lvwall predict``'s default pipeline,
    keeping the probability maps, the frame size and the file's pixel spacing."""
    from lvwall.infer import PredictOptions, segment_frames

    recording = source.open()
    if progress is not None:
        progress.start(recording)
    segmented = []
    for frame in segment_frames(recording.frames(), model, PredictOptions()):
        segmented.append(frame)
        if progress is not None:
            progress.advance()
    return MeasurementInput(
        name=source.name,
        path=source.path,
        masks=np.stack([frame.mask for frame in segmented]),
        probabilities=np.stack([frame.probability for frame in segmented]),
        frame_size=(recording.height, recording.width),
        spacing_mm=recording.pixel_spacing_mm,
        frame_flags=quality_flags(segmented),
    )


def read_predicted_masks(path: str | Path) -> MeasurementInput:
    """Masks from an NPZ (:func:`lvwall.regional.sources.read_masks_npz`: key ``model`` of
    ``lvwall predict``, or ``masks``), with the frame size where ``lvwall predict`` also
    stored the masks at the frame's own size."""
    path = Path(path)
    read = read_masks_npz(path)
    return MeasurementInput(
        name=read.name,
        path=path,
        masks=read.masks,
        probabilities=None,
        frame_size=_original_frame_size(path),
        spacing_mm=None,
        frame_flags=None,
    )


def _original_frame_size(path: Path) -> tuple[int, int] | None:
    """(height, width) of the ``original`` masks of an NPZ, read from the array's header."""
    from lvwall.infer.writers import npz_shape

    shape = npz_shape(path, ORIGINAL_KEY)
    return (shape[1], shape[2]) if shape is not None and len(shape) == 3 else None
