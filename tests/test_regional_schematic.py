"""The schematic horseshoe wall: known geometry for the diagram and for synthetic masks."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.regional.schematic import beating_wall, draw_wall, horseshoe


@pytest.mark.parametrize(
    ("radius", "left_leg", "right_leg"), [(32.0, 100.0, 100.0), (24.0, 70.0, 110.0)]
)
def test_horseshoe_has_the_requested_geometry(
    radius: float, left_leg: float, right_leg: float
) -> None:
    shape = horseshoe(apex=(40.0, 112.0), radius=radius, left_leg=left_leg, right_leg=right_leg)
    points = shape.points
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    assert np.allclose(steps, steps.mean(), rtol=0.02)  # evenly spaced
    assert np.allclose(points[shape.apex_index], (40.0, 112.0), atol=steps.mean())
    assert np.allclose(points[0], (40.0 + radius + left_leg, 112.0 - radius))
    assert np.allclose(points[-1], (40.0 + radius + right_leg, 112.0 + radius))
    left_side = left_leg + np.pi * radius / 2
    assert shape.length == pytest.approx(left_side + np.pi * radius / 2 + right_leg, rel=1e-3)
    assert shape.apex_index / (len(points) - 1) == pytest.approx(
        left_side / shape.length, abs=0.005
    )


@pytest.mark.parametrize("half_thickness", [3.0, 5.0, 7.0])
def test_drawn_wall_is_as_thick_as_asked_and_cut_flat_at_the_base(half_thickness: float) -> None:
    shape = horseshoe()
    mask = draw_wall(shape.points, half_thickness)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    across_leg = mask[130, :112].sum()  # the septal leg, straight and vertical here
    assert across_leg == pytest.approx(2 * half_thickness + 1, abs=1)
    base_row = shape.points[0, 0]
    assert not mask[int(np.ceil(base_row)) + 1 :].any()  # nothing beyond the basal ends
    assert mask[int(base_row) - 1, 80] == 1


def test_wall_thickness_can_vary_along_the_centreline() -> None:
    shape = horseshoe()
    widths = np.where(np.arange(len(shape.points)) < shape.apex_index, 3.0, 6.0)
    mask = draw_wall(shape.points, widths)
    assert mask[130, :112].sum() < mask[130, 112:].sum()


def test_a_beating_wall_contracts_and_returns() -> None:
    masks = beating_wall(n_frames=5, amplitude=8.0)
    assert masks.shape == (5, 224, 224)
    assert np.array_equal(masks[0], masks[-1])
    # At end-systole (mid-cycle) the septal leg has moved inwards (to the right).
    septal_columns = [np.flatnonzero(mask[130, :112]).mean() for mask in masks]
    assert septal_columns[2] > septal_columns[0] + 5


def test_a_still_segment_stays_put() -> None:
    masks = beating_wall((0.0,) * 6, n_frames=3)
    assert np.array_equal(masks[0], masks[1])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: horseshoe(radius=0.0), "radius"),
        (lambda: draw_wall(horseshoe().points, 0.0), "half_thickness"),
        (lambda: beating_wall((1.0,) * 5), "6 segment factors"),
        (lambda: beating_wall(n_frames=1), "n_frames"),
    ],
)
def test_bad_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
