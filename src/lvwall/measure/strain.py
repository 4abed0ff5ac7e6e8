"""Global and segmental longitudinal strain from endocardial borders.

Lagrangian strain of a length L against its end-diastolic length L_ED is
(L - L_ED) / L_ED x 100 %, negative for shortening; global longitudinal strain (GLS) is
that of the whole endocardial border from one mitral annulus point over the apex to the
other, reported at end-systole (Voigt et al., "Definitions for a common standard for 2D
speckle tracking echocardiography: consensus document of the EACVI/ASE/Industry Task
Force", EHJ-CVI 16(1), 2015). The border's ends are the annulus hinge points in every
frame, so GLS needs no tracking.

Segmental strain needs to know where each segment's myocardium has gone, and a mask shows
only where the border is, not how the tissue slid along it (speckle tracking measures that
motion in the image; a mask has no speckle). Each side of the border (septal, lateral)
therefore keeps its measured change of length, and its basal, mid and apical segments
share it by a weighted mean of two estimates:

- Eulerian: each segment's own length in each frame, the border split every frame by the
  thirds of its side's centreline (:func:`lvwall.regional.split_wall`); this assumes the
  myocardium stays evenly spread along the side;
- inward motion: the side's change shared in proportion to each segment's length times its
  mean inward endocardial displacement, since myocardium that does not move inward does
  not shorten either, which is what makes a hypokinetic segment hypokinetic (Lang et al.,
  JASE 28(1), 2015, regional wall motion).

The weight of the Eulerian estimate, :data:`EULERIAN_WEIGHT`, is the one that errs least
against the phantom's Lagrangian truth while every segment keeps an AUROC of at least 0.9
for the phantom's infarcted segments, on ground-truth masks of phantom recordings that no
reported benchmark uses (``benchmarks/bench_measure.py --shares``, docs/measure.md).
"""

from __future__ import annotations

import numpy as np

from lvwall.data import SEGMENT_NAMES
from lvwall.measure.contour import Endocardium
from lvwall.wall import resample_by_arc_length

#: Weight of the Eulerian estimate in a segment's strain (the rest: the inward-motion share).
EULERIAN_WEIGHT = 0.6
#: Segments of each side, as indices into SEGMENT_NAMES (base to apex, apex to base).
SIDES: tuple[tuple[int, ...], ...] = ((0, 1, 2), (3, 4, 5))
#: Points per segment at which borders are compared for inward motion.
POINTS_PER_SEGMENT = 24


def strain_percent(length: float | np.ndarray, reference: float | np.ndarray) -> np.ndarray:
    """Lagrangian strain (L - L_ED) / L_ED x 100 (Voigt et al. 2015)."""
    reference = np.asarray(reference, dtype=float)
    if np.any(reference <= 0):
        raise ValueError(f"reference lengths must be positive, got {reference}")
    return (np.asarray(length, dtype=float) - reference) / reference * 100.0


def inward_motion(reference: Endocardium, frame: Endocardium) -> np.ndarray:
    """Mean inward displacement (6,) of each segment's border from ``reference`` to
    ``frame``, along the reference border's normals into the cavity.

    Points correspond by arc length within each segment, as in the HMC-QU motion features
    (:mod:`lvwall.regional.motion`).
    """
    turning = _turning(reference.points)
    motion = np.zeros(len(SEGMENT_NAMES))
    for index in range(len(SEGMENT_NAMES)):
        label = index + 1
        before = _segment_points(reference, label)
        after = _segment_points(frame, label)
        if before is None or after is None:
            motion[index] = np.nan
            continue
        normals = _cavity_normals(before, turning)
        motion[index] = float(np.sum((after - before) * normals, axis=1).mean())
    return motion


def segmental_strain(
    reference: Endocardium, frame: Endocardium, eulerian_weight: float = EULERIAN_WEIGHT
) -> np.ndarray:
    """Strain (6,) of each segment from ``reference`` (end-diastole) to ``frame``: the
    weighted mean of its Eulerian strain and its inward-motion share of its side's change
    of length (module docstring), with weight ``eulerian_weight`` on the first."""
    if not 0.0 <= eulerian_weight <= 1.0:
        raise ValueError(f"eulerian_weight must be in [0, 1], got {eulerian_weight}")
    before, after = reference.segment_lengths, frame.segment_lengths
    if np.any(before <= 0):
        raise ValueError(f"every segment needs a positive length at the reference, got {before}")
    motion = np.clip(np.nan_to_num(inward_motion(reference, frame)), 0.0, None)
    change = after - before
    for side in SIDES:
        lengths = before[list(side)]
        work = lengths * motion[list(side)]
        share = work / work.sum() if work.sum() > 0 else lengths / lengths.sum()
        shared = change[list(side)].sum() * share
        change[list(side)] = eulerian_weight * change[list(side)] + (1 - eulerian_weight) * shared
    return change / before * 100.0


def _segment_points(border: Endocardium, label: int) -> np.ndarray | None:
    indices = np.flatnonzero(border.labels == label)
    if len(indices) < 2:
        return None
    run = border.points[indices[0] : min(indices[-1] + 2, len(border.points))]
    return resample_by_arc_length(run, POINTS_PER_SEGMENT)


def _turning(points: np.ndarray) -> float:
    """Signed area of a border closed across the annulus: its sign says which way the border
    turns, and so on which side of it the cavity lies."""
    rows, cols = points[:, 0], points[:, 1]
    return float(np.sum(rows * np.roll(cols, -1) - np.roll(rows, -1) * cols))


def _cavity_normals(points: np.ndarray, turning: float) -> np.ndarray:
    """Unit normals (N, 2) of part of a border that turns as ``turning`` says, pointing into
    the cavity."""
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    return normal if turning > 0 else -normal
