"""The page's overlay video: the wall coloured by segment, flagged frames marked, WebM."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from lvwall.infer.writers import FLAG_COLOUR, WALL_COLOUR, WALL_OPACITY
from lvwall.serve.overlay import overlay_frames, segment_overlay, write_webm
from lvwall.wall import segment_colours

GREY = 100


def _expected(colour: tuple[int, int, int]) -> np.ndarray:
    return np.round(GREY * (1 - WALL_OPACITY) + np.array(colour) * WALL_OPACITY)


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize(
    ("label", "colour"),
    [(0, WALL_COLOUR)] + [(k + 1, _hex(c)) for k, c in enumerate(segment_colours())],
)
def test_wall_pixels_take_their_segment_colour(label: int, colour: tuple[int, int, int]) -> None:
    image = np.full((40, 60, 3), GREY, np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    mask[10:20, 10:30] = 1
    # Labels at model size (here 20 x 30, half the frame) scale up by nearest neighbour.
    labels = np.zeros((20, 30), np.uint8)
    labels[5:10, 5:15] = label
    out = segment_overlay(image, mask, labels)
    assert np.abs(out[15, 20].astype(int) - _expected(colour)).max() <= 1
    assert (out[mask == 0] == GREY).all()


def test_without_labels_the_wall_has_predicts_colour() -> None:
    image = np.full((8, 8, 3), GREY, np.uint8)
    mask = np.eye(8, dtype=np.uint8)
    out = segment_overlay(image, mask, None)
    assert np.abs(out[3, 3].astype(int) - _expected(WALL_COLOUR)).max() <= 1
    assert (out[0, 1] == GREY).all()


@pytest.mark.parametrize("view", ["A4C", "A2C"])
def test_overlay_frames_colour_the_segments_of_their_view(view: str) -> None:
    image = np.full((8, 8, 3), GREY, np.uint8)
    labels = np.full((1, 8, 8), 1, np.uint8)
    (frame,) = overlay_frames([image], [np.ones((8, 8), np.uint8)], labels, None, view)
    first = _expected(_hex(segment_colours(view)[0]))
    assert np.abs(frame[4, 4].astype(int) - first).max() <= 1


def test_overlay_frames_mark_only_the_flagged_frames() -> None:
    images = [np.zeros((40, 40, 3), np.uint8)] * 3
    masks = [np.zeros((40, 40), np.uint8)] * 3
    frames = list(overlay_frames(images, masks, None, [(), ("dropout",), ()]))
    bordered = [tuple(frame[0, 20]) == FLAG_COLOUR for frame in frames]
    assert bordered == [False, True, False]


def test_webm_has_every_frame_at_an_even_size(tmp_path: Path) -> None:
    frames = [np.full((33, 47, 3), 20 * k, np.uint8) for k in range(6)]
    path = write_webm(tmp_path / "overlay.webm", frames, fps=12.5)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("vp9", "vp8")
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(decoded) == 6 and decoded[0].shape == (34, 48, 3)
    assert np.abs(decoded[3][:33, :47].astype(int) - 60).mean() < 3
    with pytest.raises(ValueError, match="no frames"):
        write_webm(tmp_path / "empty.webm", [], fps=10)
