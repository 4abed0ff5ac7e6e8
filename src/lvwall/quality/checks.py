"""The named checks: each turns measurements into a flag with a one-line reason.

Flags are keys of :data:`FLAGS`; the checks return ``{flag: reason}`` for those that fail,
empty when all pass. Their bounds are :mod:`lvwall.quality.thresholds`.
"""

from __future__ import annotations

import math

from lvwall.quality import thresholds as limits
from lvwall.quality.echo_input import FanShape, SectorContent
from lvwall.quality.jump import WallMotion
from lvwall.quality.wall_shape import WallShape

#: Every flag, in report order, with what it means.
FLAGS: dict[str, str] = {
    "not_echo": "the input frame does not look like an echo sector",
    "no_wall": "the predicted wall is missing or much smaller than any expert wall",
    "fragmented": "the wall is not one connected piece",
    "holes": "the wall band has holes",
    "not_open_at_base": "the wall is not a horseshoe open at the mitral base",
    "cavity": "the wall does not enclose one plausible cavity",
    "too_thin": "the wall is thinner along its centreline than any expert wall",
    "too_thick": "the wall is thicker along its centreline than any expert wall",
    "jump": "the wall's size or position jumps against the frames before it",
}


def echo_checks(fan: FanShape, content: SectorContent) -> dict[str, str]:
    """``not_echo`` when the frame has no fan-shaped sector, or the sector is blank."""
    if not fan.found:
        reason = "no bright fan-sized region (blank, or not an ultrasound image)"
    elif fan.fraction > limits.MAX_FAN_FRACTION:
        reason = f"the bright region fills {fan.fraction:.0%} of the frame, not a fan"
    elif fan.taper > limits.MAX_FAN_TAPER:
        reason = f"the bright region does not widen with depth like a fan (taper {fan.taper:.2f})"
    elif content.dark_share > limits.MAX_DARK_SHARE:
        reason = f"the sector is {content.dark_share:.0%} dark (a blank frame)"
    else:
        return {}
    return {"not_echo": reason}


def shape_checks(shape: WallShape) -> dict[str, str]:
    """The anatomical flags of one wall; only ``no_wall`` when there is too little wall."""
    if not shape.measured or shape.wall_fraction < limits.MIN_WALL_FRACTION:
        return {
            "no_wall": f"the wall covers {shape.wall_fraction:.1%} of the frame "
            f"(expert walls: at least {limits.MIN_WALL_FRACTION:.1%})"
        }
    reasons = {}
    if shape.outside_largest > limits.MAX_OUTSIDE_LARGEST:
        reasons["fragmented"] = (
            f"{shape.outside_largest:.0%} of the wall lies outside its largest piece"
        )
    if shape.hole_share > limits.MAX_HOLE_SHARE:
        reasons["holes"] = f"holes make up {shape.hole_share:.1%} of the wall's area"
    if shape.enclosed_cavity:
        reasons["not_open_at_base"] = "the wall closes round the cavity, as a ring"
    elif shape.n_openings > 1:
        reasons["not_open_at_base"] = f"the cavity opens through {shape.n_openings} gaps"
    elif shape.opening < limits.MIN_OPENING:
        reasons["not_open_at_base"] = (
            f"the opening at the base is narrow ({shape.opening:.2f} of the wall's size)"
        )
    elif shape.opening > limits.MAX_OPENING:
        reasons["not_open_at_base"] = (
            f"the opening at the base is wide ({shape.opening:.2f} of the wall's size): the "
            "sides stop short of the base"
        )
    if shape.cavity_ratio < limits.MIN_CAVITY_RATIO:
        reasons["cavity"] = f"the wall encloses almost no cavity ({shape.cavity_ratio:.2f})"
    elif shape.second_cavity > limits.MAX_SECOND_CAVITY:
        reasons["cavity"] = (
            f"the wall encloses a second cavity ({shape.second_cavity:.0%} of the first)"
        )
    if shape.thickness_median < limits.MIN_THICKNESS:
        reasons["too_thin"] = f"median thickness {shape.thickness_median:.1f} px at 224"
    if shape.thickness_median > limits.MAX_THICKNESS:
        reasons["too_thick"] = f"median thickness {shape.thickness_median:.1f} px at 224"
    elif shape.thickness_high > limits.MAX_THICKNESS_HIGH:
        reasons["too_thick"] = f"a tenth of the wall is over {shape.thickness_high:.0f} px thick"
    return reasons


def jump_checks(motion: WallMotion | None) -> dict[str, str]:
    """``jump`` when the wall's area or centroid moved too far from the frames before."""
    if motion is None:
        return {}
    if motion.area_change > limits.MAX_AREA_CHANGE:
        factor = math.exp(motion.area_change)
        return {"jump": f"the wall's area changed by a factor of {factor:.2f}"}
    if motion.shift > limits.MAX_SHIFT:
        return {"jump": f"the wall moved by {motion.shift:.1%} of the frame"}
    return {}
