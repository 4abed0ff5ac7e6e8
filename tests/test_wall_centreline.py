"""The wall centreline: basal ends, apex, septal side, cleaning, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy import ndimage

from lvwall.errors import LvwallError
from lvwall.regional.schematic import draw_wall, horseshoe
from lvwall.wall.centreline import (
    clean_wall_mask,
    main_wall_pixels,
    resample_by_arc_length,
    wall_centreline,
)
from lvwall.wall.errors import RegionalError

GEOMETRIES = [
    pytest.param({}, 5.0, id="symmetric"),
    pytest.param({"radius": 24.0, "left_leg": 80.0, "right_leg": 80.0}, 4.0, id="narrow"),
    pytest.param({"left_leg": 70.0, "right_leg": 110.0}, 6.0, id="short-septum"),
    pytest.param({"apex": (30.0, 100.0), "radius": 36.0}, 5.0, id="wide-shifted"),
]


def _centreline_of(geometry: dict, half_thickness: float, septal_side: str = "left"):
    truth = horseshoe(**geometry)
    mask = draw_wall(truth.points, half_thickness)
    return truth, wall_centreline(clean_wall_mask(mask), septal_side=septal_side)


@pytest.mark.parametrize(("geometry", "half_thickness"), GEOMETRIES)
def test_centreline_runs_from_base_to_base_through_the_apex(
    geometry: dict, half_thickness: float
) -> None:
    truth, found = _centreline_of(geometry, half_thickness)
    # The ends sit in the band's last half-thickness, so within one thickness of the truth.
    assert np.linalg.norm(found.points[0] - truth.points[0]) < 2 * half_thickness
    assert np.linalg.norm(found.points[-1] - truth.points[-1]) < 2 * half_thickness
    apex = found.points[found.apex_index]
    assert np.linalg.norm(apex - truth.points[truth.apex_index]) < 3.0
    assert found.length == pytest.approx(truth.length, rel=0.06)
    assert found.long_axis_length == pytest.approx(truth.long_axis_length, rel=0.06)


@pytest.mark.parametrize(("septal_side", "first_end_is_left"), [("left", True), ("right", False)])
def test_septal_side_decides_where_the_centreline_starts(
    septal_side: str, first_end_is_left: bool
) -> None:
    _, found = _centreline_of({}, 5.0, septal_side)
    assert (found.points[0, 1] < found.points[-1, 1]) == first_end_is_left


@pytest.mark.parametrize(("geometry", "half_thickness"), GEOMETRIES)
def test_side_fractions_run_from_zero_at_the_bases_to_one_at_the_apex(
    geometry: dict, half_thickness: float
) -> None:
    _, found = _centreline_of(geometry, half_thickness)
    fractions = found.side_fractions
    assert fractions[0] == pytest.approx(0.0)
    assert fractions[-1] == pytest.approx(0.0)
    assert fractions[found.apex_index] == pytest.approx(1.0)
    assert np.all(np.diff(fractions[: found.apex_index + 1]) > 0)
    assert np.all(np.diff(fractions[found.apex_index :]) < 0)


def test_cleaning_bridges_gaps_and_drops_islands() -> None:
    mask = draw_wall(horseshoe().points, 5.0)
    mask[120:122, :100] = 0  # a 2-pixel gap across the septum
    mask[195:199, 20:24] = 1  # an island
    cleaned = clean_wall_mask(mask)
    _, n_components = ndimage.label(cleaned, structure=np.ones((3, 3)))
    assert n_components == 1
    assert not cleaned[195:199, 20:24].any()
    kept = main_wall_pixels(mask, cleaned)
    assert not kept[195:199, 20:24].any()
    assert not (kept & ~(mask > 0)).any(), "nothing is added to the user's mask"


@pytest.mark.parametrize("gap", [4, 8, 11])
def test_cleaning_joins_a_wall_cut_at_the_apex(gap: int) -> None:
    truth = horseshoe()
    mask = draw_wall(truth.points, 5.0)
    apex_row, apex_col = truth.points[truth.apex_index].round().astype(int)
    mask[: apex_row + 20, apex_col - gap // 2 : apex_col + (gap + 1) // 2] = 0
    _, n_pieces = ndimage.label(mask, structure=np.ones((3, 3)))
    assert n_pieces == 2, "the gap cuts septum from lateral wall"
    found = wall_centreline(clean_wall_mask(mask))
    assert np.linalg.norm(found.points[found.apex_index] - (apex_row, apex_col)) < 3.0
    assert found.length == pytest.approx(truth.length, rel=0.06)


def test_cleaning_leaves_two_walls_too_far_apart_unjoined() -> None:
    mask = draw_wall(horseshoe().points, 5.0)
    mask[:, 100:124] = 0  # 24 pixels apart: no apical dropout, two separate bands
    with pytest.raises(RegionalError, match="does not curve round an apex"):
        wall_centreline(clean_wall_mask(mask))


def _disc(shape=(224, 224), radius=40) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, (112, 112), radius, 1, -1)
    return mask


def _ring() -> np.ndarray:
    mask = np.zeros((224, 224), np.uint8)
    cv2.ellipse(mask, (112, 110), (40, 75), 0, 0, 360, 1, 10)
    return mask


def _straight_band() -> np.ndarray:
    mask = np.zeros((224, 224), np.uint8)
    mask[40:190, 100:110] = 1
    return mask


def _speck() -> np.ndarray:
    mask = np.zeros((224, 224), np.uint8)
    mask[100:105, 100:105] = 1
    return mask


def _hairlines() -> np.ndarray:
    mask = np.zeros((224, 224), np.uint8)
    mask[50, 20:200] = 1
    mask[80, 20:200] = 1
    return mask


@pytest.mark.parametrize(
    ("make_mask", "problem"),
    [
        (lambda: np.zeros((224, 224), np.uint8), "the wall mask is empty"),
        (_speck, "too few for an LV wall"),
        (_hairlines, "only specks and hairlines"),
        (_disc, "compact blob"),
        (_ring, "closed ring"),
        (_straight_band, "does not curve round an apex"),
    ],
)
def test_masks_without_a_wall_fail_with_one_clear_sentence(make_mask, problem: str) -> None:
    with pytest.raises(RegionalError) as info:
        wall_centreline(clean_wall_mask(make_mask(), source="x.npz, frame 3"), source="x.npz")
    message = str(info.value)
    assert problem in message
    assert message.startswith("x.npz")
    assert "\n" not in message
    assert isinstance(info.value, LvwallError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: clean_wall_mask(np.ones((2, 3, 3))), "one (H, W) mask"),
        (lambda: wall_centreline(np.ones((9, 9), bool), septal_side="top"), "septal_side"),
        (lambda: wall_centreline(np.ones((9, 9), bool), n_points=3), "n_points"),
        (lambda: resample_by_arc_length(np.zeros((1, 2)), 5), "polyline"),
    ],
)
def test_bad_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


@pytest.mark.parametrize("n_points", [2, 7, 50])
def test_resampling_spaces_points_evenly_along_the_polyline(n_points: int) -> None:
    # An L: 3 pixels along the first row, then 4 down the fourth column; 7 in all.
    polyline = np.array([[0.0, 0.0], [0.0, 3.0], [4.0, 3.0]])
    points = resample_by_arc_length(polyline, n_points)
    on_first_leg = points[:, 0] == 0.0
    arc = np.where(on_first_leg, points[:, 1], 3.0 + points[:, 0])
    assert np.allclose(arc, np.linspace(0.0, 7.0, n_points))
    assert np.allclose(points[~on_first_leg, 1], 3.0)


def test_real_camus_walls_turn_round_an_apex_at_the_top(camus_dev_dir: Path) -> None:
    masks = sorted((camus_dev_dir / "masks").glob("*.png"))[::8]
    assert masks, f"no masks in {camus_dev_dir / 'masks'}"
    for path in masks:
        wall = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) == 2  # 2: myocardium
        found = wall_centreline(clean_wall_mask(wall, source=str(path)), source=str(path))
        apex_row = found.points[found.apex_index, 0]
        assert apex_row < min(found.points[0, 0], found.points[-1, 0]) - 100, path.name
        assert found.points[0, 1] < found.points[-1, 1], path.name
