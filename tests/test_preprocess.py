"""Tests for lvwall.data.preprocess, with OpenCV's resize as the oracle."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lvwall.data import preprocess
from lvwall.data.preprocess import prepare_frame, resize, to_grey
from lvwall.data.records import MODEL_SIZE

RNG = np.random.default_rng(0)
GREY_U8 = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
COLOUR_U8 = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (GREY_U8, GREY_U8 / 255.0),
        (GREY_U8[:, :, None], GREY_U8 / 255.0),
        (np.repeat(GREY_U8[:, :, None], 3, axis=2), GREY_U8 / 255.0),
        (COLOUR_U8, COLOUR_U8.astype(float).mean(axis=2) / 255.0),
        (COLOUR_U8[:, :, ::-1], COLOUR_U8.astype(float).mean(axis=2) / 255.0),  # BGR
        (GREY_U8 / 255.0, GREY_U8 / 255.0),
        (np.zeros((2, 2, 3), np.float32), np.zeros((2, 2))),
        (np.full((2, 2), 255, np.uint8), np.ones((2, 2))),
    ],
)
def test_to_grey_gives_float32_brightness_in_unit_range(
    frame: np.ndarray, expected: np.ndarray
) -> None:
    grey = to_grey(frame)
    assert grey.dtype == np.float32
    assert grey.shape == expected.shape
    np.testing.assert_allclose(grey, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (np.zeros((2, 2, 4), np.uint8), "frame"),
        (np.zeros((2,), np.uint8), "frame"),
        (np.zeros((2, 2), np.int16), "uint8 or float"),
        (np.full((2, 2), 2.0), r"\[0, 1\]"),
        (np.full((2, 2), -0.1), r"\[0, 1\]"),
    ],
)
def test_to_grey_rejects_what_it_cannot_interpret(frame: np.ndarray, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        to_grey(frame)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((422, 636, 3), np.uint8), ((50, 70, 3), np.float32), ((30, 20, 1), np.uint8)],
)
def test_to_grey_matches_a_float64_channel_mean_and_stays_in_unit_range(
    shape: tuple[int, ...], dtype: type
) -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, shape, dtype=np.uint8)
    frame = frame if dtype == np.uint8 else (frame / 255.0).astype(dtype)
    scale = 255.0 if dtype == np.uint8 else 1.0
    grey = to_grey(frame)
    assert grey.shape == shape[:2]
    np.testing.assert_allclose(grey, frame.astype(np.float64).mean(axis=2) / scale, atol=1e-6)
    white = np.full(shape, 255 if dtype == np.uint8 else 1.0, dtype)
    assert np.all(to_grey(white) == 1.0)  # never a rounding step above 1


IMAGE = RNG.random((40, 60), dtype=np.float32)
MASK = (RNG.random((40, 60)) > 0.5).astype(np.uint8)


@pytest.mark.parametrize(
    ("image", "size", "mask", "shape", "interpolation"),
    [
        (IMAGE, 20, False, (20, 20), cv2.INTER_AREA),  # shrink both
        (IMAGE, (30, 45), False, (30, 45), cv2.INTER_AREA),  # (height, width)
        (IMAGE, 80, False, (80, 80), cv2.INTER_LINEAR),  # grow
        (IMAGE, (50, 30), False, (50, 30), cv2.INTER_LINEAR),  # grow one side
        (MASK, 20, True, (20, 20), cv2.INTER_NEAREST),
        (MASK, 100, True, (100, 100), cv2.INTER_NEAREST),
        (IMAGE[:, :, None], 20, False, (20, 20, 1), cv2.INTER_AREA),
    ],
)
def test_resize_matches_opencv_with_the_right_interpolation(
    image: np.ndarray,
    size: int | tuple[int, int],
    mask: bool,
    shape: tuple[int, ...],
    interpolation: int,
) -> None:
    resized = resize(image, size, mask=mask)
    oracle = cv2.resize(image, (shape[1], shape[0]), interpolation=interpolation)
    assert resized.shape == shape
    assert resized.dtype == image.dtype
    np.testing.assert_array_equal(resized.reshape(oracle.shape), oracle)


@pytest.mark.parametrize("size", [7, 224, (3, 90)])
def test_resized_masks_keep_only_their_labels(size: int | tuple[int, int]) -> None:
    labels = RNG.integers(0, 7, (40, 60), dtype=np.uint8)
    resized = resize(labels, size, mask=True)
    assert set(np.unique(resized)) <= set(np.unique(labels))


def test_resize_keeps_boolean_masks_boolean() -> None:
    resized = resize(MASK.astype(bool), 20, mask=True)
    assert resized.dtype == np.bool_
    np.testing.assert_array_equal(resized, resize(MASK, 20, mask=True).astype(bool))


@pytest.mark.parametrize(
    ("image", "size"),
    [(IMAGE, 0), (IMAGE, (10, -1)), (np.zeros((2, 2, 2, 2)), 4)],
)
def test_resize_rejects_bad_arguments(image: np.ndarray, size: int | tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        resize(image, size)


@pytest.mark.parametrize(
    ("shape", "size"), [((422, 636, 3), MODEL_SIZE), ((768, 1024, 3), 112), ((100, 80), 256)]
)
def test_prepare_frame_gives_model_input(shape: tuple[int, ...], size: int) -> None:
    frame = RNG.integers(0, 256, shape, dtype=np.uint8)
    prepared = prepare_frame(frame, size)
    assert prepared.shape == (size, size)
    assert prepared.dtype == np.float32
    assert prepared.min() >= 0.0 and prepared.max() <= 1.0
    # Area averaging and bilinear interpolation both preserve the mean brightness closely.
    assert prepared.mean() == pytest.approx(to_grey(frame).mean(), abs=0.01)


@pytest.mark.parametrize("level", [0, 77, 255])
def test_prepare_frame_keeps_a_flat_frame_flat(level: int) -> None:
    prepared = prepare_frame(np.full((300, 400, 3), level, np.uint8))
    np.testing.assert_allclose(prepared, level / 255.0, atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "size", "interpolation"),
    [
        ((422, 636, 3), MODEL_SIZE, cv2.INTER_AREA),  # HMC-QU frame, shrunk
        ((768, 1024, 3), 112, cv2.INTER_AREA),
        ((100, 80, 3), 256, cv2.INTER_LINEAR),  # enlarged
        ((300, 150, 3), 224, cv2.INTER_LINEAR),  # enlarged along one side only
    ],
)
def test_prepare_frame_equals_grey_then_resize_in_float64(
    shape: tuple[int, ...], size: int, interpolation: int
) -> None:
    frame = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    oracle = cv2.resize(
        frame.astype(np.float64).mean(axis=2) / 255.0, (size, size), interpolation=interpolation
    )
    np.testing.assert_allclose(prepare_frame(frame, size), oracle, atol=1e-5)


@pytest.mark.parametrize("shape", [(1500, 1000, 3), (2, 2**20, 3), (1025, 1024, 1)])
def test_a_large_frame_turns_grey_block_by_block_to_the_same_values(
    shape: tuple[int, int, int],
) -> None:
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert frame.shape[0] * frame.shape[1] > preprocess.GREY_BLOCK_PIXELS
    whole = frame.astype(np.float32) / np.float32(255)
    expected = whole[:, :, 0] if shape[2] == 1 else preprocess._channel_mean(whole)
    np.testing.assert_array_equal(to_grey(frame), expected)
