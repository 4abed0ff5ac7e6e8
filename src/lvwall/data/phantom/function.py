"""What a phantom recording's LV really does: cavity, volume, lengths and strain, exactly.

Everything is computed from the phantom's own endocardial polygons (the contours that its
masks are drawn from), in millimetres, and never from masks, so that measurements made from
masks (:mod:`lvwall.measure`) can be checked against it.

- Cavity area: the polygon enclosed by the endocardium and the straight line joining its
  two basal (mitral annulus) points, by the shoelace formula.
- Volume: an apical view (A4C or A2C) is one plane, so the guidelines' single-plane methods
  assume the LV is a body of revolution about its long axis (Lang et al., "Recommendations
  for Cardiac Chamber Quantification by Echocardiography in Adults", JASE 28(1), 2015). The
  true volume here is that body's exact volume, V = integral of pi D(h)^2 / 4 dh from the
  annulus midpoint to the apex, with D(h) the cavity's width perpendicular to the long axis
  at height h, integrated over :data:`VOLUME_SLICES` slices: the limit that the 20-disc
  method of discs approximates.
- Lengths: the endocardial contour from one annulus point over the apex to the other, and
  each segment's part of it. The contour points are material points (the phantom moves
  them with the tissue), so segment lengths follow the same myocardium through the cycle:
  Lagrangian strain, as speckle tracking measures it (Voigt et al., "Definitions for a
  common standard for 2D speckle tracking echocardiography", EHJ-CVI 16(1), 2015).
- EF = (EDV - ESV) / EDV x 100; GLS = (L_ES - L_ED) / L_ED x 100 of the endocardial length;
  segmental strain the same of each segment's length (negative: shortening).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

#: Slices of the exact volume integral (the method of discs uses 20).
VOLUME_SLICES = 4000
_MM_PER_CM = 10.0
_ML_PER_MM3 = 1e-3


@dataclass(frozen=True)
class FunctionTruth:
    """The true LV function over one cycle of T frames (frame 0 end-diastole).

    Per frame: ``cavity_area_mm2``, ``volume_ml``, ``long_axis_mm`` (annulus midpoint to
    apex), ``endocardial_length_mm`` (T,) and ``segment_length_mm`` (T, 6, the view's segment
    order). ``es_index`` is the frame of the smallest volume; ``ef_percent``,
    ``gls_percent`` and ``strain_percent`` (6,) compare it with frame 0.
    ``pixel_spacing_mm`` is the (row, column) size of one pixel of the video frame.
    """

    cavity_area_mm2: np.ndarray
    volume_ml: np.ndarray
    long_axis_mm: np.ndarray
    endocardial_length_mm: np.ndarray
    segment_length_mm: np.ndarray
    es_index: int
    ef_percent: float
    gls_percent: float
    strain_percent: np.ndarray
    pixel_spacing_mm: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field as an array, keyed by field name (what a truth file stores)."""
        return {field.name: np.asarray(getattr(self, field.name)) for field in fields(self)}


def polygon_area(points: np.ndarray) -> float:
    """Area of the closed polygon through ``points`` (P, 2), by the shoelace formula."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)))


def polyline_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def long_axis(endo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The annulus midpoint and the apex: the contour point farthest from that midpoint."""
    midpoint = (endo[0] + endo[-1]) / 2.0
    apex = endo[int(np.argmax(np.linalg.norm(endo - midpoint, axis=1)))]
    return midpoint, apex


def revolution_volume(endo: np.ndarray, n_slices: int = VOLUME_SLICES) -> float:
    """Exact single-plane volume of the cavity closed by the annulus line (module docstring).

    Each slice's width is the span of the polygon's crossings with the line perpendicular to
    the long axis at the slice's height (midpoint rule).
    """
    midpoint, apex = long_axis(endo)
    axis = apex - midpoint
    length = float(np.linalg.norm(axis))
    along_unit = axis / length
    across_unit = np.array([-along_unit[1], along_unit[0]])
    closed = np.vstack([endo, endo[:1]])
    height = (closed - midpoint) @ along_unit
    across = (closed - midpoint) @ across_unit
    slices = (np.arange(n_slices) + 0.5) * length / n_slices
    start, end = height[:-1, None], height[1:, None]
    crosses = (start - slices) * (end - slices) <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(start != end, (slices - start) / (end - start), 0.0)
    where = across[:-1, None] + fraction * (across[1:, None] - across[:-1, None])
    width = np.where(crosses, where, -np.inf).max(0) - np.where(crosses, where, np.inf).min(0)
    return float(np.sum(np.pi * width**2 / 4.0) * length / n_slices)


def function_truth(
    endo_contours_cm: np.ndarray,
    segment_slices: Sequence[slice],
    pixel_spacing_mm: tuple[float, float],
) -> FunctionTruth:
    """The truth of a cycle from its endocardial contours (T, P, 2) in cm, frame 0 at ED.

    Contours run from the image-left to the image-right annulus; ``segment_slices`` picks each
    segment's points (:meth:`lvwall.data.phantom.anatomy.LvWall.segment_slice`).
    """
    contours = np.asarray(endo_contours_cm, dtype=float) * _MM_PER_CM
    if contours.ndim != 3 or contours.shape[2] != 2 or len(contours) < 2:
        raise ValueError(f"need contours of shape (T >= 2, P, 2), got {contours.shape}")
    area = np.array([polygon_area(endo) for endo in contours])
    volume = np.array([revolution_volume(endo) * _ML_PER_MM3 for endo in contours])
    axis = np.array([float(np.linalg.norm(np.subtract(*long_axis(endo)))) for endo in contours])
    endo_length = np.array([polyline_length(endo) for endo in contours])
    segments = np.array(
        [[polyline_length(endo[part]) for part in segment_slices] for endo in contours]
    )
    es = int(np.argmin(volume))
    return FunctionTruth(
        cavity_area_mm2=area,
        volume_ml=volume,
        long_axis_mm=axis,
        endocardial_length_mm=endo_length,
        segment_length_mm=segments,
        es_index=es,
        ef_percent=float((volume[0] - volume[es]) / volume[0] * 100.0),
        gls_percent=float((endo_length[es] - endo_length[0]) / endo_length[0] * 100.0),
        strain_percent=(segments[es] - segments[0]) / segments[0] * 100.0,
        pixel_spacing_mm=np.asarray(pixel_spacing_mm, dtype=float),
    )
