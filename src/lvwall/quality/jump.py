"""Does the wall jump in size or position against the frames just before it?

The myocardium is nearly incompressible, so the wall's area changes little over a cardiac
cycle, and at video frame rates its centre moves by a few pixels from one frame to the
next. :class:`JumpChecker` compares each frame's wall area and centroid with the median of
the few frames before it: one wrong frame then shows up against its neighbours without
spoiling the reference for the frames after it.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

#: Frames before the current one whose median area and centroid are the reference.
REFERENCE_FRAMES = 3


@dataclass(frozen=True)
class WallMotion:
    """One frame against its reference: ``area_change`` is ``|log(area / reference area)|``
    and ``shift`` the distance between the centroids over the frame's larger side."""

    area_change: float
    shift: float


class JumpChecker:
    """Streams a recording's wall masks, in order, and measures each against the frames
    before it. Empty masks are measured as nothing and do not enter the reference."""

    def __init__(self, reference_frames: int = REFERENCE_FRAMES) -> None:
        if reference_frames < 1:
            raise ValueError(f"reference_frames must be positive, got {reference_frames}")
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=reference_frames)

    def update(self, mask: np.ndarray) -> WallMotion | None:
        """Measure ``mask`` (H, W) against the reference and add it to the reference; ``None``
        for the first frame of a recording and for an empty mask."""
        moments = cv2.moments(np.asarray(mask, dtype=np.uint8), binaryImage=True)
        area = moments["m00"]
        if area == 0:
            return None
        here = (area, moments["m10"] / area, moments["m01"] / area)
        motion = None
        if self._recent:
            columns = zip(*self._recent, strict=True)
            ref_area, ref_x, ref_y = (statistics.median(values) for values in columns)
            motion = WallMotion(
                area_change=abs(float(np.log(area / ref_area))),
                shift=float(np.hypot(here[1] - ref_x, here[2] - ref_y)) / max(mask.shape),
            )
        self._recent.append(here)
        return motion
