"""Records shared by all readers."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.data.records import SEGMENT_NAMES, EchoRecord, LabelledRecording, check_views


@pytest.mark.parametrize(
    ("echo", "patient"),
    [("ES0001 _4CH_1", "ES0001"), ("ES000100 N_4CH_1", "ES000100"), ("PH0003 _4CH_2", "PH0003")],
)
def test_patient_from_echo_name(echo: str, patient: str) -> None:
    record = EchoRecord(echo, (False,) * 6, 1, 20, True)
    assert record.patient == patient


@pytest.mark.parametrize(
    ("segment_mi", "mi"), [((False,) * 6, False), ((False,) * 5 + (True,), True)]
)
def test_recording_is_mi_when_any_segment_is(segment_mi: tuple[bool, ...], mi: bool) -> None:
    record = EchoRecord("X _4CH_1", segment_mi, 3, 22, True)
    assert record.mi is mi
    assert record.n_cycle_frames == 20
    assert list(record.segment_dict()) == list(SEGMENT_NAMES)


@pytest.mark.parametrize(
    ("segment_mi", "ref", "end"), [((True,) * 5, 1, 2), ((True,) * 6, 0, 2), ((True,) * 6, 5, 4)]
)
def test_echo_record_rejects_bad_values(segment_mi: tuple[bool, ...], ref: int, end: int) -> None:
    with pytest.raises(ValueError):
        EchoRecord("X", segment_mi, ref, end, True)


def test_labelled_recording_shapes_must_agree() -> None:
    frames = np.zeros((2, 8, 8), np.float32)
    assert len(LabelledRecording("r", "p", frames, np.zeros((2, 8, 8), np.uint8))) == 2
    with pytest.raises(ValueError, match="must both be"):
        LabelledRecording("r", "p", frames, np.zeros((3, 8, 8), np.uint8))


@pytest.mark.parametrize(
    ("views", "expected"),
    [
        (None, ("A4C", "A2C")),
        (["a2c"], ("A2C",)),
        (["A4C", "a4c", "A2C"], ("A4C", "A2C")),
    ],
)
def test_check_views(views, expected) -> None:
    assert check_views(views) == expected


@pytest.mark.parametrize("views", [[], ["A3C"], ["4CH"]])
def test_check_views_rejects(views) -> None:
    with pytest.raises(ValueError, match="views must be among"):
        check_views(views)


def test_a_recording_names_a_known_view() -> None:
    frames = np.zeros((1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="view must be one of"):
        LabelledRecording("r", "p", frames, frames.astype(np.uint8), view="PLAX")
