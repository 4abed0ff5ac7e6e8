"""Echo augmentations: aligned binary masks, identity, speckle statistics, determinism, no flip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from lvwall.data.augment import (
    AUGMENTATIONS,
    AugmentParams,
    EchoAugment,
    build_augment,
    speckle_field,
)

IDENTITY = AugmentParams(
    rotation_deg=0.0,
    scale_range=(1.0, 1.0),
    shift_fraction=0.0,
    attenuation_probability=0.0,
    speckle_probability=0.0,
    dropout_probability=0.0,
    blur_probability=0.0,
    gamma_range=(1.0, 1.0),
    gain_range=(1.0, 1.0),
    offset_max=0.0,
)
GEOMETRY_ONLY = dataclasses.replace(
    IDENTITY, rotation_deg=10.0, scale_range=(0.9, 1.1), shift_fraction=0.05
)


#: Every registered policy that augments (all but "none").
REGISTERED_POLICIES = [name for name, params in AUGMENTATIONS.items() if params is not None]


def _square(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A bright off-centre square on black, and the same square as the mask."""
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4 : size // 2, size // 5 : size // 2 + 4] = 1
    return mask.astype(np.float32), mask


def _echo_like(size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.uniform(0.1, 0.9, (size, size)).astype(np.float32)
    return image, (image > 0.6).astype(np.uint8)


@pytest.mark.parametrize(
    "change",
    [
        {"rotation_deg": -1.0},
        {"scale_range": (1.1, 0.9)},
        {"scale_range": (0.0, 1.1)},
        {"shift_fraction": 0.6},
        {"speckle_probability": 1.5},
        {"blur_probability": -0.1},
        {"gamma_range": (-0.5, 1.0)},
        {"gain_range": (1.2, 1.1)},
        {"speckle_looks": (0.0, 4.0)},
        {"attenuation_max": 1.0},
        {"dropout_width_deg": (10.0, 120.0)},
        {"dropout_strength": (0.5, 1.5)},
        {"blur_sigma": (-1.0, 1.0)},
        {"offset_max": 0.9},
        {"apex_dropout_probability": 1.5},
        {"apex_dropout_radius": (0.0, 0.1)},
        {"apex_dropout_radius": (0.1, 0.7)},
        {"apex_dropout_strength": (0.5, 1.5)},
        {"clutter_probability": -0.2},
        {"clutter_reach": (0.0, 1.0)},
        {"clutter_level": (0.5, 1.5)},
        {"clutter_mix": (0.9, 0.5)},
        {"spatial_probability": 1.5},
    ],
)
def test_impossible_parameters_raise(change: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(change))):
        AugmentParams(**change)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identity_parameters_give_identity(seed: int) -> None:
    image, mask = _echo_like(seed=seed)
    out_image, out_mask = EchoAugment(IDENTITY)(image, mask, np.random.default_rng(seed))
    np.testing.assert_array_equal(out_image, image)
    np.testing.assert_array_equal(out_mask, mask)


@pytest.mark.parametrize("seed", range(6))
def test_geometry_moves_image_and_mask_together(seed: int) -> None:
    image, mask = _square()
    out_image, out_mask = EchoAugment(GEOMETRY_ONLY)(image, mask, np.random.default_rng(seed))

    assert out_mask.dtype == np.uint8 and set(np.unique(out_mask)) <= {0, 1}
    moved = out_image > 0.5
    overlap = (moved & (out_mask == 1)).sum() / (moved | (out_mask == 1)).sum()
    assert overlap > 0.9
    assert not np.array_equal(out_mask, mask)


@pytest.mark.parametrize("name", REGISTERED_POLICIES)
@pytest.mark.parametrize("seed", [0, 7])
def test_registered_policies_keep_types_and_ranges(name: str, seed: int) -> None:
    image, mask = _echo_like(seed=seed)
    out_image, out_mask = build_augment(name)(image, mask, np.random.default_rng(seed))

    assert out_image.shape == out_mask.shape == image.shape
    assert out_image.dtype == np.float32 and out_mask.dtype == np.uint8
    assert out_image.min() >= 0.0 and out_image.max() <= 1.0
    assert set(np.unique(out_mask)) <= {0, 1}
    assert not np.array_equal(out_image, image)


@pytest.mark.parametrize(
    ("probability", "low", "high"), [(0.0, 0, 0), (0.2, 40, 120), (1.0, 400, 400)]
)
def test_spatial_probability_is_the_share_of_warped_samples(
    probability: float, low: int, high: int
) -> None:
    image, mask = _square()
    augment = EchoAugment(dataclasses.replace(GEOMETRY_ONLY, spatial_probability=probability))
    warped = sum(
        not np.array_equal(augment(image, mask, np.random.default_rng(seed))[1], mask)
        for seed in range(400)
    )
    # 0.2 of 400: 80 expected, binomial sd 8; the bounds are 5 sd either side.
    assert low <= warped <= high


APEX_ONLY = dataclasses.replace(
    IDENTITY,
    apex_dropout_probability=1.0,
    apex_dropout_radius=(0.1, 0.1),
    apex_dropout_strength=(1.0, 1.0),
)


def _arch(size: int = 64, top: int = 12, side: int = 14) -> np.ndarray:
    """An inverted U of wall (the LV in an apical view), its top at row ``top``, mid-width."""
    mask = np.zeros((size, size), np.uint8)
    centre = size // 2
    mask[top : top + 4, centre - side : centre + side] = 1
    mask[top : size - 4, centre - side : centre - side + 4] = 1
    mask[top : size - 4, centre + side - 4 : centre + side] = 1
    return mask


@pytest.mark.parametrize(("top", "side"), [(12, 14), (20, 10), (6, 20)])
def test_apex_dropout_blanks_the_labelled_pixel_nearest_the_probe(top: int, side: int) -> None:
    mask = _arch(top=top, side=side)
    image = np.full(mask.shape, 0.5, np.float32)
    out_image, out_mask = EchoAugment(APEX_ONLY)(image, mask, np.random.default_rng(0))

    np.testing.assert_array_equal(out_mask, mask)
    middle = mask.shape[1] // 2
    # Columns middle - 1 and middle are equally near the probe on an even-width frame.
    assert out_image[top, middle - 1 : middle + 1].min() == pytest.approx(0.0, abs=1e-6)
    assert out_image[top + 20, middle] < 0.5
    assert out_image[-1, 0] == pytest.approx(0.5, abs=1e-3)
    assert out_image[-1, -1] == pytest.approx(0.5, abs=1e-3)


def test_apex_dropout_leaves_a_frame_without_labels_alone() -> None:
    image, _ = _echo_like()
    empty = np.zeros(image.shape, np.uint8)
    out_image, _ = EchoAugment(APEX_ONLY)(image, empty, np.random.default_rng(0))
    np.testing.assert_array_equal(out_image, image)


CLUTTER_ONLY = dataclasses.replace(
    IDENTITY,
    clutter_probability=1.0,
    clutter_reach=(1.5, 1.5),
    clutter_level=(0.9, 0.9),
    clutter_mix=(0.9, 0.9),
)


def _sector_frame(size: int = 64) -> np.ndarray:
    """Grey 0.2 inside a 90-degree sector with its tip at the top centre, black outside."""
    rows, cols = np.mgrid[0:size, 0:size]
    inside = np.abs(cols - (size - 1) / 2) < rows
    return np.where(inside, 0.2, 0.0).astype(np.float32)


@pytest.mark.parametrize("top", [12, 20])
def test_clutter_brightens_the_near_field_down_to_the_apex_inside_the_sector(top: int) -> None:
    image = _sector_frame()
    mask = _arch(top=top)
    out_image, out_mask = EchoAugment(CLUTTER_ONLY)(image, mask, np.random.default_rng(0))
    middle = mask.shape[1] // 2

    np.testing.assert_array_equal(out_mask, mask)
    assert out_image[top - 4 : top + 2, middle - 4 : middle + 4].mean() > 0.5
    np.testing.assert_allclose(out_image[top + 30 :, middle - 4 : middle + 4], 0.2, atol=1e-3)
    assert out_image[2, 2] == pytest.approx(0.0, abs=1e-3)  # outside the sector
    assert out_image[2, -3] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("looks", [1.0, 4.0, 16.0])
def test_uncorrelated_speckle_is_gamma_with_mean_one(looks: float) -> None:
    field = speckle_field((128, 128), looks, 0.0, np.random.default_rng(3))

    assert field.dtype == np.float32
    assert field.mean() == pytest.approx(1.0, abs=0.02)
    assert field.var() == pytest.approx(1.0 / looks, rel=0.05)
    fit = stats.kstest(field.ravel(), stats.gamma(a=looks, scale=1.0 / looks).cdf)
    assert fit.pvalue > 0.01


@pytest.mark.parametrize(("looks", "correlation_px"), [(4.0, 1.0), (2.0, 2.0)])
def test_correlated_speckle_keeps_mean_and_lowers_variance(
    looks: float, correlation_px: float
) -> None:
    field = speckle_field((128, 128), looks, correlation_px, np.random.default_rng(4))
    neighbours = np.corrcoef(field[:, :-1].ravel(), field[:, 1:].ravel())[0, 1]

    assert field.mean() == pytest.approx(1.0, abs=0.02)
    assert field.var() < 0.5 / looks
    assert neighbours > 0.5


@pytest.mark.parametrize("name", REGISTERED_POLICIES)
def test_same_seed_same_result_other_seed_other_result(name: str) -> None:
    image, mask = _echo_like()
    augment = build_augment(name)
    first = augment(image, mask, np.random.default_rng(11))
    again = augment(image, mask, np.random.default_rng(11))
    other = augment(image, mask, np.random.default_rng(12))

    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def _is_mirrored(image: np.ndarray, mask: np.ndarray, flip: bool, seed: int) -> bool:
    params = dataclasses.replace(IDENTITY, flip=flip)
    out_image, out_mask = EchoAugment(params)(image, mask, np.random.default_rng(seed))
    mirrored = np.array_equal(out_image, image[:, ::-1])
    assert mirrored == np.array_equal(out_mask, mask[:, ::-1])
    return mirrored


@pytest.mark.parametrize(("flip", "expected"), [(False, {False}), (True, {False, True})])
def test_flip_only_when_asked(flip: bool, expected: set[bool]) -> None:
    image, mask = _square()
    assert {_is_mirrored(image, mask, flip, seed) for seed in range(20)} == expected


def test_no_flip_in_any_registered_policy() -> None:
    assert AugmentParams().flip is False
    assert all(params is None or not params.flip for params in AUGMENTATIONS.values())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("none", None),
        ("light", EchoAugment),
        ("echo", EchoAugment),
        ("echo-apex", EchoAugment),
        ("echo-near-field", EchoAugment),
        ("echo-near-field-sharp", EchoAugment),
        ("strong", EchoAugment),
    ],
)
def test_build_augment_by_name(name: str, expected: type | None) -> None:
    built = build_augment(name)
    assert built is None if expected is None else isinstance(built, expected)


def test_default_is_echo_and_unknown_names_raise() -> None:
    assert build_augment().params == AUGMENTATIONS["echo"]
    with pytest.raises(ValueError, match="unknown augmentation 'heavy'"):
        build_augment("heavy")


@pytest.mark.parametrize(("image_shape", "mask_shape"), [((8, 8), (8, 9)), ((2, 8, 8), (2, 8, 8))])
def test_shapes_must_match(image_shape: tuple, mask_shape: tuple) -> None:
    with pytest.raises(ValueError, match="one \\(H, W\\) shape"):
        EchoAugment()(
            np.zeros(image_shape, np.float32),
            np.zeros(mask_shape, np.uint8),
            np.random.default_rng(),
        )
