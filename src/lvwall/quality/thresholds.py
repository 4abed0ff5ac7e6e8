"""Where each anatomical and input check starts to flag: data-driven constants.

Every bound comes from the ground truth, with a margin, by one of four rules:

* a magnitude that expert walls keep within a range (thickness, cavity size): the smallest
  value over the reference masks divided by :data:`RANGE_MARGIN`, or the largest multiplied
  by it;
* a share that is close to 0 on expert walls (pixels outside the main piece, holes, a second
  cavity): :data:`SHARE_MARGIN` times the largest value over the reference masks;
* the wall's frame-to-frame change (``jump``): :data:`SHARE_MARGIN` times the largest change
  over the phantom's ground-truth cycles (25 frames/s, each frame against the median of the
  three before it, as :class:`lvwall.quality.jump.JumpChecker` measures);
* the input's fan and its content (``not_echo``): halfway between the largest value over
  real and phantom echo frames and that of a frame-filling or an all-dark image (1).

Reference masks: the 101 ground-truth wall masks (label 2) of ``camus-a4c-dev`` and the
phantom's ground-truth masks of 12 recordings (every frame of their annotated cycle) drawn
with seed 21, at model size (224 x 224). Reference echo frames: the CAMUS dev images, the
HMC-QU sample recording and the phantom videos, as ``lvwall predict`` reads them. Each
constant is rounded to two significant digits. The command that prints the distributions,
derives these values and checks that they match this module (exit 1 if not)::

    python benchmarks/quality_thresholds.py --camus ../shared/data/camus-a4c-dev \\
        --hmcqu ../shared/data/hmcqu-sample
"""

from __future__ import annotations

#: Margin of the range rule: bounds lie this factor beyond the reference extremes.
RANGE_MARGIN = 1.5
#: Margin of the share rule: bounds lie this factor above the largest reference value.
SHARE_MARGIN = 2.0

#: ``no_wall``: fewer wall pixels, as a share of the frame (range rule on the smallest wall).
MIN_WALL_FRACTION = 0.023
#: ``fragmented``: more of the wall's pixels outside its largest 8-connected piece.
MAX_OUTSIDE_LARGEST = 0.073
#: ``holes``: more pixels in holes inside the band, as a share of the wall's pixels.
MAX_HOLE_SHARE = 0.006
#: ``cavity``: a smaller cavity, in wall pixels; an enclosed hole at least this large is the
#: cavity itself (a closed ring), not a hole in the band.
MIN_CAVITY_RATIO = 0.32
#: ``cavity``: a second non-wall region of the wall's hull larger than this share of the
#: cavity (the wall also wraps round a neighbouring chamber).
MAX_SECOND_CAVITY = 0.079
#: ``not_open_at_base``: a narrower opening of the cavity, in pixels of the hull's outline
#: over the square root of the hull's area.
MIN_OPENING = 0.35
#: ``not_open_at_base``: a wider opening (the wall's sides stop short of the base).
MAX_OPENING = 1.4
#: ``too_thin``: a thinner median wall thickness along the centreline, in pixels at 224.
MIN_THICKNESS = 3.6
#: ``too_thick``: a thicker median wall thickness along the centreline, in pixels at 224.
MAX_THICKNESS = 17.0
#: ``too_thick``: a thicker 90th percentile of the thickness (a lump of non-wall tissue).
MAX_THICKNESS_HIGH = 37.0
#: ``jump``: a larger ``|log(area / reference area)|`` against the frames before.
MAX_AREA_CHANGE = 0.18
#: ``jump``: a larger centroid shift against the frames before, over the frame's side.
MAX_SHIFT = 0.06
#: ``not_echo``: a larger share of the frame inside the sector.
MAX_FAN_FRACTION = 0.78
#: ``not_echo``: a sector whose width a quarter of the way down is a larger share of its
#: widest (no fan widening with depth).
MAX_FAN_TAPER = 0.72
#: ``not_echo``: a larger share of dark pixels inside the sector (a blank frame).
MAX_DARK_SHARE = 0.73
