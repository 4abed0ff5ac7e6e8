"""Target regions: the whole predicted wall, or one of its six segments."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.data.records import SEGMENT_NAMES
from lvwall.explain.targets import (
    SPLITTERS,
    TARGET_NAMES,
    EmptyRegionError,
    split_by_thirds,
    target_region,
)
from lvwall.regional.schematic import draw_wall, horseshoe
from lvwall.wall.errors import RegionalError


def _box_wall() -> np.ndarray:
    """An upside-down U: rows 10..39 (30 rows), columns 10..49 (centre column 29.5)."""
    wall = np.zeros((60, 60), dtype=np.uint8)
    wall[10:40, 10:14] = 1  # septal leg
    wall[10:40, 46:50] = 1  # lateral leg
    wall[10:14, 10:50] = 1  # apical cap
    return wall


@pytest.mark.parametrize(
    ("pixel", "segment"),
    [
        # Rows 10..39 make thirds of 10 rows: 10-19 apical, 20-29 mid, 30-39 basal.
        ((11, 11), "SEG14"),
        ((19, 12), "SEG14"),
        ((20, 12), "SEG9"),
        ((29, 12), "SEG9"),
        ((30, 12), "SEG3"),
        ((39, 13), "SEG3"),
        ((11, 48), "SEG16"),
        ((25, 47), "SEG12"),
        ((35, 49), "SEG6"),
        # The cap splits at the middle column 29.5: column 29 septal, 30 lateral.
        ((12, 29), "SEG14"),
        ((12, 30), "SEG16"),
    ],
)
def test_thirds_split_labels_known_pixels(pixel: tuple[int, int], segment: str) -> None:
    labels = split_by_thirds(_box_wall())
    assert labels[pixel] == SEGMENT_NAMES.index(segment) + 1


def test_thirds_split_labels_every_wall_pixel_and_nothing_else() -> None:
    wall = _box_wall()
    labels = split_by_thirds(wall)
    assert np.array_equal(labels > 0, wall > 0)
    assert set(np.unique(labels[labels > 0])) == set(range(1, 7))


def test_thirds_split_of_an_empty_mask_is_empty() -> None:
    assert not split_by_thirds(np.zeros((8, 8), dtype=bool)).any()


@pytest.mark.parametrize("splitter", sorted(SPLITTERS))
@pytest.mark.parametrize(
    ("segment", "septal", "band"),
    [
        ("SEG3", True, "basal"),
        ("SEG9", True, "mid"),
        ("SEG14", True, "apical"),
        ("SEG16", False, "apical"),
        ("SEG12", False, "mid"),
        ("SEG6", False, "basal"),
    ],
)
def test_segment_regions_lie_where_the_a4c_view_puts_them(
    splitter: str, segment: str, septal: bool, band: str
) -> None:
    truth = horseshoe(apex=(40.0, 112.0), radius=32.0, left_leg=100.0, right_leg=100.0)
    wall = draw_wall(truth.points, 5.0)
    region = target_region(wall, segment, splitter)
    rows, cols = np.nonzero(region)
    # The horseshoe spans rows 35..177 with its legs at columns 80 and 144 (mid-line 112).
    assert (cols.mean() < 112) == septal
    top, bottom = np.nonzero(wall)[0].min(), np.nonzero(wall)[0].max()
    third = (rows.mean() - top) / (bottom - top)
    expected = {"apical": (0.0, 1 / 3), "mid": (1 / 3, 2 / 3), "basal": (2 / 3, 1.0)}[band]
    assert expected[0] <= third <= expected[1]
    assert not (region & (wall == 0)).any()


def test_wall_target_is_the_whole_mask() -> None:
    wall = _box_wall()
    assert np.array_equal(target_region(wall, "wall"), wall.astype(bool))


def test_segments_partition_the_wall() -> None:
    wall = _box_wall()
    regions = [target_region(wall, name, "thirds") for name in SEGMENT_NAMES]
    assert np.array_equal(np.sum(regions, axis=0), wall)


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_empty_prediction_raises_empty_region(target: str) -> None:
    with pytest.raises(EmptyRegionError, match=target):
        target_region(np.zeros((16, 16), dtype=bool), target, "thirds")


def test_centreline_split_refuses_a_blob() -> None:
    blob = np.zeros((224, 224), dtype=bool)
    blob[60:160, 60:160] = True
    with pytest.raises(RegionalError, match="predicted wall"):
        target_region(blob, "SEG3", "centreline")


@pytest.mark.parametrize(
    ("target", "splitter", "message"),
    [("SEG1", "thirds", "unknown target"), ("SEG3", "quarters", "unknown splitter")],
)
def test_bad_arguments_are_value_errors(target: str, splitter: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        target_region(_box_wall(), target, splitter)


def test_split_needs_a_2d_mask() -> None:
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        split_by_thirds(np.zeros((2, 8, 8)))
