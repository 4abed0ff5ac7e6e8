"""``not_echo``: inputs that are no echo are flagged, real and phantom echo frames are not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.preprocess import prepare_frame
from lvwall.data.sector import Sector, find_sector, whole_frame
from lvwall.data.video import iter_frames
from lvwall.quality.checks import echo_checks
from lvwall.quality.control import QualityControl
from lvwall.quality.echo_input import fan_shape, sector_content

SIZE = 224


def grey_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)


def rendered_text(dark_on_light: bool) -> np.ndarray:
    page = np.full((240, 320), 255, np.uint8)
    for row in range(30, 240, 30):
        cv2.putText(page, "Lorem ipsum dolor", (5, row), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    return grey_rgb(page if dark_on_light else 255 - page)


def checkerboard(square: int) -> np.ndarray:
    squares = np.indices((240 // square, 320 // square)).sum(axis=0) % 2
    return grey_rgb(np.kron(squares * 255, np.ones((square, square))))


NON_ECHO = {
    "blank black": grey_rgb(np.zeros((240, 320))),
    "blank grey": grey_rgb(np.full((240, 320), 128)),
    "uniform noise": np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8),
    "gaussian noise": grey_rgb(
        np.clip(np.random.default_rng(1).normal(60, 30, (240, 320)), 0, 255)
    ),
    "text on white": rendered_text(dark_on_light=True),
    "text on black": rendered_text(dark_on_light=False),
    "checkerboard": checkerboard(40),
    "fine checkerboard": checkerboard(8),
}


def not_echo_reason(image: np.ndarray, sector: Sector | None = None) -> str | None:
    blank = np.zeros((SIZE, SIZE), np.float32)
    examined = QualityControl().examine(image, blank, blank.astype(np.uint8), sector)
    return examined.reasons.get("not_echo")


@pytest.mark.parametrize("name", list(NON_ECHO))
def test_non_echo_inputs_are_flagged(name: str) -> None:
    assert not_echo_reason(NON_ECHO[name])


def test_a_blank_frame_in_a_recording_whose_fan_was_found_is_flagged() -> None:
    frames = phantom_video()
    sector = find_sector(np.stack([prepare_frame(frame) for frame in frames]))
    assert sector.found
    assert not_echo_reason(frames[0], sector) is None
    assert "dark" in not_echo_reason(np.zeros_like(frames[0]), sector)


def phantom_video() -> np.ndarray:
    params = draw_params(4, width=212, height=141, n_frames=12, cycle_frames=8, first_ed_frame=2)
    return simulate_recording(4, params=params).video


def test_phantom_frames_are_echoes() -> None:
    frames = phantom_video()
    control = QualityControl()
    blank = np.zeros((SIZE, SIZE), np.float32)
    for frame in frames[::3]:
        reasons = control.examine(frame, blank, blank.astype(np.uint8)).reasons
        assert "not_echo" not in reasons


def test_camus_images_are_echoes(camus_dev_dir) -> None:
    for path in sorted((camus_dev_dir / "images").glob("*.png"))[:8]:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        assert not_echo_reason(image) is None, path.name


def test_hmcqu_frames_are_echoes(hmcqu_sample_dir) -> None:
    frames = list(iter_frames(hmcqu_sample_dir / "ES0001 _4CH_1.gif"))
    sector = find_sector(np.stack([prepare_frame(frame) for frame in frames[:16]]))
    for frame in frames[::10]:
        assert not_echo_reason(frame, sector) is None
        assert not_echo_reason(frame) is None


def fan(apex_row: int, radius: int, degrees: float) -> Sector:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    half = degrees / 2
    cv2.ellipse(mask, (SIZE // 2, apex_row), (radius, radius), 90, -half, half, 1, -1)
    return Sector(mask.astype(bool), found=True)


@pytest.mark.parametrize(
    ("sector", "low", "high"),
    [
        # A quarter of the way down a 75-degree fan, its width is a quarter of the chord's.
        (fan(5, 200, 75), 0.2, 0.4),
        (Sector(np.ones((SIZE, SIZE), bool), found=True), 1.0, 1.0),
    ],
)
def test_fan_taper(sector: Sector, low: float, high: float) -> None:
    assert low <= fan_shape(sector).taper <= high


def test_no_fan_found_is_not_echo() -> None:
    sector = whole_frame(SIZE, SIZE)
    grey = np.zeros((SIZE, SIZE), np.float32)
    reasons = echo_checks(fan_shape(sector), sector_content(grey, sector))
    assert "no bright fan" in reasons["not_echo"]
