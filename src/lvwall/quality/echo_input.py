"""Does the input look like an echo sector at all? Measurements of the fan and its content.

A B-mode frame shows a fan-shaped sector (:mod:`lvwall.data.sector`): its apex, the
transducer, sits at the top of the frame, its sides diverge with depth, and inside it lie
dark blood pools and bright tissue. A photo, a rendered page, a checkerboard or a noise
frame fill the whole frame (no fan); a blank frame has no bright region at all; a CT or MR
slice is a round body, as wide near its top as at its middle. So the fan is measured by its
share of the frame and how much it widens with depth (its width a
quarter of the way down over its widest), and its content by the share that is dark.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lvwall.data import Sector

#: Brightness (fraction of white), after a blur, below which a pixel of the sector is dark.
DARK_LEVEL = 0.08
#: How far down the sector, as a fraction of its height, its width is compared with its widest.
TAPER_DEPTH = 0.25


@dataclass(frozen=True)
class FanShape:
    """The sector's geometry: ``found`` whether a fan-sized bright region was found at all;
    ``fraction`` its share of the frame; ``taper`` its width :data:`TAPER_DEPTH` of the way
    down over its widest width."""

    found: bool
    fraction: float
    taper: float


@dataclass(frozen=True)
class SectorContent:
    """One frame inside the sector: ``brightness`` its mean (0 black, 1 white) and
    ``dark_share`` the share of its pixels darker than :data:`DARK_LEVEL` after a blur."""

    brightness: float
    dark_share: float


def fan_shape(sector: Sector) -> FanShape:
    """Measure the geometry of ``sector``."""
    mask = sector.mask
    if not sector.found or not mask.any():
        return FanShape(found=False, fraction=float(mask.mean()), taper=1.0)
    widths = np.count_nonzero(mask, axis=1)
    rows = np.flatnonzero(widths)
    first, last = int(rows[0]), int(rows[-1])
    probe = first + round(TAPER_DEPTH * (last - first))
    return FanShape(
        found=True,
        fraction=float(mask.mean()),
        taper=float(widths[probe]) / float(widths.max()),
    )


def sector_content(grey: np.ndarray, sector: Sector) -> SectorContent:
    """Measure the frame ``grey`` (H, W) float32 in [0, 1] inside ``sector``."""
    inside = sector.mask
    if not inside.any():
        return SectorContent(brightness=0.0, dark_share=1.0)
    smooth = cv2.blur(grey, (5, 5))
    values = smooth[inside]
    return SectorContent(
        brightness=float(grey[inside].mean()),
        dark_share=float(np.count_nonzero(values < DARK_LEVEL)) / values.size,
    )
