"""lvwall.measure.scale: a pixel spacing outside what an echo can have is refused."""

from __future__ import annotations

import math

import pytest

from lvwall.data.inputs import MAX_SPACING_MM, MIN_SPACING_MM, spacing_is_plausible
from lvwall.measure.scale import PixelScale, pixel_scale


@pytest.mark.parametrize(
    "spacing", [1e60, 1e-30, math.inf, math.nan, -0.3, 0.0, (0.3, 1e60), (math.nan, 0.3)]
)
def test_absurd_spacing_is_refused(spacing: float | tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="0.001 to 10 mm per pixel"):
        pixel_scale((224, 224), (422, 636), spacing)


@pytest.mark.parametrize("spacing", [MIN_SPACING_MM, 0.3, MAX_SPACING_MM, (0.2, 0.25)])
def test_plausible_spacing_gives_millimetres(spacing: float | tuple[float, float]) -> None:
    scale = pixel_scale((224, 224), (224, 224), spacing)
    assert scale.unit == "mm" and scale.volume_unit == "ml"


@pytest.mark.parametrize(
    ("value", "plausible"),
    [(0.001, True), (10.0, True), (0.3, True), (0.0009, False), (10.1, False), (math.nan, False)],
)
def test_spacing_is_plausible_bounds(value: float, plausible: bool) -> None:
    assert spacing_is_plausible(value) is plausible


@pytest.mark.parametrize(("row", "column"), [(math.inf, 1.0), (1.0, math.nan), (1e200, 1e200)])
def test_pixel_scale_must_be_finite(row: float, column: float) -> None:
    with pytest.raises(ValueError, match="positive and finite"):
        PixelScale(row, column, "mm")
