"""The endocardial border of a wall mask, its cavity, and the pixel scale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.special import ellipe

from lvwall.data.records import MODEL_SIZE
from lvwall.measure.contour import Endocardium, endocardium
from lvwall.measure.scale import PixelScale, pixel_scale
from lvwall.measure.volumes import disc_volume
from lvwall.wall.segments import split_wall


def ellipse_wall(
    length_mm: float, half_width_mm: float, thickness_mm: float, scale: PixelScale
) -> np.ndarray:
    """A wall mask at model size round a half-ellipse cavity given in mm, apex up."""
    angle = np.linspace(-np.pi / 2, np.pi / 2, 400)
    base_row, centre_col = 190.0, 112.0

    def curve(a: float, b: float) -> np.ndarray:
        rows = base_row - a * np.cos(angle) / scale.row
        cols = centre_col + b * np.sin(angle) / scale.column
        return np.stack([cols, rows], 1)  # OpenCV wants (x, y)

    inner = curve(length_mm, half_width_mm)
    outer = curve(length_mm + thickness_mm, half_width_mm + thickness_mm)
    polygon = np.concatenate([inner, outer[::-1]])
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    return mask


def half_ellipse_arc(a: float, b: float) -> float:
    """Half the perimeter of an ellipse with semi-axes a >= b."""
    return 2.0 * a * ellipe(1.0 - (b / a) ** 2)


@pytest.mark.parametrize(
    "scale",
    [
        PixelScale(0.6, 0.6, "mm"),
        pixel_scale((MODEL_SIZE, MODEL_SIZE), (422, 636), 0.25),  # HMC-QU's aspect
        PixelScale(0.5, 0.35, "mm"),
    ],
)
def test_border_of_a_rasterised_ellipse_measures_the_ellipse(scale: PixelScale) -> None:
    a, b = 80.0, 24.0
    border = endocardium(split_wall(ellipse_wall(a, b, 9.0, scale)), scale)
    assert border.long_axis_length == pytest.approx(a, rel=0.03)
    assert border.cavity_area == pytest.approx(np.pi * a * b / 2, rel=0.04)
    assert border.length == pytest.approx(half_ellipse_arc(a, b), rel=0.03)
    assert disc_volume(border) == pytest.approx(2 / 3 * np.pi * a * b**2, rel=0.06)
    assert border.segment_lengths.sum() == pytest.approx(border.length)
    assert (border.segment_lengths > 0.1 * border.length).all()


def test_border_runs_from_the_septal_to_the_lateral_hinge() -> None:
    scale = PixelScale(0.6, 0.6, "mm")
    border = endocardium(split_wall(ellipse_wall(80.0, 24.0, 9.0, scale)), scale)
    first, last = border.points[0] / 0.6, border.points[-1] / 0.6
    # The cavity's basal corners: 24 mm either side of column 112, on the base row 190.
    assert first == pytest.approx([190.0, 112.0 - 40.0], abs=2.5)
    assert last == pytest.approx([190.0, 112.0 + 40.0], abs=2.5)
    assert border.labels[0] == 1 and border.labels[-1] == 6
    assert (np.diff(border.labels.astype(int)) >= 0).all()


@pytest.mark.parametrize(
    ("frame_size", "spacing", "expected"),
    [
        (None, None, PixelScale(1.0, 1.0, "px")),
        ((422, 636), None, PixelScale(422 / 224, 636 / 224, "px")),
        ((422, 636), 0.5, PixelScale(422 / 224 * 0.5, 636 / 224 * 0.5, "mm")),
        ((448, 224), (0.2, 0.3), PixelScale(0.4, 0.3, "mm")),
    ],
)
def test_pixel_scale_undoes_the_resize_per_axis(frame_size, spacing, expected) -> None:
    scale = pixel_scale((MODEL_SIZE, MODEL_SIZE), frame_size, spacing)
    assert scale.row == pytest.approx(expected.row)
    assert scale.column == pytest.approx(expected.column)
    assert scale.unit == expected.unit
    assert scale.volume_unit == ("ml" if expected.unit == "mm" else "px3")


@pytest.mark.parametrize("spacing", [0.0, -0.3, (0.3, 0.0), (-1.0, 0.2)])
def test_spacing_that_is_not_positive_is_refused(spacing) -> None:
    with pytest.raises(ValueError, match="pixel spacing must be positive"):
        pixel_scale((MODEL_SIZE, MODEL_SIZE), (422, 636), spacing)


@pytest.mark.parametrize(
    ("points", "labels", "message"),
    [
        (np.zeros((2, 2)), np.ones(2), "N >= 3"),
        (np.zeros((5, 2)), np.ones(4), "one label per point"),
    ],
)
def test_bad_borders_raise_value_error(points, labels, message) -> None:
    with pytest.raises(ValueError, match=message):
        Endocardium(points=points, labels=labels)
