"""The per-frame signals the quality score is computed from, all available at inference.

From the probability map (Robinson et al., "Real-time prediction of segmentation quality",
MICCAI 2018, predict Dice from such image-level signals): how much the map agrees with its own
thresholded mask (the soft Dice ``2 sum(p m) / (sum(p) + sum(m))``, the Dice the model
expects if its probabilities were calibrated), how wide the band of uncertain pixels is
against the wall, and how confident the wall's own pixels are (their mean probability, and
the share of them above the uncertain band). From the mask: the
measurements of :mod:`lvwall.quality.wall_shape`. From the input: those of
:mod:`lvwall.quality.echo_input`.
"""

from __future__ import annotations

import numpy as np

from lvwall.quality.echo_input import FanShape, SectorContent
from lvwall.quality.wall_shape import WallShape

#: A pixel is uncertain when its wall probability lies in this open interval; a wall pixel
#: is confident at or above its upper end.
UNCERTAIN = (0.1, 0.9)

#: The features, in a fixed order (the columns of the fitting tables).
FEATURE_NAMES: tuple[str, ...] = (
    "soft_dice",
    "uncertain_share",
    "wall_confidence",
    "confident_share",
    "wall_fraction",
    "outside_largest",
    "hole_share",
    "cavity_ratio",
    "second_cavity",
    "opening",
    "n_openings",
    "enclosed_cavity",
    "thickness_median",
    "thickness_spread",
    "fan_fraction",
    "fan_taper",
    "brightness",
    "dark_share",
)


def probability_features(probability: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """``soft_dice``, ``uncertain_share`` (uncertain pixels over wall pixels),
    ``wall_confidence`` (mean probability over the wall) and ``confident_share`` (the share of
    wall pixels the model is confident of) of a probability map and its mask."""
    p = np.asarray(probability, dtype=np.float32)
    wall = np.asarray(mask) > 0
    n_wall = int(np.count_nonzero(wall))
    total = float(p.sum(dtype=np.float64))
    inside = float(p[wall].sum(dtype=np.float64)) if n_wall else 0.0
    low, high = UNCERTAIN
    n_uncertain = int(np.count_nonzero((p > low) & (p < high)))
    n_confident = int(np.count_nonzero(p[wall] >= high)) if n_wall else 0
    return {
        "soft_dice": 2.0 * inside / (total + n_wall) if total + n_wall > 0 else 0.0,
        "uncertain_share": n_uncertain / max(n_wall, 1),
        "wall_confidence": inside / n_wall if n_wall else 0.0,
        "confident_share": n_confident / n_wall if n_wall else 0.0,
    }


def frame_features(
    probability: np.ndarray,
    mask: np.ndarray,
    shape: WallShape,
    fan: FanShape,
    content: SectorContent,
) -> dict[str, float]:
    """Every feature of :data:`FEATURE_NAMES` for one frame (shape ones NaN without a wall)."""
    return {
        **probability_features(probability, mask),
        "wall_fraction": shape.wall_fraction,
        "outside_largest": shape.outside_largest,
        "hole_share": shape.hole_share,
        "cavity_ratio": shape.cavity_ratio,
        "second_cavity": shape.second_cavity,
        "opening": shape.opening,
        "n_openings": float(shape.n_openings),
        "enclosed_cavity": float(shape.enclosed_cavity),
        "thickness_median": shape.thickness_median,
        "thickness_spread": shape.thickness_high / shape.thickness_median
        if shape.measured
        else float("nan"),
        "fan_fraction": fan.fraction,
        "fan_taper": fan.taper,
        "brightness": content.brightness,
        "dark_share": content.dark_share,
    }
