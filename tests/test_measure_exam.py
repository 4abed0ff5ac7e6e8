"""Two-view exams (lvwall.measure.exam), stills (lvwall.infer.join_stills) and the naming
conventions that group inputs (lvwall.data.exams)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lvwall.data import exam_name, pair_exams, pair_stills, still_phase, view_in_name
from lvwall.errors import DataError
from lvwall.infer import SegmentedRecording, join_stills
from lvwall.measure import EXAM_FILES, measure_exam, measure_recording, write_exam
from lvwall.regional.schematic import beating_wall
from tiny_models import soft_probabilities


def _recording(name: str, masks: np.ndarray, soft: bool = True) -> SegmentedRecording:
    probabilities = soft_probabilities(masks) if soft else None
    return SegmentedRecording(name=name, masks=masks, probabilities=probabilities)


@pytest.fixture(scope="module")
def four() -> np.ndarray:
    return beating_wall(n_frames=11, amplitude=10.0)


@pytest.fixture(scope="module")
def two() -> np.ndarray:
    return beating_wall(n_frames=14, amplitude=6.0)


def test_an_exam_of_two_identical_views_is_single_plane(four: np.ndarray) -> None:
    """Biplane discs of one section twice are circular discs: the single-plane numbers."""
    exam = measure_exam(_recording("a", four), _recording("b", four))
    single = exam.views["A4C"]
    assert exam.edv == pytest.approx(single.edv, rel=1e-9)
    assert exam.ef_percent == pytest.approx(single.ef_percent, rel=1e-9)
    assert exam.gls_percent == pytest.approx(single.gls_percent, rel=1e-9)


def test_biplane_ef_lies_between_the_views_and_has_an_interval(four, two) -> None:
    """Views of different frame counts and contraction; biplane EF (a product of their
    widths) lies between the two single-plane EFs."""
    exam = measure_exam(_recording("p_4CH", four), _recording("p_2CH", two))
    low, high = sorted(view.ef_percent for view in exam.views.values())
    assert low < exam.ef_percent < high
    interval = exam.intervals["ef_percent"]
    assert interval is not None and interval.low < exam.ef_percent < interval.high
    assert exam.views["A2C"].cycle.es != exam.views["A4C"].cycle.es


def test_the_exam_names_twelve_segments_by_view(four, two, tmp_path: Path) -> None:
    exam = measure_exam(_recording("p_4CH", four), _recording("p_2CH", two), name="p")
    paths = write_exam(exam, tmp_path / "p")
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(
        [*EXAM_FILES.values(), "A4C", "A2C"]
    )
    content = json.loads(paths["json"].read_text())
    segments = content["segments"]
    assert list(segments) == [
        *("SEG3", "SEG9", "SEG14", "SEG16", "SEG12", "SEG6"),
        *("SEG4", "SEG10", "SEG15", "SEG13", "SEG7", "SEG1"),
    ]
    assert segments["SEG1"]["view"] == "A2C" and segments["SEG1"]["title"] == "basal anterior"
    assert all(value["strain_percent"] < 0 for value in segments.values())
    a2c = json.loads((tmp_path / "p" / "A2C" / "measurements.json").read_text())
    assert a2c["view"] == "A2C" and "SEG15" in a2c["segments"]
    assert content["biplane"]["ef_percent"] == pytest.approx(exam.ef_percent, abs=1e-3)


def test_a_view_without_a_cycle_leaves_biplane_missing_with_its_reason(four) -> None:
    exam = measure_exam(_recording("a", four), _recording("b", four[:4]))
    assert exam.ef_percent is None and exam.edv is None
    assert exam.missing["ef_percent"].startswith("the A2C view has no ED and ES volumes")
    assert exam.views["A4C"].ef_percent is not None


@pytest.mark.parametrize(("ed", "es"), [(0, 5), (0, 3), (5, 0)])
def test_stills_give_the_phases_as_given(four, ed: int, es: int) -> None:
    """ED and ES are the stills as given, whichever cavity is larger; a pair whose ES
    cavity is much the larger (swapped stills) gets no numbers, and says why."""
    stills = join_stills(
        _recording("x_ED", four[ed : ed + 1]), _recording("x_ES", four[es : es + 1]), "x"
    )
    assert stills.masks.shape == (2, *four.shape[1:]) and stills.name == "x"
    result = measure_recording(stills.masks, stills.probabilities, phases=(0, 1))
    assert (result.ed_index, result.es_index) == (0, 1)
    single = measure_recording(four[[ed, es]], phases=(0, 1))
    if ed < es:
        assert result.ef_percent == pytest.approx(single.ef_percent) and result.ef_percent > 0
    else:
        assert result.ef_percent is None and result.gls_percent is None
        assert "the ES cavity is larger than the ED cavity" in result.missing["ef_percent"]


def test_stills_of_more_than_one_frame_are_refused(four) -> None:
    with pytest.raises(DataError, match="is the ED still but holds 2 frames"):
        join_stills(_recording("x", four[:2]), _recording("y", four[:1]), "x")


@pytest.mark.parametrize(
    ("name", "view", "exam"),
    [
        ("ES0001 _4CH_1", "A4C", "ES0001"),
        ("ES0001_CH2_1", "A2C", "ES0001"),
        ("ES00010_CH2_2", "A2C", "ES00010"),
        ("4CH_patient7", "A4C", "patient7"),
        ("patient0001_4CH", "A4C", "patient0001"),
        ("patient0001_2CH", "A2C", "patient0001"),
        ("scan-a2c", "A2C", "scan"),
        ("echo", None, None),
        ("x4CHy", None, None),
        ("both_4CH_2CH", None, None),
    ],
)
def test_view_tokens_in_names(name: str, view: str | None, exam: str | None) -> None:
    assert view_in_name(name) == view
    assert exam_name(name) == exam


@pytest.mark.parametrize(
    ("name", "phase"),
    [
        ("patient0001_4CH_ED", ("patient0001_4CH", "ED")),
        ("frame-es", ("frame", "ES")),
        ("RED", None),
        ("ED", None),
    ],
)
def test_phase_tokens_in_names(name: str, phase: tuple[str, str] | None) -> None:
    assert still_phase(name) == phase


def test_pairing_keeps_the_unmatched_alone() -> None:
    names = ["ES0001 _4CH_1", "ES0002_4CH_1", "ES0001_CH2_1", "notes", "ES0003_4CH_1"]
    exams = pair_exams([*names, "ES0003_4CH_2", "ES0003_CH2_1"])
    assert exams.pairs == {"ES0001": ("ES0001 _4CH_1", "ES0001_CH2_1")}
    # Two A4C recordings of ES0003: which one pairs is not for a convention to guess.
    assert exams.alone == ("ES0002_4CH_1", "notes", "ES0003_4CH_1", "ES0003_4CH_2", "ES0003_CH2_1")
    stills = pair_stills(["b_ES", "b_ED", "c_ED", "c_ED2"])
    assert stills.pairs == {"b": ("b_ED", "b_ES")}
    assert stills.alone == ("c_ED", "c_ED2")
