"""Augmentations that suit apical-4-chamber echo, fast enough for a 2-core CPU training loop.

One :class:`EchoAugment` applies, to a grey frame in [0, 1] and its binary LV-wall mask:

1. a small rotation, scale and shift, with one ``cv2.warpAffine`` for the image (linear) and
   one for the mask (nearest), so the two stay aligned and the mask stays binary; with
   ``spatial_probability`` below 1 only that share of frames, as nnU-Net rotates and scales
   with probability 0.2 each (Isensee et al., Nat. Methods 18:203-211, 2021) so that most
   frames keep the experts' unresampled borders (on CAMUS, warping every frame trained the
   better wall: ``docs/results.md``);
2. depth-dependent attenuation (exponential in depth from the probe at the top centre);
3. multiplicative speckle, spatially correlated by a small blur;
4. a dropout wedge: a beam sector of lost signal, as at the lateral wall in A4C;
5. apical dropout: a soft disc of lost signal over the labelled pixel nearest the probe (the
   apex), as where near-field clutter and foreshortening hide the apical wall; the label
   stays, so the network learns to close the wall from its shape;
6. near-field clutter: bright, coarse speckle from the probe down to about the apex, as
   reverberation fills the near field of many scanners and hides an apex that lies high;
7. blur, then gamma and gain/offset.

No left-right flip by default: the septal and lateral walls differ, and regional analysis
relies on which side is which. MONAI's ``RandAffined`` does step 1 through ``grid_sample``
and took about 3 ms per 224x224 sample against about 0.15 ms for ``cv2.warpAffine`` here, so
the augmentations use OpenCV and numpy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from lvwall.lookup import look_up

#: What :class:`~lvwall.data.dataset.FrameDataset` calls: (image, mask, rng) -> (image, mask).
Augment = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]

#: Half the opening angle of a typical phased-array sector (about 90 degrees in all).
SECTOR_HALF_ANGLE_DEG: float = 45.0


@dataclass(frozen=True)
class AugmentParams:
    """Ranges of one augmentation policy; ranges are sampled uniformly per call.

    Probabilities say how often a step is applied; the grey-level steps always run (set their
    ranges to 1 / 0 to switch them off), the geometric one with ``spatial_probability``.
    """

    spatial_probability: float = 1.0
    rotation_deg: float = 10.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    shift_fraction: float = 0.05
    flip: bool = False
    attenuation_probability: float = 0.3
    attenuation_max: float = 0.5
    speckle_probability: float = 0.5
    speckle_looks: tuple[float, float] = (4.0, 16.0)
    speckle_correlation_px: float = 1.0
    dropout_probability: float = 0.15
    dropout_width_deg: tuple[float, float] = (10.0, 30.0)
    dropout_strength: tuple[float, float] = (0.5, 0.9)
    apex_dropout_probability: float = 0.0
    apex_dropout_radius: tuple[float, float] = (0.08, 0.18)
    apex_dropout_strength: tuple[float, float] = (0.6, 1.0)
    clutter_probability: float = 0.0
    clutter_reach: tuple[float, float] = (1.0, 1.6)
    clutter_level: tuple[float, float] = (0.5, 0.9)
    clutter_mix: tuple[float, float] = (0.5, 0.9)
    blur_probability: float = 0.2
    blur_sigma: tuple[float, float] = (0.5, 1.2)
    gamma_range: tuple[float, float] = (0.8, 1.25)
    gain_range: tuple[float, float] = (0.85, 1.15)
    offset_max: float = 0.05

    def __post_init__(self) -> None:
        for name in (
            "spatial_probability",
            "attenuation_probability",
            "speckle_probability",
            "dropout_probability",
            "apex_dropout_probability",
            "clutter_probability",
            "blur_probability",
        ):
            _check_within(name, getattr(self, name), 0.0, 1.0)
        _check_within("rotation_deg", self.rotation_deg, 0.0, 180.0)
        _check_within("shift_fraction", self.shift_fraction, 0.0, 0.5)
        _check_within("attenuation_max", self.attenuation_max, 0.0, 0.99)
        _check_within("speckle_correlation_px", self.speckle_correlation_px, 0.0, 10.0)
        _check_within("offset_max", self.offset_max, 0.0, 0.5)
        _check_range("scale_range", self.scale_range, positive=True)
        _check_range("speckle_looks", self.speckle_looks, positive=True)
        _check_range("gamma_range", self.gamma_range, positive=True)
        _check_range("gain_range", self.gain_range, positive=True)
        _check_range("dropout_width_deg", self.dropout_width_deg)
        _check_range("dropout_strength", self.dropout_strength)
        _check_range("apex_dropout_radius", self.apex_dropout_radius, positive=True)
        _check_range("apex_dropout_strength", self.apex_dropout_strength)
        _check_range("clutter_reach", self.clutter_reach, positive=True)
        _check_range("clutter_level", self.clutter_level)
        _check_range("clutter_mix", self.clutter_mix)
        _check_range("blur_sigma", self.blur_sigma)
        _check_within("dropout_width_deg", self.dropout_width_deg[1], 0.0, 90.0)
        _check_within("dropout_strength", self.dropout_strength[1], 0.0, 1.0)
        _check_within("apex_dropout_radius", self.apex_dropout_radius[1], 0.0, 0.5)
        _check_within("apex_dropout_strength", self.apex_dropout_strength[1], 0.0, 1.0)
        _check_within("clutter_level", self.clutter_level[1], 0.0, 1.0)
        _check_within("clutter_mix", self.clutter_mix[1], 0.0, 1.0)


def _check_within(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value}")


def _check_range(name: str, bounds: tuple[float, float], *, positive: bool = False) -> None:
    low, high = bounds
    if low > high:
        raise ValueError(f"{name} needs low <= high, got {bounds}")
    if positive and low <= 0:
        raise ValueError(f"{name} must be positive, got {bounds}")
    if not positive and low < 0:
        raise ValueError(f"{name} must not be negative, got {bounds}")


def speckle_field(
    shape: tuple[int, int], looks: float, correlation_px: float, rng: np.random.Generator
) -> np.ndarray:
    """Multiplicative speckle with mean 1, float32.

    Fully developed speckle has Rayleigh amplitude and exponential intensity (Burckhardt,
    "Speckle in ultrasound B-mode scans", IEEE Trans. Sonics Ultrason. 25(1):1-6, 1978);
    averaging ``looks`` independent looks makes the intensity gamma-distributed with shape
    ``looks`` (Goodman, "Some fundamental properties of speckle", JOSA 66(11), 1976), so the
    field is Gamma(looks, 1/looks): mean 1, variance 1/looks. A Gaussian blur of
    ``correlation_px`` gives speckle its grain size; it keeps the mean and lowers the variance.
    """
    if looks <= 0 or correlation_px < 0:
        raise ValueError(f"need looks > 0 and correlation_px >= 0, got {looks}, {correlation_px}")
    field = rng.standard_gamma(looks, size=shape, dtype=np.float32) / np.float32(looks)
    if correlation_px > 0:
        field = cv2.GaussianBlur(field, (0, 0), correlation_px, borderType=cv2.BORDER_REFLECT)
    return field


@functools.lru_cache(maxsize=8)
def _polar_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Depth (0 at the probe, 1 at the farthest pixel) and beam angle (degrees, 0 = straight
    down) of every pixel, with the probe at the top centre as in A4C views."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    across = cols - (width - 1) / 2
    depth = np.hypot(rows, across)
    depth /= depth.max()
    angle = np.degrees(np.arctan2(across, rows))
    depth.flags.writeable = False
    angle.flags.writeable = False
    return depth, angle


def _apex(mask: np.ndarray, depth: np.ndarray) -> tuple[int, int] | None:
    """Row and column of the labelled pixel nearest the probe (the apex in apical views), or
    ``None`` where nothing is labelled."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    nearest = np.argmin(depth[rows, cols])
    return int(rows[nearest]), int(cols[nearest])


#: Closes dark holes up to about 20 pixels wide (a cavity at 224x224) in a sector's signal.
_CLOSING_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (21, 21))


def _sector(image: np.ndarray) -> np.ndarray:
    """Where the frame has signal, with dark holes inside the sector (a cavity) closed and a
    soft border, so that added echoes stay inside the scanned sector."""
    signal = (image > 0.02).astype(np.uint8)
    closed = cv2.morphologyEx(signal, cv2.MORPH_CLOSE, _CLOSING_KERNEL)
    return cv2.GaussianBlur(closed.astype(np.float32), (0, 0), 2.0)


class EchoAugment:
    """Random echo-like augmentation of a frame and its mask, from :class:`AugmentParams`.

    Call it with ``image`` float32 (H, W) in [0, 1], ``mask`` uint8 (H, W) and a
    ``numpy.random.Generator``; it returns new arrays of the same shapes and dtypes, the same
    draws for the same generator state.
    """

    def __init__(self, params: AugmentParams | None = None) -> None:
        self.params = params if params is not None else AugmentParams()

    def __repr__(self) -> str:
        return f"EchoAugment({self.params})"

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        if image.ndim != 2 or image.shape != mask.shape:
            raise ValueError(
                f"need image and mask of one (H, W) shape, got {image.shape}, {mask.shape}"
            )
        p = self.params
        image = np.asarray(image, dtype=np.float32)
        mask = np.asarray(mask, dtype=np.uint8)
        # Policies that always warp draw nothing here, so they keep their random streams (and
        # the bundled model its exact recipe).
        if p.spatial_probability >= 1.0 or rng.random() < p.spatial_probability:
            image, mask = self._warp(image, mask, rng)
        depth, angle = _polar_grid(*image.shape)
        if rng.random() < p.attenuation_probability:
            loss = rng.uniform(0.0, p.attenuation_max)
            image = image * np.power(np.float32(1.0 - loss), depth)
        if rng.random() < p.speckle_probability:
            looks = rng.uniform(*p.speckle_looks)
            image = image * speckle_field(image.shape, looks, p.speckle_correlation_px, rng)
        if rng.random() < p.dropout_probability:
            image = image * self._dropout_wedge(angle, rng)
        # The apex steps draw only in policies that use them, so the other policies keep their
        # random streams (and the bundled model its exact recipe).
        if p.apex_dropout_probability > 0 and rng.random() < p.apex_dropout_probability:
            image = image * self._apex_dropout(mask, depth, rng)
        if p.clutter_probability > 0 and rng.random() < p.clutter_probability:
            image = self._near_field_clutter(image, mask, depth, rng)
        if rng.random() < p.blur_probability:
            image = cv2.GaussianBlur(image, (0, 0), rng.uniform(*p.blur_sigma))
        image = np.clip(image, 0.0, 1.0)
        image = np.power(image, np.float32(rng.uniform(*p.gamma_range)))
        gain = rng.uniform(*p.gain_range)
        offset = rng.uniform(-p.offset_max, p.offset_max)
        image = np.clip(image * np.float32(gain) + np.float32(offset), 0.0, 1.0)
        return image.astype(np.float32, copy=False), mask

    def _warp(
        self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        height, width = image.shape
        centre = ((width - 1) / 2, (height - 1) / 2)
        matrix = cv2.getRotationMatrix2D(
            centre, rng.uniform(-p.rotation_deg, p.rotation_deg), rng.uniform(*p.scale_range)
        )
        matrix[:, 2] += rng.uniform(-p.shift_fraction, p.shift_fraction, 2) * (width, height)
        if p.flip and rng.random() < 0.5:
            mirror = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
            matrix = matrix @ mirror
        size = (width, height)
        warped_image = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR)
        warped_mask = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_NEAREST)
        return warped_image, warped_mask

    def _dropout_wedge(self, angle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A beam wedge losing ``strength`` of its signal at its centre, soft at its sides."""
        p = self.params
        centre = rng.uniform(-SECTOR_HALF_ANGLE_DEG, SECTOR_HALF_ANGLE_DEG)
        half_width = rng.uniform(*p.dropout_width_deg) / 2
        strength = rng.uniform(*p.dropout_strength)
        # A cosine taper over the wedge avoids a hard edge the network could learn to spot.
        offset = np.abs(angle - np.float32(centre)) / np.float32(max(half_width, 1e-3))
        taper = np.where(offset < 1.0, 0.5 * (1.0 + np.cos(math.pi * offset)), 0.0)
        return (1.0 - strength * taper).astype(np.float32)

    def _apex_dropout(
        self, mask: np.ndarray, depth: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A Gaussian disc losing ``strength`` of the signal at the labelled pixel nearest the
        probe; no loss where nothing is labelled."""
        p = self.params
        radius = rng.uniform(*p.apex_dropout_radius) * mask.shape[0]
        strength = rng.uniform(*p.apex_dropout_strength)
        apex = _apex(mask, depth)
        if apex is None:
            return np.ones(mask.shape, np.float32)
        grid_rows, grid_cols = np.ogrid[0 : mask.shape[0], 0 : mask.shape[1]]
        squared = (grid_rows - apex[0]) ** 2 + (grid_cols - apex[1]) ** 2
        disc = np.exp(-0.5 * squared / radius**2)
        return (1.0 - strength * disc).astype(np.float32)

    def _near_field_clutter(
        self, image: np.ndarray, mask: np.ndarray, depth: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """``image`` blended, from the probe down to ``reach`` times the depth of the labelled
        pixel nearest the probe (a fifth of the depth where nothing is labelled), with coarse
        speckle of mean ``level``."""
        p = self.params
        reach = rng.uniform(*p.clutter_reach)
        level = rng.uniform(*p.clutter_level)
        mix = rng.uniform(*p.clutter_mix)
        clutter = np.float32(level) * speckle_field(image.shape, 2.0, 1.5, rng)
        apex = _apex(mask, depth)
        apex_depth = 0.2 if apex is None else float(depth[apex])
        # A logistic edge, a few pixels wide, so no hard line marks where the clutter ends.
        edge = (depth - np.float32(reach * apex_depth)) / np.float32(0.02)
        weight = np.float32(mix) / (1.0 + np.exp(np.clip(edge, -30.0, 30.0)))
        return (image * (1.0 - weight) + weight * _sector(image) * clutter).astype(np.float32)


#: Named augmentation policies; ``None`` means no augmentation.
AUGMENTATIONS: dict[str, AugmentParams | None] = {
    "none": None,
    "light": AugmentParams(
        rotation_deg=5.0,
        scale_range=(0.95, 1.05),
        shift_fraction=0.03,
        attenuation_probability=0.0,
        speckle_probability=0.0,
        dropout_probability=0.0,
        blur_probability=0.0,
        gamma_range=(0.9, 1.1),
        gain_range=(0.9, 1.1),
        offset_max=0.03,
    ),
    "echo": AugmentParams(),
    "echo-apex": AugmentParams(apex_dropout_probability=0.3),
    "echo-near-field": AugmentParams(apex_dropout_probability=0.3, clutter_probability=0.3),
    "echo-near-field-sharp": AugmentParams(
        spatial_probability=0.2, apex_dropout_probability=0.3, clutter_probability=0.3
    ),
    "strong": AugmentParams(
        rotation_deg=15.0,
        scale_range=(0.85, 1.15),
        shift_fraction=0.08,
        attenuation_probability=0.5,
        attenuation_max=0.7,
        speckle_probability=0.8,
        speckle_looks=(2.0, 8.0),
        dropout_probability=0.4,
        blur_probability=0.4,
        blur_sigma=(0.5, 2.0),
        gamma_range=(0.7, 1.4),
        gain_range=(0.75, 1.25),
        offset_max=0.08,
    ),
}

#: The policy used when none is named.
DEFAULT_AUGMENTATION: str = "echo"


def build_augment(name: str = DEFAULT_AUGMENTATION) -> EchoAugment | None:
    """The augmentation registered as ``name`` in :data:`AUGMENTATIONS` (``None`` for "none")."""
    params = look_up(AUGMENTATIONS, name, "augmentation")
    return None if params is None else EchoAugment(params)
