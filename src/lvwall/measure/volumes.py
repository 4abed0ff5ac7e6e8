"""LV volume from one apical view: the method of discs and the area-length method.

Both treat the cavity of the A4C view as a body of revolution about the LV long axis
(single-plane), as recommended where only one apical view is measured (Lang et al.,
"Recommendations for Cardiac Chamber Quantification by Echocardiography in Adults", JASE
28(1), 2015, section 2.1):

- method of discs (modified Simpson's rule): the long axis from the mitral annulus midpoint
  to the apex is divided into :data:`N_DISCS` discs of equal height L / 20; disc i has the
  cavity's width D_i perpendicular to the axis at its mid-height, and
  V = pi / 4 * sum(D_i^2) * L / 20;
- area-length: V = 8 A^2 / (3 pi L), with A the cavity area and L the long axis.

Ejection fraction: EF = (EDV - ESV) / EDV x 100 (Lang et al. 2015).
"""

from __future__ import annotations

import numpy as np

from lvwall.measure.contour import Endocardium

#: Discs of the method of discs (Lang et al. 2015).
N_DISCS = 20


def disc_volume(border: Endocardium, n_discs: int = N_DISCS) -> float:
    """Single-plane volume by the method of discs, in cubic units of the border's points."""
    if n_discs < 1:
        raise ValueError(f"n_discs must be positive, got {n_discs}")
    base = border.annulus_midpoint
    axis = border.apex - base
    length = float(np.linalg.norm(axis))
    if length == 0:
        return 0.0
    along = axis / length
    across = np.array([-along[1], along[0]])
    closed = np.vstack([border.points, border.points[:1]])
    height, offset = (closed - base) @ along, (closed - base) @ across
    levels = (np.arange(n_discs) + 0.5) * length / n_discs
    start, end = height[:-1, None], height[1:, None]
    crossing = (start - levels) * (end - levels) <= 0
    span = np.where(start == end, 1.0, end - start)
    at = offset[:-1, None] + (levels - start) / span * (offset[1:, None] - offset[:-1, None])
    highest = np.where(crossing, at, -np.inf).max(axis=0)
    lowest = np.where(crossing, at, np.inf).min(axis=0)
    width = np.where(np.isfinite(highest), highest - lowest, 0.0)
    return float(np.pi / 4.0 * np.sum(width**2) * length / n_discs)


def area_length_volume(area: float, length: float) -> float:
    """Single-plane area-length volume 8 A^2 / (3 pi L) (Lang et al. 2015)."""
    if area < 0 or length <= 0:
        raise ValueError(f"need area >= 0 and length > 0, got {area} and {length}")
    return 8.0 * area**2 / (3.0 * np.pi * length)


def ejection_fraction(edv: float, esv: float) -> float:
    """EF = (EDV - ESV) / EDV x 100, in percent (Lang et al. 2015)."""
    if edv <= 0 or esv < 0:
        raise ValueError(f"need EDV > 0 and ESV >= 0, got {edv} and {esv}")
    return (edv - esv) / edv * 100.0
