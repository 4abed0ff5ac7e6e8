"""LV volume from the apical views: the method of discs (single-plane and biplane) and the
area-length method (Lang et al., "Recommendations for Cardiac Chamber Quantification by
Echocardiography in Adults", JASE 28(1), 2015, section 2.1):

- method of discs (modified Simpson's rule): the long axis from the mitral annulus midpoint
  to the apex is divided into :data:`N_DISCS` discs of equal height L / 20; disc i has the
  cavity's width D_i perpendicular to the axis at its mid-height. Single-plane, from one
  view, the discs are circular: V = pi / 4 * sum(D_i^2) * L / 20. Biplane, from the A4C and
  A2C views of one heart (orthogonal planes through the long axis), disc i is an ellipse of
  diameters a_i (A4C) and b_i (A2C): V = pi / 4 * sum(a_i b_i) * L / 20, with L the longer
  of the two views' long axes (a shorter one is foreshortened). Biplane is the recommended
  method; single-plane assumes a body of revolution;
- area-length: V = 8 A^2 / (3 pi L), with A the cavity area and L the long axis.

Ejection fraction: EF = (EDV - ESV) / EDV x 100 (Lang et al. 2015).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lvwall.measure.contour import Endocardium

#: Discs of the method of discs (Lang et al. 2015).
N_DISCS = 20


@dataclass(frozen=True)
class Discs:
    """The method of discs' cut of one view's cavity: ``widths`` (n,) the cavity's width at
    each disc's mid-height, from the annulus to the apex, and ``length`` the long axis."""

    widths: np.ndarray
    length: float

    @property
    def volume(self) -> float:
        """Single-plane volume of circular discs: pi / 4 * sum(D_i^2) * L / n."""
        return float(np.pi / 4.0 * np.sum(self.widths**2) * self.length / len(self.widths))


def discs(border: Endocardium, n_discs: int = N_DISCS) -> Discs:
    """Cut the cavity that ``border`` encloses into ``n_discs`` discs along its long axis."""
    if n_discs < 1:
        raise ValueError(f"n_discs must be positive, got {n_discs}")
    base = border.annulus_midpoint
    axis = border.apex - base
    length = float(np.linalg.norm(axis))
    if length == 0:
        return Discs(widths=np.zeros(n_discs), length=0.0)
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
    return Discs(widths=width, length=length)


def disc_volume(border: Endocardium, n_discs: int = N_DISCS) -> float:
    """Single-plane volume by the method of discs, in cubic units of the border's points."""
    return discs(border, n_discs).volume


def biplane_volume(
    four_chamber: Endocardium, two_chamber: Endocardium, n_discs: int = N_DISCS
) -> float:
    """Biplane volume by the method of discs from the A4C and A2C borders of one phase, in
    cubic units of the borders' points (Lang et al. 2015: V = pi/4 sum(a_i b_i) L/20, L the
    longer long axis)."""
    a, b = discs(four_chamber, n_discs), discs(two_chamber, n_discs)
    length = max(a.length, b.length)
    return float(np.pi / 4.0 * np.sum(a.widths * b.widths) * length / n_discs)


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
