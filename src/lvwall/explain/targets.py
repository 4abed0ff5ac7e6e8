"""Which pixels an explanation is about: the predicted wall, or one of its six segments.

A segmentation network has one output per pixel, so a saliency map needs a scalar to explain.
Following the study (Degerli et al., IEEE Access 9:34442, 2021) the scalar is the summed wall
probability inside a *target region*; the region is fixed from the model's own unperturbed
prediction, so that noise (SmoothGrad) or the interpolation path (Integrated Gradients) never
moves the pixels being explained.

The six A4C segments (label map 1..6 = SEG3, SEG9, SEG14, SEG16, SEG12, SEG6) come from a
splitter in :data:`SPLITTERS`: by default the anatomical split of :mod:`lvwall.regional`
(thirds of each side by arc length along the wall's centreline), or a plain bounding-box
split (:func:`split_by_thirds`) that works on any mask, even one that is no clean wall.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lvwall.data import SEGMENT_NAMES
from lvwall.lookup import look_up

#: A function from a binary wall mask (H, W) to a label map (H, W): 0 background, 1..6 the
#: segments in :data:`SEGMENT_NAMES` order.
SegmentSplitter = Callable[[np.ndarray], np.ndarray]

#: The explanation targets: the whole predicted wall or one segment.
WALL_TARGET = "wall"
TARGET_NAMES: tuple[str, ...] = (WALL_TARGET, *SEGMENT_NAMES)

# Label of each (side, third) cell. The septum is on the image's left in A4C; the apex is at
# the top, the base (mitral annulus) at the bottom.
_SEPTAL_TOP_TO_BOTTOM = ("SEG14", "SEG9", "SEG3")
_LATERAL_TOP_TO_BOTTOM = ("SEG16", "SEG12", "SEG6")


class EmptyRegionError(ValueError):
    """The model predicts no wall pixel in the requested target, so there is nothing to explain."""


def split_by_thirds(wall: np.ndarray) -> np.ndarray:
    """Split a wall mask into six segments: septal/lateral halves, each cut in vertical thirds.

    The halves meet at the middle column of the wall's bounding box (septal = left); the
    thirds divide the bounding box's rows into apical (top), mid and basal (bottom) bands.
    Coarser than the centreline split (it ignores the wall's curvature, so the apical cap
    is shared between the apical segments by column) but defined for any mask.
    """
    wall = np.asarray(wall)
    if wall.ndim != 2:
        raise ValueError(f"expected a (H, W) wall mask, got shape {wall.shape}")
    labels = np.zeros(wall.shape, dtype=np.uint8)
    rows, cols = np.nonzero(wall)
    if rows.size == 0:
        return labels
    top, bottom = rows.min(), rows.max() + 1
    middle_col = (cols.min() + cols.max()) / 2
    band = np.minimum((rows - top) * 3 // max(bottom - top, 1), 2)
    for side, names in (
        (cols <= middle_col, _SEPTAL_TOP_TO_BOTTOM),
        (cols > middle_col, _LATERAL_TOP_TO_BOTTOM),
    ):
        for third, name in enumerate(names):
            cell = side & (band == third)
            labels[rows[cell], cols[cell]] = SEGMENT_NAMES.index(name) + 1
    return labels


def split_along_centreline(wall: np.ndarray) -> np.ndarray:
    """The anatomical split of :func:`lvwall.wall.segments.split_wall` (septum on the
    image left). Raises :class:`lvwall.wall.errors.RegionalError` for a mask that holds
    no recognisable apical LV wall."""
    from lvwall.wall import split_wall

    return split_wall(wall, septal_side="left", source="predicted wall").labels


#: Wall splitters by name.
SPLITTERS: dict[str, SegmentSplitter] = {
    "centreline": split_along_centreline,
    "thirds": split_by_thirds,
}
#: The splitter that segment targets use unless told otherwise.
DEFAULT_SPLITTER = "centreline"


def target_region(wall: np.ndarray, target: str, splitter: str = DEFAULT_SPLITTER) -> np.ndarray:
    """The boolean (H, W) region of ``target`` within a predicted binary ``wall`` mask.

    ``splitter`` names the entry of :data:`SPLITTERS` that finds the segments. Raises
    :class:`EmptyRegionError` when the region has no pixel.
    """
    if target not in TARGET_NAMES:
        raise ValueError(f"unknown target {target!r}; valid targets are {list(TARGET_NAMES)}")
    look_up(SPLITTERS, splitter, "splitter")
    wall = np.asarray(wall).astype(bool)
    if target == WALL_TARGET:
        region = wall
    else:
        region = SPLITTERS[splitter](wall) == SEGMENT_NAMES.index(target) + 1
    if not region.any():
        raise EmptyRegionError(f"the model predicts no wall pixel in target {target}")
    return region
