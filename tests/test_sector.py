"""Finding the ultrasound fan and blanking the scanner overlays around it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lvwall.data.sector import Sector, find_sector, whole_frame


def fan_mask(height: int, width: int) -> np.ndarray:
    """A 70-degree sector with its apex at the top centre, like an A4C acquisition."""
    mask = np.zeros((height, width), np.uint8)
    apex = (width // 2, int(height * 0.04))
    radius = int(height * 0.9)
    cv2.ellipse(mask, apex, (radius, radius), 90, -35, 35, 1, thickness=-1)
    return mask.astype(bool)


def overlay_mask(height: int, width: int) -> np.ndarray:
    """Scanner overlays outside the fan: text blocks, an ECG trace, depth ticks, a grey bar."""
    mask = np.zeros((height, width), np.uint8)
    for x, y in [(0.03, 0.05), (0.85, 0.9), (0.8, 0.06)]:
        cv2.putText(mask, "75 HR", (int(x * width), int(y * height) + 10), 0, 0.4, 1, 1)
    ecg = [
        (int(width * t), int(height * (0.93 + 0.03 * np.sin(40 * t))))
        for t in np.linspace(0.02, 0.4, 60)
    ]
    cv2.polylines(mask, [np.array(ecg, np.int32)], False, 1, 1)
    for y in np.linspace(0.15, 0.8, 8):
        x = int(width / 2 - np.tan(np.radians(37)) * (y * height - height * 0.04)) - 4
        cv2.line(mask, (x - 4, int(y * height)), (x, int(y * height)), 1, 1)
    cv2.rectangle(
        mask, (int(width * 0.95), int(height * 0.1)), (width - 2, int(height * 0.3)), 1, -1
    )
    return mask.astype(bool) & ~fan_mask(height, width)


def synthetic_echo(n_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Grey float frames: speckle in the fan with a dark cavity, bright overlays outside."""
    rng = np.random.default_rng(seed)
    fan, overlays = fan_mask(height, width), overlay_mask(height, width)
    cavity = np.zeros((height, width), np.uint8)
    cv2.ellipse(cavity, (width // 2, height // 2), (width // 10, height // 4), 0, 0, 360, 1, -1)
    frames = rng.rayleigh(0.25, (n_frames, height, width)).clip(0, 1).astype(np.float32)
    frames *= np.where(cavity.astype(bool), 0.08, 1.0).astype(np.float32)
    frames = np.where(fan, frames, 0.0).astype(np.float32)
    frames[:, overlays] = 0.9
    return frames


@pytest.mark.parametrize(
    ("n_frames", "height", "width"), [(1, 224, 224), (8, 224, 224), (4, 211, 318), (3, 422, 636)]
)
def test_fan_is_kept_and_overlays_are_left_out(n_frames: int, height: int, width: int) -> None:
    frames = synthetic_echo(n_frames, height, width)
    sector = find_sector(frames)
    fan, overlays = fan_mask(height, width), overlay_mask(height, width)
    assert sector.found
    assert sector.mask.shape == (height, width)
    assert sector.mask[fan].mean() >= 0.98
    assert sector.mask[overlays].mean() <= 0.02
    # Beyond the fan, the sector may only add its margin of ~1% of the frame, plus the
    # rounding of a hull found at reduced resolution for large frames.
    margin = round(0.01 * max(height, width)) + 3
    near_fan = cv2.dilate(fan.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8))
    assert not (sector.mask & ~near_fan.astype(bool)).any()


def test_apply_zeroes_outside_the_sector_only() -> None:
    frames = synthetic_echo(2, 224, 224)
    sector = find_sector(frames)
    blanked = sector.apply(frames)
    assert blanked.shape == frames.shape and blanked.dtype == frames.dtype
    assert not blanked[:, ~sector.mask].any()
    np.testing.assert_array_equal(blanked[:, sector.mask], frames[:, sector.mask])


def test_uint8_and_float_frames_give_the_same_sector() -> None:
    frames = synthetic_echo(3, 224, 224)
    as_uint8 = np.round(frames * 255).astype(np.uint8)
    np.testing.assert_array_equal(find_sector(frames).mask, find_sector(as_uint8).mask)


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((64, 64), np.float32),
        np.random.default_rng(0).random((64, 64)).astype(np.float32) * 0.03,
        np.pad(np.ones((6, 6), np.float32), 29),
    ],
    ids=["black", "too-dark", "too-small"],
)
def test_no_fan_falls_back_to_the_whole_frame(frame: np.ndarray) -> None:
    sector = find_sector(frame)
    assert not sector.found
    assert sector.mask.all()
    np.testing.assert_array_equal(sector.apply(frame), frame)


def test_whole_frame_covers_everything() -> None:
    sector = whole_frame(3, 5)
    assert isinstance(sector, Sector) and sector.fraction == 1.0 and not sector.found


@pytest.mark.parametrize(
    ("frames", "threshold"),
    [(np.zeros((2, 3, 4, 5)), 0.1), (np.zeros((0, 4, 4)), 0.1), (np.zeros((4, 4)), 1.5)],
)
def test_bad_arguments_are_value_errors(frames: np.ndarray, threshold: float) -> None:
    with pytest.raises(ValueError):
        find_sector(frames, threshold=threshold)


def test_apply_refuses_images_of_another_size() -> None:
    with pytest.raises(ValueError, match="do not end in"):
        whole_frame(4, 4).apply(np.zeros((2, 5, 5)))


def test_real_recording_sector_excludes_overlays(hmcqu_sample_dir) -> None:
    from lvwall.data.preprocess import prepare_frame
    from lvwall.data.video import read_frames

    frames = read_frames(hmcqu_sample_dir / "ES0001 _4CH_1.gif", 0, 16)
    sector = find_sector(np.stack([prepare_frame(frame) for frame in frames]))
    assert sector.found
    assert 0.25 < sector.fraction < 0.6
    # The top corners hold the scanner's labels and grey bar; the centre is the heart.
    assert not sector.mask[:20, :20].any() and not sector.mask[:40, -20:].any()
    assert sector.mask[112, 112]
