"""Regional motion: endocardial displacement (size and inward part) and thickening."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.regional.motion import MotionCurves, wall_motion, wall_profile
from lvwall.regional.schematic import beating_wall, draw_wall, horseshoe
from lvwall.wall.segments import split_sequence, split_wall


@pytest.mark.parametrize("still", range(6))
def test_a_segment_that_does_not_move_scores_lowest(still: int) -> None:
    factors = np.ones(6)
    factors[still] = 0.0
    motion = wall_motion(split_sequence(beating_wall(factors, n_frames=6)))
    displacement = motion.max_displacement
    assert int(np.argmin(displacement)) == still
    assert int(np.argmin(motion.max_inward)) == still
    assert int(np.argmin(motion.max_thickening)) == still
    moving = np.delete(displacement, still)
    assert displacement[still] < 0.75 * moving.min()


@pytest.mark.parametrize("amplitude", [4.0, 8.0])
def test_uniform_contraction_moves_every_segment_by_the_amplitude(amplitude: float) -> None:
    masks = beating_wall(amplitude=amplitude, thickening=0.0, n_frames=5)
    motion = wall_motion(split_sequence(masks))
    expected = amplitude / motion.long_axis
    # Points correspond by arc length within their segment, not as material points, so
    # single segments stray; their mean does not.
    assert motion.max_displacement.mean() == pytest.approx(expected, rel=0.15)
    assert np.allclose(motion.max_displacement, expected, rtol=0.5)
    # Frame 2 of 5 is end-systole (mid-cycle); the cycle ends where it started.
    assert int(np.argmax(motion.displacement.mean(axis=1))) == 2
    assert np.allclose(motion.displacement[-1], 0.0, atol=0.5)


@pytest.mark.parametrize("thickening", [0.2, 0.5])
def test_thickening_without_motion_matches_the_drawn_wall_width(thickening: float) -> None:
    masks = beating_wall(amplitude=0.0, thickening=thickening, n_frames=3)
    motion = wall_motion(split_sequence(masks))
    # Oracle: the pixel width across the straight septal and lateral legs (mid segments).
    row = 130
    drawn = masks[1, row].astype(int).sum() / masks[0, row].astype(int).sum() - 1.0
    mid_segments = [1, 4]  # SEG9, SEG12
    assert np.allclose(motion.max_thickening[mid_segments], drawn, atol=0.05)
    # The centreline stays put, so the endocardium moves inward by the added half-thickness.
    assert np.all(motion.max_displacement > 0)


def test_a_still_wall_has_no_motion() -> None:
    mask = draw_wall(horseshoe().points, 5.0)
    motion = wall_motion(split_sequence(np.stack([mask] * 3)))
    assert np.allclose(motion.displacement, 0.0)
    assert np.allclose(motion.thickening, 0.0)


@pytest.mark.parametrize(("radius", "half_thickness"), [(32.0, 5.0), (26.0, 4.0)])
def test_profile_finds_the_inner_border_and_the_thickness(
    radius: float, half_thickness: float
) -> None:
    truth = horseshoe(radius=radius)
    split = split_wall(draw_wall(truth.points, half_thickness))
    profile = wall_profile(split)
    # On the straight septal leg (col 112 - radius) the endocardium is half a wall inwards.
    leg = slice(20, 70)
    assert np.allclose(profile.endocardium[leg, 1], 112 - radius + half_thickness, atol=1.0)
    drawn = split.wall[100].sum() / 2  # pixels across one leg
    assert np.allclose(profile.thickness[leg], drawn, atol=1.0)


def test_inward_motion_is_perpendicular_to_the_wall() -> None:
    # A wall that only thickens inwards: the endocardium moves along the normal by the added
    # half-thickness, and the whole of that move counts as inward.
    masks = beating_wall(amplitude=0.0, thickening=0.4, n_frames=3)
    motion = wall_motion(split_sequence(masks))
    legs = [1, 4]  # SEG9, SEG12: straight, so the move is exactly along the normal
    assert np.allclose(motion.inward[1, legs], motion.displacement[1, legs], rtol=0.15)
    assert np.allclose(motion.inward[1, legs], 0.4 * 5.0, atol=1.0)


@pytest.mark.parametrize(
    ("displacement", "thickness", "long_axis", "message"),
    [
        (np.zeros((4, 5)), np.ones((4, 5)), 100.0, "shape"),
        (np.zeros((4, 6)), np.ones((3, 6)), 100.0, "shape"),
        (np.zeros((4, 6)), np.ones((4, 6)), 0.0, "long_axis"),
    ],
)
def test_motion_curves_reject_bad_shapes(
    displacement: np.ndarray, thickness: np.ndarray, long_axis: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MotionCurves(
            displacement=displacement, inward=displacement, thickness=thickness, long_axis=long_axis
        )


def test_motion_needs_two_frames() -> None:
    with pytest.raises(ValueError, match="two frames"):
        wall_motion(split_sequence(beating_wall(n_frames=2)[:1]))
