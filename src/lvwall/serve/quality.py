"""Per-frame quality of an analysed recording, as the page shows it.

The verdicts are those of quality control in the segmentation pipeline
(:class:`lvwall.quality.FrameQuality`, the rows of predict's quality.csv); with quality
control off, every frame is "not checked".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lvwall.quality import FrameQuality


@dataclass(frozen=True)
class RecordingQuality:
    """The quality verdict of every frame of a recording (``None``: not checked)."""

    frames: tuple[FrameQuality | None, ...]

    @classmethod
    def of(cls, verdicts: Sequence[FrameQuality | None]) -> RecordingQuality:
        return cls(tuple(verdicts))

    @property
    def checked(self) -> bool:
        return bool(self.frames) and all(frame is not None for frame in self.frames)

    @property
    def flagged(self) -> list[int]:
        """0-based indices of the frames with at least one flag."""
        return [index for index, frame in enumerate(self.frames) if frame and frame.flags]

    @property
    def frame_flags(self) -> list[tuple[str, ...]] | None:
        """The flags of each frame, as :func:`lvwall.measure.measure_recording` takes them
        (``None``: not checked)."""
        return [frame.flags for frame in self.frames if frame] if self.checked else None

    def to_json(self) -> dict:
        """The page's quality: each frame by its number from 1, as every lvwall output
        counts frames."""
        return {
            "checked": self.checked,
            "frames": [
                {
                    "frame": index + 1,
                    "quality": None if frame is None else round(frame.quality, 3),
                    "flags": [] if frame is None else list(frame.flags),
                    "reasons": {} if frame is None else dict(frame.reasons),
                }
                for index, frame in enumerate(self.frames)
            ],
        }
