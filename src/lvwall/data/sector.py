"""Find the ultrasound sector (the fan) so that scanner overlays outside it can be left out.

Echo machines burn text, the ECG trace, depth marks and grey-scale bars into the exported
frames, around the fan-shaped image. :func:`find_sector` finds the fan once per recording
from a few frames: the per-pixel maximum over time (moving speckle fills the fan, while the
dark blood pool of one frame would leave holes), a threshold, a morphological opening that
cuts thin overlays (ticks, ECG trace, letters) off the fan, the largest connected region and
its convex hull (the fan is convex). :meth:`Sector.apply` then zeroes everything outside.
When no region is large enough to be a fan, the whole frame counts as the sector.

Training and inference must both apply it the same way, to frames already at model size
(``Sector.apply(prepare_frame(frame))``), so the network never learns from the overlays.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Frames :func:`find_sector` looks at: enough for the speckle to move, cheap to keep.
SECTOR_FRAMES: int = 16

#: Below this fraction of the frame, the largest bright region is not taken for a fan.
MIN_SECTOR_FRACTION: float = 0.10

#: Side of the image the fan is looked for in; larger frames are shrunk first.
_WORKING_SIDE: int = 256


@dataclass(frozen=True)
class Sector:
    """The sector of a recording: ``mask`` is bool (H, W), true inside the fan.

    ``found`` is false when no fan was found and ``mask`` covers the whole frame.
    """

    mask: np.ndarray
    found: bool

    def apply(self, images: np.ndarray) -> np.ndarray:
        """``images`` (..., H, W) with every pixel outside the sector set to zero."""
        if images.shape[-2:] != self.mask.shape:
            raise ValueError(
                f"images of shape {images.shape} do not end in the sector's {self.mask.shape}"
            )
        if not self.found:
            return images
        return np.where(self.mask, images, np.zeros((), dtype=images.dtype))

    @property
    def fraction(self) -> float:
        """Share of the frame inside the sector."""
        return float(self.mask.mean())


def whole_frame(height: int, width: int) -> Sector:
    """The sector that leaves every pixel in: what :func:`find_sector` falls back to."""
    return Sector(np.ones((height, width), dtype=bool), found=False)


def find_sector(frames: np.ndarray, *, threshold: float = 0.06) -> Sector:
    """Find the fan in grey ``frames`` (T, H, W) or one frame (H, W), uint8 or float [0, 1].

    ``threshold`` is the brightness (as a fraction of white) above which a pixel of the
    temporal maximum counts as image rather than black background.
    """
    frames = np.asarray(frames)
    if frames.ndim == 2:
        frames = frames[None]
    if frames.ndim != 3 or 0 in frames.shape:
        raise ValueError(f"expected grey frames (T, H, W) or one frame (H, W), got {frames.shape}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    height, width = frames.shape[1:]
    brightest = _unit_float(frames[:SECTOR_FRAMES].max(axis=0))
    scale = min(1.0, _WORKING_SIDE / max(height, width))
    small = cv2.resize(
        brightest,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    region = _largest_region(_bright_mask(small, threshold))
    if region is None or region.mean() < MIN_SECTOR_FRACTION:
        return whole_frame(height, width)
    hull = cv2.convexHull(cv2.findNonZero(region.astype(np.uint8)))
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.round((hull + 0.5) / scale - 0.5).astype(np.int32), 1)
    return Sector(_grow(mask, max(height, width)).astype(bool), found=True)


def _unit_float(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255)
    return image.astype(np.float32)


def _bright_mask(image: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels of image content, with overlays thinner than ~2% of the frame cut away."""
    # A median filter removes isolated speckle and the thinnest lines before thresholding.
    smooth = cv2.medianBlur(image, 5)
    bright = (smooth > threshold).astype(np.uint8)
    side = max(3, round(max(image.shape) * 0.02) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    return cv2.morphologyEx(bright, cv2.MORPH_OPEN, kernel)


def _largest_region(binary: np.ndarray) -> np.ndarray | None:
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n_labels < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def _grow(mask: np.ndarray, side: int) -> np.ndarray:
    """Widen the hull by ~1% of the frame: the threshold cuts dim speckle at the fan's edge."""
    radius = max(1, round(side * 0.01))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, kernel)
