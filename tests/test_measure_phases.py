"""End-diastole, end-systole and the cycle to measure from cavity-area curves."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.measure.phases import Cycle, NoCycleError, end_diastoles, select_cycle


def beats(n_frames: int, period: float, first_ed: float = 0.0, depth: float = 0.3) -> np.ndarray:
    """A cavity-area curve: 1 at each end-diastole, 1 - depth at each end-systole."""
    phase = 2 * np.pi * (np.arange(n_frames) - first_ed) / period
    return 1.0 - depth * (1 - np.cos(phase)) / 2


@pytest.mark.parametrize(
    ("areas", "flagged", "expected"),
    [
        # One cycle, ED to ED, as HMC-QU's masks cover it.
        (beats(21, 20), None, Cycle(ed=0, es=10, next_ed=20, n_cycles=1)),
        # Two cycles: the first is measured.
        (beats(41, 20), None, Cycle(ed=0, es=10, next_ed=20, n_cycles=2)),
        # Starting in diastole: the first frame is no ED; the cycle starts at the peak.
        (beats(40, 16, first_ed=5), None, Cycle(ed=5, es=13, next_ed=21, n_cycles=2)),
        # The first cycle's ES is flagged: the second is measured.
        (beats(41, 20), [i == 10 for i in range(41)], Cycle(ed=20, es=30, next_ed=40, n_cycles=2)),
        # Every cycle flagged: the first is measured (and its numbers reported missing).
        (
            beats(41, 20),
            [i in (0, 30) for i in range(41)],
            Cycle(ed=0, es=10, next_ed=20, n_cycles=2),
        ),
    ],
)
def test_cycle_selection(areas, flagged, expected: Cycle) -> None:
    assert select_cycle(areas, flagged) == expected


def test_a_small_dip_in_diastole_is_not_a_beat() -> None:
    areas = beats(41, 20)
    areas[14:17] -= 0.06  # the dip between early filling and the atrial kick
    assert list(end_diastoles(areas)) == [0, 20, 40]


def test_an_unmeasured_frame_is_neither_ed_nor_es() -> None:
    areas = beats(21, 20)
    areas[10] = np.nan
    cycle = select_cycle(areas)
    assert (cycle.ed, cycle.next_ed) == (0, 20)
    assert cycle.es in (9, 11)


def test_a_recording_starting_in_systole_does_not_take_its_first_frame_as_ed() -> None:
    # Six frames after ED of a 20-frame beat: the area is already 85 % of ED's.
    areas = beats(40, 20, first_ed=-6)
    assert 0 not in end_diastoles(areas)
    assert select_cycle(areas).ed == 14


@pytest.mark.parametrize(
    "areas",
    [
        beats(11, 20),  # ED to ES only: half a cycle
        np.full(30, 1000.0),  # a cavity that does not contract
        1.0 + 0.01 * np.random.default_rng(0).standard_normal(30),  # jitter only
        np.full(12, np.nan),  # nothing measured
    ],
)
def test_no_complete_cycle_is_an_error_with_a_reason(areas) -> None:
    with pytest.raises(NoCycleError, match="no complete cycle") as raised:
        select_cycle(areas)
    assert "shorter than one heartbeat" in raised.value.reason


def test_cycle_frames_run_from_ed_to_the_next_ed() -> None:
    assert list(Cycle(ed=3, es=7, next_ed=9, n_cycles=1).frames) == list(range(3, 10))
    assert list(Cycle(ed=0, es=4, next_ed=None, n_cycles=1).frames) == list(range(5))


@pytest.mark.parametrize(
    ("areas", "flagged", "message"),
    [(np.ones((3, 3)), None, "shape"), (np.ones(5), [False] * 4, "one flag per frame")],
)
def test_bad_arguments_raise_value_error(areas, flagged, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_cycle(areas, flagged)
