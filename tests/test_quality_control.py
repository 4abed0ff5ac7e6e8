"""QualityControl end to end: feature columns, score range, flag order, bad inputs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.preprocess import prepare_frame
from lvwall.data.sector import find_sector
from lvwall.infer import PredictOptions, load_segmentation_model, segment_frames
from lvwall.quality import FEATURE_NAMES, FLAGS, FrameQuality, QualityControl, QualityModel


def constant_model(value: float = 0.8) -> QualityModel:
    """A model that scores every frame ``value`` (a zero linear score on flat knots)."""
    n = len(FEATURE_NAMES)
    zeros, ones = np.zeros(n), np.ones(n)
    return QualityModel(
        FEATURE_NAMES, zeros, ones, zeros, ones, zeros, 0.0, np.array([0.0]), np.array([value])
    )


@pytest.fixture(scope="module")
def phantom() -> tuple[np.ndarray, np.ndarray]:
    params = draw_params(9, width=212, height=141, n_frames=12, cycle_frames=8, first_ed_frame=2)
    recording = simulate_recording(9, params=params)
    start = recording.record.reference_frame - 1
    return recording.video[start : start + len(recording.masks)], recording.masks


def soft(mask: np.ndarray) -> np.ndarray:
    """A probability map that agrees with ``mask`` but is unsure at its border."""
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.5)


def test_a_good_frame_has_every_feature_no_flag_and_the_model_score(phantom) -> None:
    frames, masks = phantom
    control = QualityControl(constant_model(0.8))
    examined = control.examine(frames[0], soft(masks[0]), masks[0])
    assert tuple(examined.features) == FEATURE_NAMES
    assert np.isfinite(list(examined.features.values())).all()
    verdict = control.assess(frames[1], soft(masks[1]), masks[1])
    assert verdict == FrameQuality(0.8, (), {})
    assert verdict.flag_text == "" and not verdict.flagged


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("soft_dice", 0.85, 1.0), ("wall_confidence", 0.5, 1.0), ("uncertain_share", 0.1, 2.0)],
)
def test_probability_features_of_a_soft_mask(phantom, name: str, low: float, high: float) -> None:
    frames, masks = phantom
    features = (
        QualityControl(constant_model()).examine(frames[0], soft(masks[0]), masks[0]).features
    )
    assert low <= features[name] <= high


def test_grey_model_input_and_rgb_frame_measure_alike(phantom) -> None:
    frames, masks = phantom
    control = QualityControl(constant_model())
    from_rgb = control.examine(frames[0], soft(masks[0]), masks[0]).features
    from_grey = (
        QualityControl(constant_model())
        .examine(prepare_frame(frames[0]), soft(masks[0]), masks[0])
        .features
    )
    assert from_rgb == pytest.approx(from_grey)


def test_flags_come_in_flag_order_and_untrustworthy_frames_score_zero(phantom) -> None:
    frames, masks = phantom
    sector = find_sector(np.stack([prepare_frame(frame) for frame in frames]))
    mask = masks[0].copy()
    mask[200:220, 2:22] = 1  # an island: fragmented
    control = QualityControl(constant_model(0.7))
    verdict = control.assess(frames[0], soft(mask), mask, sector)
    assert verdict.flags == ("fragmented",) and verdict.quality == 0.7
    empty = np.zeros_like(mask)
    blank = control.assess(np.zeros_like(frames[0]), soft(empty), empty, sector)
    assert blank.flags == ("not_echo", "no_wall") and blank.quality == 0.0
    assert list(blank.reasons) == list(blank.flags)
    assert blank.flag_text == "not_echo;no_wall"
    assert all(flag in FLAGS for flag in blank.flags)


def test_a_jump_between_frames_is_flagged(phantom) -> None:
    frames, masks = phantom
    control = QualityControl(constant_model())
    for frame, mask in zip(frames[:3], masks[:3], strict=True):
        assert "jump" not in control.assess(frame, soft(mask), mask).flags
    moved = np.roll(masks[3], 40, axis=1)
    assert "jump" in control.assess(frames[3], soft(moved), moved).flags


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((240, 320, 3), np.uint8),
        np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8),
        np.full((5, 7, 3), 90, np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.kron(np.indices((6, 8)).sum(axis=0) % 2 * 255, np.ones((40, 40)))[..., None]
        .repeat(3, axis=2)
        .astype(np.uint8),
    ],
    ids=["blank", "noise", "tiny", "one-pixel", "checkerboard"],
)
def test_bad_inputs_through_the_real_pipeline_score_low_and_are_flagged(image) -> None:
    model = load_segmentation_model(None, backend="onnx", threads=1)
    (frame,) = list(segment_frames([image], model, PredictOptions()))
    verdict = QualityControl(constant_model(0.9)).assess(frame.image, frame.probability, frame.mask)
    assert "not_echo" in verdict.flags and verdict.quality == 0.0
    # The pipeline's own verdict, with the bundled quality model, says the same.
    assert "not_echo" in frame.flags and frame.quality.quality == 0.0


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="probability"):
        QualityControl(constant_model()).examine(
            np.zeros((10, 10)), np.zeros((224, 224)), np.zeros((220, 224), np.uint8)
        )


def test_the_bundled_model_scores_a_frame_in_unit_range(phantom) -> None:
    frames, masks = phantom
    verdict = QualityControl().assess(frames[0], soft(masks[0]), masks[0])
    assert 0.0 <= verdict.quality <= 1.0
