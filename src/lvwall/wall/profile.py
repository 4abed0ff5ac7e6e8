"""Where a frame's wall lies along its centreline: its endocardium and thickness.

Rays cast from each centreline point along the normal find the endocardium (inwards, into
the cavity) and the epicardium (outwards); their distance apart is the wall's thickness
there, the centreline method of Sheehan et al., "Advantages and Applications of the
Centerline Method for Characterizing Regional Ventricular Function", Circulation 74(2), 1986.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lvwall.wall.segments import SegmentSplit

#: Step (pixels) of the rays cast from the centreline to the wall's borders.
_RAY_STEP = 0.25


@dataclass(frozen=True)
class WallProfile:
    """Where one frame's wall lies along its centreline.

    ``endocardium`` (N, 2) is the inner border point (row, col) on each centreline point's
    normal, ``thickness`` (N,) the wall's width along that normal, in pixels.
    """

    endocardium: np.ndarray
    thickness: np.ndarray


def wall_profile(split: SegmentSplit) -> WallProfile:
    """Cast rays along the centreline's normals to the endocardium and the epicardium."""
    points = split.centreline.points
    inward = inward_normals(points)
    wall = split.wall
    inner = _distance_to_border(wall, points, inward)
    outer = _distance_to_border(wall, points, -inward)
    return WallProfile(endocardium=points + inner[:, None] * inward, thickness=inner + outer)


def inward_normals(points: np.ndarray) -> np.ndarray:
    """Unit normals of the centreline that point into the cavity."""
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    # The centreline closed across the annulus encloses the cavity; rotating the tangent a
    # quarter turn points inside when the curve turns the matching way round.
    rows, cols = points[:, 0], points[:, 1]
    turning = np.sum(cols * np.roll(rows, -1) - np.roll(cols, -1) * rows)
    return normal if turning < 0 else -normal


def _distance_to_border(wall: np.ndarray, points: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """How far (pixels) each point can travel along its direction before leaving the wall."""
    reach = max(wall.shape) / 4
    steps = np.arange(_RAY_STEP, reach, _RAY_STEP)
    along = points[None] + steps[:, None, None] * direction[None]  # (S, N, 2)
    rows = np.clip(np.round(along[..., 0]).astype(int), 0, wall.shape[0] - 1)
    cols = np.clip(np.round(along[..., 1]).astype(int), 0, wall.shape[1] - 1)
    outside = ~wall[rows, cols]
    first_outside = np.where(outside.any(axis=0), outside.argmax(axis=0), len(steps) - 1)
    # The border lies between the last step inside and the first step outside.
    return steps[first_outside] - _RAY_STEP / 2
