"""Measure the shape of a predicted LV-wall mask: pieces, holes, cavity, base opening, thickness.

An apical (A4C or A2C) wall is one horseshoe-shaped band, open at the mitral valve, round one
cavity. Every measurement here is cheap (connected components, a convex hull and one distance
transform, on the wall's bounding box at model size) so that it runs on every frame;
:mod:`lvwall.quality.thresholds` says where each becomes implausible. The criteria follow the
anatomical checks that Painchaud et al. apply to every CAMUS prediction ("Cardiac
segmentation with strong anatomical guarantees", IEEE TMI 39(11):3703-3713, 2020): one
connected wall without holes, which encloses one cavity.

The cavity is the largest region of the wall's convex hull that is not wall. For a
horseshoe it touches the hull's outline along the mitral opening; a closed ring encloses it
(no opening); a blob or a straight band has almost none; a wall that also wraps round a
neighbouring chamber leaves a second region as large. The thickness along the centreline is
read off the distance transform on its ridge (the medial axis): a ridge pixel at distance
``d`` from the background lies in a band ``2 d - 1`` pixels thick.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lvwall.quality.thresholds import MIN_CAVITY_RATIO

#: Below this many pixels a mask has no shape worth measuring.
MIN_MEASURED_PIXELS = 20
#: The two neighbours, as (row, column) offsets, across which a ridge pixel is a maximum:
#: every band crosses rows or columns, whichever way it runs.
_ACROSS = (((-1, 0), (1, 0)), ((0, -1), (0, 1)))


@dataclass(frozen=True)
class WallShape:
    """Measurements of one wall mask; the shape fields are NaN when it is (nearly) empty.

    ``wall_fraction``: wall pixels over frame pixels. ``outside_largest``: the share of wall
    pixels outside the largest 8-connected piece; everything else is measured on that piece.
    ``hole_share``: pixels of holes enclosed by the wall, other than the cavity, over wall
    pixels. ``enclosed_cavity``: the cavity is one of those holes (the wall is a closed
    ring). ``cavity_ratio``: cavity pixels over wall pixels. ``second_cavity``: the
    second-largest non-wall region of the hull over the cavity. ``opening``: pixels of the
    hull's outline that the cavity touches (the mitral opening) over the square root of the
    hull's area; ``n_openings``: how many separate stretches of the outline it touches.
    ``thickness_median``/``thickness_high``: the median and 90th percentile of the wall
    thickness along its centreline, in pixels.
    """

    wall_fraction: float
    outside_largest: float
    hole_share: float
    enclosed_cavity: bool
    cavity_ratio: float
    second_cavity: float
    opening: float
    n_openings: int
    thickness_median: float
    thickness_high: float

    @property
    def measured(self) -> bool:
        """Whether there was enough wall to measure its shape."""
        return not np.isnan(self.cavity_ratio)


def measure_wall(mask: np.ndarray) -> WallShape:
    """Measure a binary wall mask (H, W), uint8 or bool."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or 0 in mask.shape:
        raise ValueError(f"need one non-empty (H, W) mask, got shape {mask.shape}")
    wall = (mask > 0).astype(np.uint8)
    n_wall = int(np.count_nonzero(wall))
    if n_wall < MIN_MEASURED_PIXELS:
        nan = float("nan")
        return WallShape(n_wall / wall.size, nan, nan, False, nan, nan, nan, 0, nan, nan)
    piece, n_piece, _ = _largest_piece(wall)
    hole_share, enclosed = _holes(piece, n_piece)
    cavity_ratio, second, opening, n_openings = _cavity(piece, n_piece)
    median, high = _thickness(piece)
    return WallShape(
        wall_fraction=n_wall / wall.size,
        outside_largest=1.0 - n_piece / n_wall,
        hole_share=hole_share,
        enclosed_cavity=enclosed,
        cavity_ratio=cavity_ratio,
        second_cavity=second,
        opening=opening,
        n_openings=n_openings,
        thickness_median=median,
        thickness_high=high,
    )


def cavity_mask(mask: np.ndarray) -> np.ndarray:
    """The cavity of a wall mask (H, W) as :func:`measure_wall` measures it, as a boolean map
    of the mask's shape: the largest region of the largest piece's convex hull that is not
    wall (all False when there is none)."""
    wall = (np.asarray(mask) > 0).astype(np.uint8)
    cavity = np.zeros(wall.shape, dtype=bool)
    if np.count_nonzero(wall) < MIN_MEASURED_PIXELS:
        return cavity
    piece, _, (left, top) = _largest_piece(wall)
    _, labels, stats = _pockets(piece)
    if len(stats) < 2:
        return cavity
    largest = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    # The piece's box has a one-pixel frame, which never holds a pocket.
    height, width = largest.shape[0] - 2, largest.shape[1] - 2
    cavity[top : top + height, left : left + width] = largest[1:-1, 1:-1]
    return cavity


def _largest_piece(wall: np.ndarray) -> tuple[np.ndarray, int, tuple[int, int]]:
    """(the largest 8-connected piece on the wall's bounding box framed by one pixel of
    background, its pixel count, the box's (left, top) in the mask)."""
    # The one-pixel frame makes the outside one 4-connected region.
    left, top, width, height = cv2.boundingRect(wall)
    box = np.pad(wall[top : top + height, left : left + width], 1)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(box, connectivity=8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8), int(stats[largest, cv2.CC_STAT_AREA]), (left, top)


def _pockets(piece: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the piece's filled convex hull, the 4-connected labels of the hull's non-wall regions,
    their connected-component stats, row 0 the rest)."""
    # The hull of the outer contour is the hull of the piece, from far fewer points.
    contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros_like(piece)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.concatenate(contours)), 1)
    hull |= piece  # the hull polygon runs through pixel centres and can miss edge pixels
    _, labels, stats, _ = cv2.connectedComponentsWithStats(hull & (1 - piece), connectivity=4)
    return hull, labels, stats


def _holes(piece: np.ndarray, n_piece: int) -> tuple[float, bool]:
    """(pixels of holes in the band over wall pixels, whether the largest hole is the cavity).

    Background is 4-connected, the dual of the wall's 8-connectivity, so that a diagonal
    step never both joins the wall and lets the background through.
    """
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(1 - piece, connectivity=4)
    outside = int(labels[0, 0])
    sizes = np.sort(np.delete(stats[1:, cv2.CC_STAT_AREA], outside - 1))[::-1]
    if sizes.size == 0:
        return 0.0, False
    is_cavity = bool(sizes[0] >= MIN_CAVITY_RATIO * n_piece)
    in_band = sizes[1:] if is_cavity else sizes
    return float(in_band.sum()) / n_piece, is_cavity


def _cavity(piece: np.ndarray, n_piece: int) -> tuple[float, float, float, int]:
    """(cavity over wall pixels, second region over cavity, opening, number of openings)."""
    hull, labels, stats = _pockets(piece)
    if len(stats) < 2:
        return 0.0, 0.0, 0.0, 0
    areas = stats[1:, cv2.CC_STAT_AREA]
    order = np.argsort(areas)[::-1]
    cavity_area = int(areas[order[0]])
    second = int(areas[order[1]]) if len(order) > 1 else 0
    outline = hull - cv2.erode(hull, np.ones((3, 3), np.uint8), borderValue=0)
    contact = ((labels == 1 + int(order[0])) & (outline > 0)).astype(np.uint8)
    n_runs = cv2.connectedComponents(contact, connectivity=8)[0] - 1
    side = float(np.sqrt(np.count_nonzero(hull)))
    return cavity_area / n_piece, second / cavity_area, np.count_nonzero(contact) / side, n_runs


def _thickness(piece: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile of the thickness on the medial ridge of the band."""
    depth = cv2.distanceTransform(piece, cv2.DIST_L2, cv2.DIST_MASK_5)
    height, width = depth.shape
    padded = np.pad(depth, 1)
    ridge = np.zeros(depth.shape, dtype=bool)
    # A ridge pixel is at least as deep as both neighbours across rows or columns and deeper
    # than one of them (which leaves out the flat run along the band's border).
    for (r0, c0), (r1, c1) in _ACROSS:
        before = padded[1 + r0 : 1 + r0 + height, 1 + c0 : 1 + c0 + width]
        after = padded[1 + r1 : 1 + r1 + height, 1 + c1 : 1 + c1 + width]
        ridge |= (depth >= before) & (depth >= after) & ((depth > before) | (depth > after))
    thickness = np.sort(2.0 * depth[ridge & (depth > 0)] - 1.0)
    # Nearest-rank percentiles: np.percentile costs more than the rest of this function.
    last = len(thickness) - 1
    return float(thickness[round(0.5 * last)]), float(thickness[round(0.9 * last)])
