"""GLS and segmental strain against borders shortened by known amounts."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.measure.contour import Endocardium, endocardium
from lvwall.measure.scale import PixelScale
from lvwall.measure.strain import inward_motion, segmental_strain, strain_percent
from lvwall.regional.schematic import beating_wall
from lvwall.wall.segments import split_wall

CENTRE = np.array([150.0, 100.0])


def semicircle(radius: float, n: int = 601) -> Endocardium:
    """A half circle (row, col) from the septal over the apex to the lateral annulus, its
    diameter on the annulus line, each side split into thirds by arc length."""
    angle = np.linspace(-np.pi / 2, np.pi / 2, n)
    points = CENTRE + radius * np.stack([-np.cos(angle), np.sin(angle)], 1)
    sixth = np.minimum(((angle + np.pi / 2) / (np.pi / 6)).astype(int), 5)
    return Endocardium(points=points, labels=(sixth + 1).astype(np.uint8))


def shrunk(border: Endocardium, fraction: float) -> Endocardium:
    return Endocardium(
        points=CENTRE + (1.0 - fraction) * (border.points - CENTRE), labels=border.labels
    )


@pytest.mark.parametrize(
    ("length", "reference", "strain"),
    [(80.0, 100.0, -20.0), (100.0, 100.0, 0.0), (105.0, 100.0, 5.0), (17.5, 25.0, -30.0)],
)
def test_strain_percent(length: float, reference: float, strain: float) -> None:
    assert strain_percent(length, reference) == pytest.approx(strain)


def test_strain_needs_a_positive_reference() -> None:
    with pytest.raises(ValueError, match="positive"):
        strain_percent(1.0, 0.0)


@pytest.mark.parametrize("fraction", [0.05, 0.18, 0.3])
def test_a_border_shortened_by_a_fraction_gives_that_strain(fraction: float) -> None:
    ed = semicircle(40.0)
    es = shrunk(ed, fraction)
    assert strain_percent(es.length, ed.length) == pytest.approx(-100 * fraction, rel=1e-6)
    assert segmental_strain(ed, es) == pytest.approx(np.full(6, -100 * fraction), rel=1e-3)
    # Every point of a shrinking circle moves inwards by the same distance.
    assert inward_motion(ed, es) == pytest.approx(np.full(6, 40.0 * fraction), rel=1e-2)


def test_a_growing_border_moves_outwards_and_lengthens() -> None:
    ed = semicircle(40.0)
    es = shrunk(ed, -0.1)
    assert (inward_motion(ed, es) < 0).all()
    assert segmental_strain(ed, es) == pytest.approx(np.full(6, 10.0), rel=1e-3)


@pytest.mark.parametrize("still", [1, 2, 4])
def test_a_segment_that_does_not_move_gets_no_share_of_the_shortening(still: int) -> None:
    factors = np.ones(6)
    factors[still] = 0.0
    scale = PixelScale(1.0, 1.0, "px")
    masks = beating_wall(factors, n_frames=5)
    ed, es = (endocardium(split_wall(masks[index]), scale) for index in (0, 2))
    motion = inward_motion(ed, es)
    side = [0, 1, 2] if still < 3 else [3, 4, 5]
    others = [index for index in side if index != still]
    assert abs(motion[still]) < 0.15 * motion[others].min()
    by_motion = segmental_strain(ed, es, eulerian_weight=0.0)
    assert by_motion[still] > -3.0
    assert (by_motion[others] < -10.0).all()
    # Each estimate keeps the side's change of length, and so does their weighted mean.
    change = (es.segment_lengths - ed.segment_lengths)[side].sum()
    for weight in (0.0, 0.6, 1.0):
        strain = segmental_strain(ed, es, eulerian_weight=weight)
        assert (strain[side] / 100 * ed.segment_lengths[side]).sum() == pytest.approx(change)
    eulerian = strain_percent(es.segment_lengths, ed.segment_lengths)
    mixed = segmental_strain(ed, es, eulerian_weight=0.6)
    assert mixed == pytest.approx(0.6 * eulerian + 0.4 * by_motion)


@pytest.mark.parametrize(
    ("weight", "message"), [(-0.1, "eulerian_weight"), (1.5, "eulerian_weight")]
)
def test_weight_outside_zero_to_one_is_refused(weight: float, message: str) -> None:
    ed = semicircle(40.0)
    with pytest.raises(ValueError, match=message):
        segmental_strain(ed, shrunk(ed, 0.1), eulerian_weight=weight)
