"""measure_recording: a recording's masks to volumes, EF, strain, intervals and reasons."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from lvwall.data.records import SEGMENT_NAMES
from lvwall.measure import measure_recording
from lvwall.regional.schematic import beating_wall

ISSUE_KEYS = {
    "ed_frame",
    "es_frame",
    "edv",
    "esv",
    "volume_unit",
    "ef_percent",
    "gls_percent",
    "segments",
    "quality",
    "method",
    "intervals",
}


@pytest.fixture(scope="module")
def cycle() -> np.ndarray:
    """One cycle, ED (frame 0) to ED (frame 10), ES at frame 5."""
    return beating_wall(n_frames=11, amplitude=10.0)


@pytest.fixture(scope="module")
def measured(cycle: np.ndarray):
    return measure_recording(cycle, name="cycle")


def blurred(masks: np.ndarray) -> np.ndarray:
    """Probability maps whose 0.5 level is the mask border, uncertain within a few pixels."""
    return np.stack([ndimage.gaussian_filter(m.astype(np.float32), 1.5) for m in masks])


def test_one_cycle_gives_ed_es_volumes_ef_and_shortening(measured) -> None:
    assert (measured.ed_index, measured.es_index) == (0, 5)
    assert measured.cycle.next_ed == 10
    assert measured.edv > measured.esv > 0
    assert 20 < measured.ef_percent < 80
    assert 20 < measured.ef_area_length_percent < 80
    assert measured.gls_percent < -5
    assert all(measured.segment_strain[name] < 0 for name in SEGMENT_NAMES)
    # Every segment shortens most at or beside ES (frame 5).
    assert set(measured.time_to_peak.values()) <= {4, 5, 6}
    assert measured.scale.volume_unit == "px3"


def test_json_has_the_issue_keys_and_frames_count_from_one(measured) -> None:
    content = json.loads(measured.json_text())
    assert set(content) >= ISSUE_KEYS
    assert (content["ed_frame"], content["es_frame"]) == (1, 6)
    assert list(content["segments"]) == list(SEGMENT_NAMES)
    for segment in content["segments"].values():
        assert {"strain_percent", "time_to_peak_frame"} <= set(segment)
        assert segment["time_to_peak_frame"] in (5, 6, 7)
    assert content["volume_unit"] == "px3"
    assert content["quality"] == {
        "checked": False,
        "cycle_frames": None,
        "flagged_frames": None,
        "ed_flagged": None,
        "es_flagged": None,
    }
    assert content["intervals"]["ef_percent"] is None
    assert "probability maps" in content["missing"]["intervals"]


def test_csv_has_a_row_per_frame_with_units(measured) -> None:
    table = measured.frames
    assert list(table["frame"]) == list(range(1, 12))
    for column in ("cavity_area_px2", "long_axis_px", "volume_px3", "endocardial_length_px"):
        assert table[column].notna().all()
    assert [f"{name}_length_px" in table for name in SEGMENT_NAMES] == [True] * 6
    assert table["gls_percent"].iloc[0] == pytest.approx(0.0)
    assert measured.csv_text().splitlines()[0].startswith("frame,cavity_area_px2")


@pytest.mark.parametrize(
    ("spacing", "frame_size", "factor", "tolerance"),
    [
        # Square pixels: volumes scale by the cube of the spacing, EF does not change.
        (0.5, None, 0.5**3, 1e-9),
        # Rows stretched twice as much as columns: the long axis (vertical here) doubles,
        # the discs' diameters do not, so the volume scales by 0.6 x 0.3^2.
        (0.3, (448, 224), 0.6 * 0.3**2, 0.01),
    ],
)
def test_spacing_gives_millilitres(measured, cycle, spacing, frame_size, factor, tolerance):
    scaled = measure_recording(cycle, spacing_mm=spacing, frame_size=frame_size)
    assert scaled.scale.volume_unit == "ml"
    assert scaled.edv == pytest.approx(measured.edv * factor / 1000, rel=tolerance)
    assert scaled.esv == pytest.approx(measured.esv * factor / 1000, rel=tolerance)


def test_two_cycles_measure_the_first(cycle: np.ndarray) -> None:
    two = np.concatenate([cycle, cycle[1:]])
    result = measure_recording(two)
    assert (result.cycle.ed, result.cycle.es, result.cycle.next_ed) == (0, 5, 10)
    assert result.cycle.n_cycles == 2


def test_probability_maps_give_intervals_round_each_number(cycle: np.ndarray) -> None:
    result = measure_recording(cycle, blurred(cycle))
    assert "intervals" not in result.missing
    for key, value in (
        ("edv", result.edv),
        ("esv", result.esv),
        ("ef_percent", result.ef_percent),
        ("gls_percent", result.gls_percent),
        *((name, result.segment_strain[name]) for name in SEGMENT_NAMES),
    ):
        found = result.intervals[key]
        assert found.low < value < found.high, key
        assert len(found.ensemble) >= 2


def test_flagged_es_reports_the_numbers_missing(cycle: np.ndarray) -> None:
    flags = [()] * len(cycle)
    flags[5] = ("low_quality",)
    result = measure_recording(cycle, frame_flags=flags)
    assert result.es_index == 5
    assert result.ef_percent is None and result.gls_percent is None
    assert result.segment_strain["SEG3"] is None
    content = json.loads(result.json_text())
    assert content["ef_percent"] is None
    assert (
        "quality control flagged the ES frame 6 (low_quality)" in content["missing"]["ef_percent"]
    )
    assert content["quality"] == {
        "checked": True,
        "cycle_frames": 11,
        "flagged_frames": 1,
        "ed_flagged": False,
        "es_flagged": True,
    }


def test_a_flagged_first_cycle_gives_way_to_the_second(cycle: np.ndarray) -> None:
    two = np.concatenate([cycle, cycle[1:]])
    flags = [("blurred",) if index == 0 else () for index in range(len(two))]
    result = measure_recording(two, frame_flags=flags)
    assert (result.cycle.ed, result.cycle.es) == (10, 15)
    assert result.ef_percent is not None
    assert result.quality.ed_flagged is False


@pytest.mark.parametrize(
    ("masks_of", "reason"),
    [
        (lambda c: c[:6], "shorter than one heartbeat"),  # ED to ES only
        (lambda c: np.zeros_like(c), "the wall mask is empty"),
        (lambda c: np.repeat(c[:1], 11, axis=0), "does not contract"),
    ],
)
def test_untrustworthy_recordings_report_every_number_missing(cycle, masks_of, reason) -> None:
    result = measure_recording(masks_of(cycle))
    content = json.loads(result.json_text())
    for key in ("ed_frame", "es_frame", "edv", "esv", "ef_percent", "gls_percent"):
        assert content[key] is None
        assert reason in content["missing"][key]
    assert all(s["strain_percent"] is None for s in content["segments"].values())
    assert len(result.frames) == len(masks_of(cycle))


def test_a_frame_that_cannot_be_split_is_skipped(cycle: np.ndarray) -> None:
    broken = cycle.copy()
    broken[5] = 0
    result = measure_recording(broken)
    assert result.es_index in (4, 6)
    assert result.ef_percent is not None
    assert "the wall mask is empty" in result.frames["error"].iloc[5]
    assert np.isnan(result.frames["cavity_area_px2"].iloc[5])


def test_given_phases_measure_two_stills(cycle: np.ndarray) -> None:
    stills = cycle[[0, 5]]
    result = measure_recording(stills, phases=(0, 1))
    whole = measure_recording(cycle)
    assert result.ef_percent == pytest.approx(whole.ef_percent)
    assert result.cycle.next_ed is None


def test_given_phases_on_an_unsplittable_frame_report_why(cycle: np.ndarray) -> None:
    stills = np.stack([cycle[0], np.zeros_like(cycle[0])])
    result = measure_recording(stills, phases=(0, 1), name="still")
    assert result.ef_percent is None
    assert result.missing["ef_percent"] == "still, frame 2: the wall mask is empty"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spacing_mm": 0.0}, "pixel spacing must be positive"),
        ({"spacing_mm": -0.2}, "pixel spacing must be positive"),
        ({"probabilities": np.zeros((2, 224, 224))}, "differ in shape"),
        ({"frame_flags": [()] * 3}, "flags for each of the 11 frames"),
        ({"phases": (0, 0)}, "two different frames"),
        ({"phases": (0, 11)}, "two different frames"),
    ],
)
def test_bad_arguments_raise_value_error(cycle: np.ndarray, kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        measure_recording(cycle, **kwargs)
