"""Split the wall mask of an apical view (A4C or A2C) into its six segments.

Each side of the wall is divided by arc length along the centreline, from its basal end to
the apex, into basal, mid and apical thirds: the six segments of the view in the AHA
17-segment model (Cerqueira et al., Circulation 105(4), 2002) that HMC-QU labels (Degerli et
al., IEEE Access 9, 2021). Each wall pixel takes the segment of its nearest centreline point.

Label maps are positional: they number the segments 1..6 along the centreline from the basal
end of the view's first wall over the apex to the basal end of its second, which is the order
of :func:`lvwall.data.segment_names` for either view; 0 is background. In A4C that is SEG3
basal inferoseptal, SEG9 mid inferoseptal, SEG14 apical septal, SEG16 apical lateral, SEG12
mid anterolateral, SEG6 basal anterolateral (septal wall first); in A2C SEG4 basal inferior,
SEG10 mid inferior, SEG15 apical inferior, SEG13 apical anterior, SEG7 mid anterior, SEG1
basal anterior (inferior wall first). The split itself does not depend on the view: the view
only names the labels. Where an argument says ``septal_side``, it means the image side of the
view's first wall: the septum in A4C, the inferior wall in A2C.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from lvwall.data import SEGMENT_NAMES
from lvwall.wall.centreline import (
    Centreline,
    clean_wall_mask,
    main_wall_pixels,
    wall_centreline,
)
from lvwall.wall.errors import RegionalError

#: Segments per side (basal, mid, apical).
_PER_SIDE = 3


@dataclass(frozen=True)
class SegmentSplit:
    """The six-segment split of one wall mask.

    ``labels`` is uint8 (H, W), 0 background and 1..6 in the view's segment order; only
    pixels of the mask's main wall are labelled (islands are dropped, nothing is added).
    ``point_labels`` gives the segment (1..6) of each centreline point.
    """

    labels: np.ndarray
    centreline: Centreline
    point_labels: np.ndarray

    @property
    def wall(self) -> np.ndarray:
        return self.labels > 0


def centreline_segments(centreline: Centreline) -> np.ndarray:
    """The segment (1..6) of each centreline point: thirds of each side by arc length."""
    third = np.minimum((centreline.side_fractions * _PER_SIDE).astype(int), _PER_SIDE - 1)
    septal = np.arange(len(centreline.points)) <= centreline.apex_index
    return np.where(septal, 1 + third, len(SEGMENT_NAMES) - third).astype(np.uint8)


def split_wall(mask: np.ndarray, septal_side: str = "left", source: str = "mask") -> SegmentSplit:
    """Split one binary wall mask (H, W) into the six segments of its view.

    ``septal_side`` ("left" or "right") is the image side of the view's first wall: the
    septum in A4C, the inferior wall in A2C (both on the left in the standard display, apex
    up). Label 1 is that wall's basal segment (SEG3 in A4C, SEG4 in A2C), label 6 the other
    wall's (SEG6, SEG1).

    Raises :class:`lvwall.wall.errors.RegionalError` naming ``source`` when the mask
    holds no recognisable wall (empty, too small, a blob, a closed ring, no apex).
    """
    wall = clean_wall_mask(mask, source=source)
    centreline = wall_centreline(wall, septal_side=septal_side, source=source)
    point_labels = centreline_segments(centreline)
    kept = main_wall_pixels(mask, wall)
    _, nearest = cKDTree(centreline.points).query(np.argwhere(kept))
    labels = np.zeros(kept.shape, dtype=np.uint8)
    labels[kept] = point_labels[nearest]
    return SegmentSplit(labels=labels, centreline=centreline, point_labels=point_labels)


def split_sequence(
    masks: np.ndarray, septal_side: str = "left", source: str = "masks"
) -> list[SegmentSplit]:
    """Split every frame of a mask sequence (T, H, W); errors name the 1-based frame."""
    if masks.ndim != 3:
        raise ValueError(f"need masks of shape (T, H, W), got {masks.shape}")
    return [
        split_wall(mask, septal_side=septal_side, source=f"{source}, frame {index + 1}")
        for index, mask in enumerate(masks)
    ]


def split_predicted_sequence(
    masks: np.ndarray,
    septal_side: str = "left",
    source: str = "masks",
    max_held_fraction: float = 0.5,
    excluded: Sequence[int] = (),
) -> tuple[list[SegmentSplit], list[int]]:
    """Split predicted masks (T, H, W), holding the last good split where a frame fails.

    A segmenter now and then breaks the wall in one frame (dropout, a valve leaflet); one
    such frame should not void the whole cycle. Frames that do not split, and the
    ``excluded`` ones (0-based: frames that quality control flagged), reuse the previous
    frame's split, so their motion is held rather than invented; leading held frames take
    the first good split. Returns the splits and the 0-based indices of the held frames.
    The reference frame (0) must split unless it is excluded, and at most
    ``max_held_fraction`` of the frames may be held; otherwise the first error is raised.
    """
    if masks.ndim != 3:
        raise ValueError(f"need masks of shape (T, H, W), got {masks.shape}")
    if not 0.0 <= max_held_fraction < 1.0:
        raise ValueError(f"max_held_fraction must be in [0, 1), got {max_held_fraction}")
    skipped = set(excluded)
    splits: list[SegmentSplit | None] = []
    held: list[int] = []
    first_error: RegionalError | None = None
    for index, mask in enumerate(masks):
        if index in skipped:
            held.append(index)
            splits.append(None)
            continue
        try:
            splits.append(
                split_wall(mask, septal_side=septal_side, source=f"{source}, frame {index + 1}")
            )
        except RegionalError as error:
            if index == 0:
                raise
            first_error = first_error or error
            held.append(index)
            splits.append(None)
    if len(held) > max_held_fraction * len(masks):
        raise first_error or RegionalError(
            source,
            f"{len(held)} of its {len(masks)} frames are flagged by quality control or cannot "
            "be split, too many for regional motion",
        )
    good = next(split for split in splits if split is not None)
    filled: list[SegmentSplit] = []
    for split in splits:
        good = split if split is not None else (filled[-1] if filled else good)
        filled.append(good)
    return filled, held


def label_maps(splits: Sequence[SegmentSplit]) -> np.ndarray:
    """The label maps of a split sequence, stacked to uint8 (T, H, W)."""
    return np.stack([split.labels for split in splits])


def segment_dice(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Dice of each segment (6,) between two label maps of the same shape.

    A segment absent from both maps gets NaN: there is nothing to agree on.
    """
    if predicted.shape != truth.shape:
        raise ValueError(f"label maps differ in shape: {predicted.shape} vs {truth.shape}")
    dice = np.full(len(SEGMENT_NAMES), np.nan)
    for index in range(len(SEGMENT_NAMES)):
        ours, theirs = predicted == index + 1, truth == index + 1
        total = int(ours.sum()) + int(theirs.sum())
        if total:
            dice[index] = 2.0 * int((ours & theirs).sum()) / total
    return dice
