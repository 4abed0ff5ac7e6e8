"""Per-frame quality as ``lvwall predict`` writes it (``OUT/<name>/quality.csv``), for the page.

The file has one row per frame, in frame order, with the columns ``frame,quality,flags``:
a score and the quality-control flags of the frame, ``;``-separated (empty: the frame
passed). Without the file the frames' quality was not checked.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from lvwall.errors import DataError

#: The per-frame quality file in a ``lvwall predict`` output folder, and its columns.
QUALITY_FILE = "quality.csv"
QUALITY_COLUMNS = ("frame", "quality", "flags")
#: What separates the flags of one frame in :data:`QUALITY_FILE`.
FLAG_SEPARATOR = ";"


@dataclass(frozen=True)
class FrameQuality:
    """One frame's quality score (``None`` when not checked) and flags."""

    quality: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class RecordingQuality:
    """The quality of every frame of a recording; ``checked`` False when it was not checked."""

    checked: bool
    frames: tuple[FrameQuality, ...]

    @property
    def flagged(self) -> list[int]:
        """0-based indices of the frames with at least one flag."""
        return [index for index, frame in enumerate(self.frames) if frame.flags]

    @property
    def frame_flags(self) -> list[tuple[str, ...]] | None:
        """The flags of each frame, as :func:`lvwall.measure.measure_recording` takes them
        (``None``: not checked)."""
        return [frame.flags for frame in self.frames] if self.checked else None

    def to_json(self) -> dict:
        return {
            "checked": self.checked,
            "frames": [
                {"index": index, "quality": frame.quality, "flags": list(frame.flags)}
                for index, frame in enumerate(self.frames)
            ],
        }


def read_quality(folder: str | Path, n_frames: int) -> RecordingQuality:
    """The quality of the ``n_frames`` frames of a ``lvwall predict`` output ``folder``: read
    from its :data:`QUALITY_FILE`, or not checked when there is none.

    Raises :class:`DataError` naming the file when it is not one row per frame with the
    columns :data:`QUALITY_COLUMNS` and numeric scores.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    path = Path(folder) / QUALITY_FILE
    if not path.is_file():
        return RecordingQuality(False, (FrameQuality(None, ()),) * n_frames)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != QUALITY_COLUMNS:
            raise DataError(path, f"is not a quality file (expected the columns {QUALITY_COLUMNS})")
        rows = list(reader)
    if len(rows) != n_frames:
        raise DataError(path, f"has {len(rows)} rows for a recording of {n_frames} frames")
    try:
        frames = tuple(
            FrameQuality(
                _score(row["quality"]),
                tuple(flag for flag in row["flags"].split(FLAG_SEPARATOR) if flag),
            )
            for row in rows
        )
    except ValueError as error:
        raise DataError(path, f"holds a quality that is not a finite number ({error})") from None
    return RecordingQuality(True, frames)


def _score(text: str) -> float | None:
    """A frame's score; empty where the frame got none."""
    if not text.strip():
        return None
    score = float(text)
    if not math.isfinite(score):
        raise ValueError(f"could not convert string to a finite float: {text!r}")
    return score
