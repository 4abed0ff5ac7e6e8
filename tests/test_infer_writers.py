"""lvwall.infer.writers: the overlay and the files written per recording."""

from __future__ import annotations

import numpy as np
import pytest

from lvwall.infer import (
    overlay,
)
from lvwall.infer.writers import FLAG_COLOUR, WALL_COLOUR, WALL_OPACITY, mark_flagged


@pytest.mark.parametrize("grey", [0, 128, 255])
def test_overlay_tints_only_the_wall(grey: int) -> None:
    image = np.full((6, 8, 3), grey, np.uint8)
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:6] = 1
    result = overlay(image, mask)
    expected = np.round(grey * (1 - WALL_OPACITY) + np.array(WALL_COLOUR) * WALL_OPACITY)
    np.testing.assert_allclose(result[mask == 1], np.broadcast_to(expected, (6, 3)), atol=1)
    np.testing.assert_array_equal(result[mask == 0], image[mask == 0])
    assert (image == grey).all(), "the input frame must not change"


def test_a_flagged_frame_gets_a_border_and_its_reasons() -> None:
    frame = np.zeros((120, 160, 3), np.uint8)
    assert mark_flagged(frame, ()) is frame
    marked = mark_flagged(frame, ("fragmented",))
    assert tuple(marked[0, 80]) == FLAG_COLOUR and tuple(marked[60, 0]) == FLAG_COLOUR
    assert (marked[5:20, 8:150, 0] > 128).sum() > 20  # the text, in the flag colour
    assert (marked[40:80, 40:120] == 0).all()
