"""Regional wall motion over one cardiac cycle: endocardial displacement and wall thickening.

Following the HMC-QU study setting (Kiranyaz et al., "Left Ventricular Wall Motion
Estimation by Active Polynomials for Acute Myocardial Infarction Detection", IEEE Access 8,
2020; Degerli et al., IEEE Access 9, 2021), the endocardial boundary of each frame is
parametrised by position along the wall, each segment's boundary points are compared with
the same points in the cycle's first frame (the study's reference frame), and the largest
displacement of a segment over the cycle is its motion feature. Here the boundary comes
from the (predicted) wall masks rather than from active polynomials: on each frame, rays
cast from the wall's centreline along its normals find the endocardium (inwards) and the
epicardium (outwards), and points correspond across frames by arc length within their
segment.

Two displacements are measured per segment: its size (as in the study), and its component
along the reference frame's inward wall normal, perpendicular to the wall as in the
centreline method (Sheehan et al., "Advantages and Applications of the Centerline Method for
Characterizing Regional Ventricular Function", Circulation 74(2), 1986), so that inward
(systolic) motion is positive. The normal, not the direction to a fixed LV centre, because
the base descends towards the apex in systole: measured towards a fixed centre, that
longitudinal motion would cancel the inward motion of the segments above the centre.
Wall thickening is the fractional change of the segment's mean thickness from the reference
frame, (WT(t) - WT(0)) / WT(0), the usual echocardiographic definition (Lang et al.,
"Recommendations for Cardiac Chamber Quantification by Echocardiography in Adults", JASE
28(1), 2015).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lvwall.data import SEGMENT_NAMES
from lvwall.wall import (
    SegmentSplit,
    WallProfile,
    inward_normals,
    resample_by_arc_length,
    wall_profile,
)

#: Boundary points per segment compared between frames.
POINTS_PER_SEGMENT = 24


@dataclass(frozen=True)
class MotionCurves:
    """Per-segment motion of one cycle; columns follow the label-map order of the view's
    segments (:func:`lvwall.data.segment_names`; six in each apical view).

    In pixels, from the reference frame (frame 0): ``displacement`` (T, 6) is the mean size
    of the displacement of the segment's endocardial points, ``inward`` (T, 6) its mean
    component along the reference wall's inward normal, ``thickness`` (T, 6) the segment's
    mean wall thickness. ``long_axis`` is the reference frame's LV long-axis length (mitral
    annulus midpoint to apex along the wall's centreline), used to compare hearts of
    different size.
    """

    displacement: np.ndarray
    inward: np.ndarray
    thickness: np.ndarray
    long_axis: float

    def __post_init__(self) -> None:
        n_segments = len(SEGMENT_NAMES)
        shapes = {curve.shape for curve in (self.displacement, self.inward, self.thickness)}
        if len(shapes) != 1 or self.displacement.ndim != 2 or self.displacement.shape[1] != 6:
            raise ValueError(
                f"need displacement, inward and thickness of one shape (T, {n_segments}), "
                f"got {sorted(shapes)}"
            )
        if not self.long_axis > 0:
            raise ValueError(f"long_axis must be positive, got {self.long_axis}")

    @property
    def normalised_displacement(self) -> np.ndarray:
        """Displacement (T, 6) as a fraction of the LV long-axis length."""
        return self.displacement / self.long_axis

    @property
    def normalised_inward(self) -> np.ndarray:
        """Inward displacement (T, 6) as a fraction of the LV long-axis length."""
        return self.inward / self.long_axis

    @property
    def thickening(self) -> np.ndarray:
        """Fractional wall thickening (T, 6) relative to the reference frame."""
        return self.thickness / self.thickness[0] - 1.0

    @property
    def max_displacement(self) -> np.ndarray:
        """Largest normalised displacement of each segment over the cycle (6,)."""
        return self.normalised_displacement.max(axis=0)

    @property
    def max_inward(self) -> np.ndarray:
        """Largest normalised inward displacement of each segment over the cycle (6,)."""
        return self.normalised_inward.max(axis=0)

    @property
    def max_thickening(self) -> np.ndarray:
        """Largest fractional thickening of each segment over the cycle (6,)."""
        return self.thickening.max(axis=0)


def wall_motion(splits: Sequence[SegmentSplit]) -> MotionCurves:
    """Displacement and thickness curves of a split cycle; ``splits[0]`` is the reference."""
    if len(splits) < 2:
        raise ValueError(f"need at least two frames of one cycle, got {len(splits)}")
    profiles = [wall_profile(split) for split in splits]
    boundaries = [
        _segment_boundaries(split, profile) for split, profile in zip(splits, profiles, strict=True)
    ]
    reference, normals = boundaries[0], _boundary_normals(boundaries[0], splits[0])
    moves = np.stack(boundaries) - reference  # (T, 6, K, 2)
    return MotionCurves(
        displacement=np.linalg.norm(moves, axis=-1).mean(axis=-1),
        inward=(moves * normals).sum(axis=-1).mean(axis=-1),
        thickness=np.stack(
            [
                _segment_means(split, profile.thickness)
                for split, profile in zip(splits, profiles, strict=True)
            ]
        ),
        long_axis=splits[0].centreline.long_axis_length,
    )


def _boundary_normals(boundaries: np.ndarray, split: SegmentSplit) -> np.ndarray:
    """Unit normals (6, K, 2) of each segment's endocardium, pointing into the cavity."""
    tangent = np.gradient(boundaries, axis=1)
    normal = np.stack([-tangent[..., 1], tangent[..., 0]], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    centreline_normals = inward_normals(split.centreline.points)
    for index, label in enumerate(range(1, len(SEGMENT_NAMES) + 1)):
        if np.sum(normal[index] * centreline_normals[_run(split, label)].mean(axis=0)) < 0:
            normal[index] = -normal[index]
    return normal


def _segment_boundaries(split: SegmentSplit, profile: WallProfile) -> np.ndarray:
    """Each segment's endocardium resampled to ``POINTS_PER_SEGMENT`` points: (6, K, 2)."""
    return np.stack(
        [
            resample_by_arc_length(profile.endocardium[_run(split, label)], POINTS_PER_SEGMENT)
            for label in range(1, len(SEGMENT_NAMES) + 1)
        ]
    )


def _segment_means(split: SegmentSplit, values: np.ndarray) -> np.ndarray:
    return np.array(
        [values[_run(split, label)].mean() for label in range(1, len(SEGMENT_NAMES) + 1)]
    )


def _run(split: SegmentSplit, label: int) -> slice:
    """The centreline indices of one segment, plus the next point so segments meet."""
    indices = np.flatnonzero(split.point_labels == label)
    return slice(indices[0], min(indices[-1] + 2, len(split.point_labels)))
