"""MeasurementInput: one recording's masks and what is known of it, measured as a whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvwall.measure import measure_recording
from lvwall.measure.sources import MeasurementInput
from lvwall.regional.schematic import beating_wall


@pytest.fixture(scope="module")
def cycle() -> np.ndarray:
    """One cycle, ED (frame 0) to ED (frame 10), ES at frame 5."""
    return beating_wall(n_frames=11, amplitude=10.0)


def _recording(cycle: np.ndarray, **known) -> MeasurementInput:
    values = {"probabilities": None, "frame_size": None, "spacing_mm": None, "frame_flags": None}
    return MeasurementInput("echo", Path("echo.avi"), cycle, **{**values, **known})


@pytest.mark.parametrize(
    ("known", "spacing", "unit", "expected_spacing"),
    [
        ({}, None, "px3", None),
        ({"spacing_mm": (0.3, 0.3)}, None, "ml", (0.3, 0.3)),
        # --spacing replaces the file's own spacing.
        ({"spacing_mm": (0.3, 0.3)}, 0.5, "ml", 0.5),
    ],
)
def test_measure_uses_what_is_known_unless_a_spacing_is_given(
    cycle, known, spacing, unit, expected_spacing
) -> None:
    measured = _recording(cycle, **known).measure(spacing_mm=spacing)
    direct = measure_recording(cycle, spacing_mm=expected_spacing, name="echo")
    assert measured.name == "echo"
    assert measured.scale.volume_unit == unit
    assert measured.edv == pytest.approx(direct.edv)
    assert measured.ef_percent == pytest.approx(direct.ef_percent)


def test_measure_keeps_the_quality_flags(cycle: np.ndarray) -> None:
    flags = [()] * len(cycle)
    flags[5] = ("fragmented",)
    measured = _recording(cycle, frame_flags=flags).measure()
    assert measured.quality.es_flagged
    assert measured.ef_percent is None
    assert "quality control flagged the ES frame 6" in measured.missing["ef_percent"]
