"""``jump``: the wall's size or position against the frames before it."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.quality.checks import jump_checks
from lvwall.quality.jump import JumpChecker


def square(top: int, left: int, side: int = 40) -> np.ndarray:
    mask = np.zeros((224, 224), np.uint8)
    mask[top : top + side, left : left + side] = 1
    return mask


STEADY = [square(80, 80), square(81, 80), square(80, 81), square(81, 81)]


@pytest.mark.parametrize(
    ("last", "jumps"),
    [
        (square(80, 80), False),
        (square(82, 82), False),
        (square(80, 120), True),  # moved 40 px: 18 % of the frame
        (square(70, 70, side=60), True),  # area 2.25 times larger
    ],
    ids=["same", "small-move", "moved", "grown"],
)
def test_jump_against_the_frames_before(last: np.ndarray, jumps: bool) -> None:
    checker = JumpChecker()
    assert checker.update(STEADY[0]) is None
    assert all(jump_checks(checker.update(mask)) == {} for mask in STEADY[1:])
    assert bool(jump_checks(checker.update(last))) is jumps


def test_one_wrong_frame_does_not_spoil_the_next() -> None:
    checker = JumpChecker()
    flagged = [bool(jump_checks(checker.update(m))) for m in [*STEADY, square(10, 150), *STEADY]]
    assert flagged == [False] * 4 + [True] + [False] * 4


def test_measured_area_change_and_shift() -> None:
    checker = JumpChecker(reference_frames=1)
    checker.update(square(0, 0, side=20))
    motion = checker.update(square(0, 112, side=40))
    assert motion.area_change == pytest.approx(np.log(4.0))
    assert motion.shift == pytest.approx(np.hypot(10, 122) / 224)


def test_empty_masks_are_skipped() -> None:
    checker = JumpChecker()
    checker.update(square(80, 80))
    assert checker.update(np.zeros((224, 224), np.uint8)) is None
    assert jump_checks(checker.update(square(80, 80))) == {}


def test_reference_frames_must_be_positive() -> None:
    with pytest.raises(ValueError, match="reference_frames"):
        JumpChecker(0)
