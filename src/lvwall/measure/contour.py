"""The endocardial border of one frame, and the LV cavity it encloses.

The border comes from the wall's six-segment split (:mod:`lvwall.regional`): rays cast from
the wall's centreline along its normals end at the endocardium
(:func:`lvwall.regional.motion.wall_profile`), so each border point carries the segment of
its centreline point, and the border runs from the septal over the apex to the lateral
mitral annulus. Ray ends sit on the pixel grid, and a staircase is longer than the curve it
steps along, so the border is smoothed along its length (a Gaussian of
:data:`SMOOTHING_PX` mask pixels) before it is measured. Points are then scaled to
millimetres or frame pixels, each axis by its own factor (:mod:`lvwall.measure.scale`),
which undoes the anisotropic resize to model size.

The cavity is the region enclosed by the border and the straight line joining its two basal
points, the mitral annulus, as the guidelines trace it for volumes; the LV long axis runs
from the annulus midpoint to the apex, the border point farthest from it (Lang et al.,
"Recommendations for Cardiac Chamber Quantification by Echocardiography in Adults", JASE
28(1), 2015).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lvwall.data import SEGMENT_NAMES
from lvwall.measure.scale import PixelScale
from lvwall.wall import SegmentSplit, wall_profile

#: Standard deviation (mask pixels) of the smoothing along the border.
SMOOTHING_PX = 2.0
#: The border has reached the endocardium once it turns within this angle of the wall.
MAX_HINGE_TURN_DEG = 45.0
#: The stretch of border (mask pixels from its end) whose direction is the wall's basal
#: direction, and the window (mask pixels) over which the border's own direction is taken.
BASAL_STRETCH_PX = (20.0, 45.0)
HINGE_WINDOW_PX = 3.0


@dataclass(frozen=True)
class Endocardium:
    """One frame's endocardial border from the septal to the lateral annulus.

    ``points`` (N, 2) are (row, column) in the unit of the :class:`PixelScale` they were
    scaled with; ``labels`` (N,) the segment (1..6, ``SEGMENT_NAMES`` order) of each point.
    """

    points: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.points.ndim != 2 or self.points.shape[1] != 2 or len(self.points) < 3:
            raise ValueError(f"need border points of shape (N >= 3, 2), got {self.points.shape}")
        if self.labels.shape != (len(self.points),):
            raise ValueError(f"need one label per point, got {self.labels.shape}")

    @property
    def annulus_midpoint(self) -> np.ndarray:
        return (self.points[0] + self.points[-1]) / 2.0

    @property
    def apex(self) -> np.ndarray:
        """The border point farthest from the annulus midpoint."""
        distance = np.linalg.norm(self.points - self.annulus_midpoint, axis=1)
        return self.points[int(np.argmax(distance))]

    @property
    def long_axis_length(self) -> float:
        """Annulus midpoint to apex."""
        return float(np.linalg.norm(self.apex - self.annulus_midpoint))

    @property
    def length(self) -> float:
        """Length of the border from annulus to annulus."""
        return float(self._steps().sum())

    @property
    def segment_lengths(self) -> np.ndarray:
        """Length (6,) of each segment's part of the border; they add up to :attr:`length`."""
        steps = self._steps()
        return np.array(
            [steps[self.labels[:-1] == label].sum() for label in range(1, len(SEGMENT_NAMES) + 1)]
        )

    @property
    def cavity_area(self) -> float:
        """Area enclosed by the border and the annulus line (shoelace formula)."""
        rows, cols = self.points[:, 0], self.points[:, 1]
        return 0.5 * abs(float(np.sum(rows * np.roll(cols, -1) - np.roll(rows, -1) * cols)))

    def _steps(self) -> np.ndarray:
        return np.linalg.norm(np.diff(self.points, axis=0), axis=1)


def endocardium(split: SegmentSplit, scale: PixelScale) -> Endocardium:
    """The smoothed endocardial border of a split wall, scaled by ``scale``."""
    border = wall_profile(split).endocardium
    keep = _along_the_wall(border)
    border, labels = border[keep], split.point_labels[keep]
    step = float(np.linalg.norm(np.diff(border, axis=0), axis=1).mean())
    smooth = ndimage.gaussian_filter1d(
        border, SMOOTHING_PX / max(step, 1e-6), axis=0, mode="nearest"
    )
    return Endocardium(points=smooth * np.array([scale.row, scale.column]), labels=labels)


def _along_the_wall(border: np.ndarray) -> np.ndarray:
    """Which border points (bool (N,)) lie on the endocardium proper, not on the wall's
    basal end faces.

    Rays cast from the centreline's last points leave the wall through its end faces, so
    each end of the ray border can run across the wall, from the endocardial hinge point of
    the mitral annulus towards the epicardium. Walking in from each end, the border joins
    the endocardium where its direction first turns within :data:`MAX_HINGE_TURN_DEG` of
    the wall's basal direction (the border's mean direction over its basal stretch).
    """
    steps = np.linalg.norm(np.diff(border, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    keep = np.ones(len(border), dtype=bool)
    cos_limit = np.cos(np.deg2rad(MAX_HINGE_TURN_DEG))
    for ordered in (np.arange(len(border)), np.arange(len(border))[::-1]):
        distance = np.abs(arc[ordered] - arc[ordered[0]])
        near, far = (np.searchsorted(distance, d) for d in BASAL_STRETCH_PX)
        wall_direction = border[ordered[near]] - border[ordered[far]]
        wall_direction /= np.linalg.norm(wall_direction) + 1e-12
        for position in range(near):
            ahead = np.searchsorted(distance, distance[position] + HINGE_WINDOW_PX)
            local = border[ordered[position]] - border[ordered[min(ahead, far)]]
            if np.dot(local, wall_direction) > cos_limit * (np.linalg.norm(local) + 1e-12):
                break
            keep[ordered[position]] = False
    return keep
