"""lvwall.infer.writers: the overlay and the files written per recording."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lvwall.errors import DataError
from lvwall.infer import MAX_PREVIEW_SIDE, iter_npz_frames, overlay, preview_size
from lvwall.infer.mask_npz import MaskSpool
from lvwall.infer.writers import (
    FLAG_COLOUR,
    WALL_COLOUR,
    WALL_OPACITY,
    _save_npz,
    mark_flagged,
)


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


def test_spooled_masks_read_back_as_numpy_writes_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    masks = (rng.random((7, 30, 41)) > 0.5).astype(np.uint8)
    npz = tmp_path / "masks.npz"
    with MaskSpool(tmp_path / ".m.raw") as spool:
        for mask in masks:
            spool.append(mask)
        assert spool.shape == masks.shape
        _save_npz(npz, {"path": "x", "size": 1, "mtime_ns": 2}, model=spool)
    assert not (tmp_path / ".m.raw").exists(), "the raw spool is removed"
    with np.load(npz) as archive:
        np.testing.assert_array_equal(archive["model"], masks)
    streamed = list(iter_npz_frames(npz, "model"))
    np.testing.assert_array_equal(np.stack(streamed), masks)


def test_a_spool_refuses_a_mask_of_another_size(tmp_path: Path) -> None:
    with MaskSpool(tmp_path / ".m.raw") as spool:
        spool.append(np.zeros((4, 5), np.uint8))
        with pytest.raises(ValueError, match="differs from the first"):
            spool.append(np.zeros((5, 4), np.uint8))


@pytest.mark.parametrize(
    ("content", "key", "says"),
    [
        ({"model": np.zeros((3, 4, 5), np.uint8)}, "original", "holds no array 'original'"),
        ({"model": np.zeros((4, 5), np.uint8)}, "model", "not (frames, H, W)"),
    ],
)
def test_streamed_npz_frames_name_the_file_and_the_fault(
    tmp_path: Path, content: dict[str, np.ndarray], key: str, says: str
) -> None:
    npz = tmp_path / "masks.npz"
    np.savez(npz, **content)
    with pytest.raises(DataError, match=re.escape(says)) as raised:
        list(iter_npz_frames(npz, key))
    assert raised.value.path == npz


def test_streamed_npz_frames_stop_at_a_truncated_member(tmp_path: Path) -> None:
    """A member cut short (its header promises more frames than it holds) is one sentence;
    the frames before the cut come out whole."""
    npz = tmp_path / "masks.npz"
    with zipfile.ZipFile(npz, "w") as archive, archive.open("model.npy", "w") as handle:
        header = {"descr": "|u1", "fortran_order": False, "shape": (5, 4, 6)}
        np.lib.format.write_array_header_2_0(handle, header)
        handle.write(np.ones((2, 4, 6), np.uint8).tobytes())
    frames = iter_npz_frames(npz, "model")
    assert next(frames).shape == (4, 6) and next(frames).sum() == 24
    with pytest.raises(DataError, match="truncated"):
        next(frames)


@pytest.mark.parametrize(
    ("shape", "shown"),
    [
        ((600, 800), (600, 800)),  # an echo video's frame: as it is
        ((2048, 1000), (2048, 1000)),
        ((4096, 4096), (2048, 2048)),
        ((3000, 1000), (2048, 683)),
        ((100, 6000), (34, 2048)),
    ],
)
def test_overlay_previews_are_at_most_the_preview_side(
    shape: tuple[int, int], shown: tuple[int, int]
) -> None:
    image = np.zeros((*shape, 3), np.uint8)
    mask = np.zeros(shape, np.uint8)
    mask[: shape[0] // 2] = 1
    small_image, small_mask = preview_size(image, mask)
    assert small_image.shape == (*shown, 3) and small_mask.shape == shown
    assert max(shown) <= MAX_PREVIEW_SIDE
    assert set(np.unique(small_mask)) <= {0, 1}, "the mask stays binary"
    if shown == shape:
        assert small_image is image and small_mask is mask
