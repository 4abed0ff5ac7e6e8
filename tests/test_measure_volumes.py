"""Volumes and EF against shapes whose volume is known (lvwall.measure.volumes)."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.measure.contour import Endocardium
from lvwall.measure.volumes import (
    N_DISCS,
    Discs,
    area_length_volume,
    biplane_volume,
    disc_volume,
    discs,
    ejection_fraction,
)


def _border(points: np.ndarray) -> Endocardium:
    return Endocardium(points=points, labels=np.ones(len(points), dtype=np.uint8))


def half_ellipse(length: float, half_width: float, n: int = 2001) -> Endocardium:
    """Border of a half ellipse from one annulus end over the apex to the other (row, col):
    the annulus line is the ellipse's minor axis, the long axis has ``length``."""
    angle = np.linspace(-np.pi / 2, np.pi / 2, n)
    return _border(np.stack([100.0 - length * np.cos(angle), half_width * np.sin(angle)], 1))


def cylinder(length: float, width: float) -> Endocardium:
    """A rectangular cavity: annulus at row 0, apex side at row ``-length``."""
    side = np.linspace(0.0, -length, 400)
    top = np.linspace(-width / 2, width / 2, 401)[1:-1]
    points = np.concatenate(
        [
            np.stack([side, np.full_like(side, -width / 2)], 1),
            np.stack([np.full_like(top, -length), top], 1),
            np.stack([side[::-1], np.full_like(side, width / 2)], 1),
        ]
    )
    return _border(points)


def cone(length: float, width: float) -> Endocardium:
    """A triangle: annulus of ``width`` at row 0, apex ``length`` above its middle."""
    up = np.linspace(0.0, 1.0, 500)
    left = np.stack([-length * up, -width / 2 * (1 - up)], 1)
    right = np.stack([-length * up[::-1], width / 2 * (1 - up[::-1])], 1)
    return _border(np.concatenate([left, right[1:]]))


@pytest.mark.parametrize(
    ("border", "volume", "tolerance"),
    [
        # A half prolate spheroid: 2/3 pi a b^2.
        (half_ellipse(80.0, 25.0), 2.0 / 3.0 * np.pi * 80.0 * 25.0**2, 0.002),
        (half_ellipse(60.0, 30.0), 2.0 / 3.0 * np.pi * 60.0 * 30.0**2, 0.002),
        # A cylinder pi / 4 W^2 L; the apex is the farthest corner, so the axis leans and
        # the discs cut it slightly obliquely.
        (cylinder(80.0, 10.0), np.pi / 4 * 10.0**2 * 80.0, 0.01),
        # A cone pi / 12 W^2 L.
        (cone(90.0, 40.0), np.pi / 12 * 40.0**2 * 90.0, 0.002),
    ],
)
def test_method_of_discs_matches_the_analytic_volume(border, volume, tolerance) -> None:
    assert disc_volume(border) == pytest.approx(volume, rel=tolerance)


def test_twenty_discs_err_as_the_midpoint_rule_predicts() -> None:
    # Midpoint rule on a half spheroid: relative excess 1 / (8 n^2).
    border = half_ellipse(80.0, 25.0, n=20001)
    exact = 2.0 / 3.0 * np.pi * 80.0 * 25.0**2
    assert disc_volume(border) / exact - 1 == pytest.approx(1 / (8 * N_DISCS**2), abs=2e-5)
    assert disc_volume(border, n_discs=400) == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize(("length", "half_width"), [(80.0, 25.0), (50.0, 20.0)])
def test_area_length_is_exact_for_a_half_spheroid(length: float, half_width: float) -> None:
    border = half_ellipse(length, half_width)
    assert border.cavity_area == pytest.approx(np.pi * length * half_width / 2, rel=1e-4)
    assert border.long_axis_length == pytest.approx(length, rel=1e-6)
    volume = area_length_volume(border.cavity_area, border.long_axis_length)
    assert volume == pytest.approx(2.0 / 3.0 * np.pi * length * half_width**2, rel=1e-3)


@pytest.mark.parametrize(
    ("edv", "esv", "ef"), [(120.0, 60.0, 50.0), (100.0, 100.0, 0.0), (80.0, 20.0, 75.0)]
)
def test_ejection_fraction(edv: float, esv: float, ef: float) -> None:
    assert ejection_fraction(edv, esv) == pytest.approx(ef)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ejection_fraction(0.0, 10.0), "EDV > 0"),
        (lambda: area_length_volume(10.0, 0.0), "length > 0"),
        (lambda: disc_volume(half_ellipse(10.0, 5.0), n_discs=0), "n_discs"),
    ],
)
def test_bad_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def half_ellipsoid_sections(length: float, a: float, b: float) -> tuple[Endocardium, Endocardium]:
    """The two orthogonal long-axis sections of a half ellipsoid (semi-axes ``length`` along
    the long axis, ``a`` and ``b`` across): the A4C and the A2C border of one phase."""
    return half_ellipse(length, a), half_ellipse(length, b)


@pytest.mark.parametrize(
    ("length", "a", "b"),
    [(80.0, 25.0, 25.0), (80.0, 28.0, 20.0), (60.0, 18.0, 30.0), (95.0, 30.0, 22.0)],
)
def test_biplane_volume_of_an_ellipsoid_within_two_percent(length, a, b):
    four, two = half_ellipsoid_sections(length, a, b)
    truth = 2.0 / 3.0 * np.pi * length * a * b
    assert biplane_volume(four, two) == pytest.approx(truth, rel=0.02)


def test_biplane_volume_is_single_plane_when_the_sections_agree():
    border = half_ellipse(70.0, 24.0)
    assert biplane_volume(border, border) == pytest.approx(disc_volume(border), rel=1e-9)


def test_biplane_volume_takes_the_longer_long_axis():
    """A foreshortened second view does not shorten the volume's discs."""
    long, short = half_ellipse(80.0, 25.0), half_ellipse(70.0, 25.0)
    widths = discs(long).widths * discs(short).widths
    assert biplane_volume(long, short) == pytest.approx(
        np.pi / 4 * widths.sum() * 80.0 / N_DISCS, rel=1e-9
    )
    assert biplane_volume(short, long) == pytest.approx(biplane_volume(long, short), rel=1e-9)


def test_discs_volume_adds_circular_discs_by_hand() -> None:
    # Two discs of height 10 / 2: pi / 4 * (2^2 + 4^2) * 5.
    cut = Discs(widths=np.array([2.0, 4.0]), length=10.0)
    assert cut.volume == pytest.approx(np.pi / 4 * 20.0 * 5.0)
