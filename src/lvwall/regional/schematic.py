"""A schematic apical wall: a horseshoe opening downwards, with known geometry.

Apex at the top of the image, mitral annulus at the bottom, the view's first wall on the
image left (the septum in A4C, the inferior wall in A2C); the two walls are straight legs
joined by a semicircle. Used to draw the segment diagram of either view and to make
synthetic walls whose segments and motion are known exactly (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from lvwall.data import MODEL_SIZE, SEGMENT_NAMES
from lvwall.wall import Centreline, centreline_segments, resample_by_arc_length

#: Spacing (pixels) of the dense polyline that :func:`draw_wall` rasterises.
_DENSE_SPACING = 0.25


def horseshoe(
    apex: tuple[float, float] = (40.0, 112.0),
    radius: float = 32.0,
    left_leg: float = 100.0,
    right_leg: float = 100.0,
    n_points: int = 400,
) -> Centreline:
    """Centreline of a horseshoe wall, evenly spaced, image-left basal end first.

    It runs from the basal end of the image-left leg, up the leg, over a semicircle of
    ``radius`` whose top is ``apex``, and down the image-right leg; its apex is the top of
    the semicircle. The arc length of the left side (basal end to apex) is
    ``left_leg + pi * radius / 2``.
    """
    if radius <= 0 or left_leg < 0 or right_leg < 0:
        raise ValueError(f"need radius > 0 and legs >= 0, got {radius}, {left_leg}, {right_leg}")
    apex_row, apex_col = apex
    centre_row = apex_row + radius
    angles = np.linspace(np.pi, 0.0, 181)
    arch = np.stack(
        [centre_row - radius * np.sin(angles), apex_col + radius * np.cos(angles)], axis=1
    )
    left = np.array([[centre_row + left_leg, apex_col - radius], [centre_row, apex_col - radius]])
    right = np.array([[centre_row, apex_col + radius], [centre_row + right_leg, apex_col + radius]])
    points = resample_by_arc_length(np.concatenate([left, arch[1:-1], right]), n_points)
    left_side = left_leg + np.pi * radius / 2.0
    total = left_side + np.pi * radius / 2.0 + right_leg
    return Centreline(points=points, apex_index=round(left_side / total * (n_points - 1)))


def draw_wall(
    centreline: np.ndarray,
    half_thickness: float | np.ndarray,
    shape: tuple[int, int] = (MODEL_SIZE, MODEL_SIZE),
) -> np.ndarray:
    """Rasterise a wall band round ``centreline`` (N, 2) into a uint8 mask of ``shape``.

    A pixel is wall when it lies within the local ``half_thickness`` (a scalar or one value
    per centreline point) of the centreline; the two ends are cut flat, perpendicular to the
    centreline, like the basal ends of a traced A4C wall.
    """
    centreline = np.asarray(centreline, dtype=float)
    widths = np.broadcast_to(np.asarray(half_thickness, dtype=float), (len(centreline),))
    if np.any(widths <= 0):
        raise ValueError("half_thickness must be positive")
    length = float(np.linalg.norm(np.diff(centreline, axis=0), axis=1).sum())
    n_dense = max(2, int(np.ceil(length / _DENSE_SPACING)) + 1)
    dense = resample_by_arc_length(centreline, n_dense)
    dense_widths = np.interp(
        np.linspace(0.0, 1.0, n_dense), np.linspace(0.0, 1.0, len(centreline)), widths
    )

    rows, cols = np.indices(shape)
    pixels = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(float)
    distance, nearest = cKDTree(dense).query(pixels, distance_upper_bound=dense_widths.max() + 1)
    inside = np.isfinite(distance)
    # The tolerance keeps pixels exactly half a thickness away, lost to rounding otherwise.
    inside[inside] = distance[inside] <= dense_widths[nearest[inside]] + 0.01
    for end, neighbour in ((0, 1), (n_dense - 1, n_dense - 2)):
        beyond = ((pixels - dense[end]) @ (dense[end] - dense[neighbour])) > 0
        inside &= ~(beyond & (nearest == end))
    return inside.reshape(shape).astype(np.uint8)


def beating_wall(
    segment_motion: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    n_frames: int = 12,
    amplitude: float = 8.0,
    thickening: float = 0.4,
    half_thickness: float = 5.0,
    reference: Centreline | None = None,
) -> np.ndarray:
    """Masks (T, 224, 224) of a horseshoe wall contracting over one cycle.

    Each centreline point moves towards the LV centre (midway between annulus and apex) by
    up to ``amplitude`` pixels at end-systole (mid-cycle) and its wall thickens by up to the
    fraction ``thickening``, both scaled by its segment's factor in ``segment_motion`` (one per
    segment in label-map order, the view's segment order; 0 is an akinetic segment). Frame 0
    is end-diastole.
    """
    if len(segment_motion) != len(SEGMENT_NAMES):
        raise ValueError(f"need {len(SEGMENT_NAMES)} segment factors, got {len(segment_motion)}")
    if n_frames < 2:
        raise ValueError(f"need n_frames >= 2, got {n_frames}")
    reference = reference if reference is not None else horseshoe()
    factor = np.asarray(segment_motion, dtype=float)[centreline_segments(reference) - 1]
    # Smooth the factor along the wall so that a still segment bends into its neighbours
    # instead of tearing away from them.
    factor = ndimage.gaussian_filter1d(factor, sigma=3.0, mode="nearest")
    centre = (reference.annulus_midpoint + reference.points[reference.apex_index]) / 2.0
    inward = centre - reference.points
    inward /= np.linalg.norm(inward, axis=1, keepdims=True)
    phase = np.sin(np.pi * np.arange(n_frames) / (n_frames - 1))
    return np.stack(
        [
            draw_wall(
                reference.points + (amplitude * level * factor)[:, None] * inward,
                half_thickness * (1.0 + thickening * level * factor),
            )
            for level in phase
        ]
    )
