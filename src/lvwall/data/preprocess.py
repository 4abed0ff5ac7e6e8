"""The one preprocessing step shared by training and inference: grey, [0, 1], model size.

HMC-QU frames are colour AVI frames of 422x636 to 768x1024 pixels; its masks are 224x224
(Degerli et al., IEEE Access 9:34442, 2021). Every frame the model sees, in training or at
inference, goes through :func:`prepare_frame`, so the two can never drift apart.
"""

from __future__ import annotations

import cv2
import numpy as np

from lvwall.data.records import MODEL_SIZE


def _as_unit_float(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / np.float32(255)
    if not np.issubdtype(frame.dtype, np.floating):
        raise ValueError(f"frames must be uint8 or float in [0, 1], got {frame.dtype}")
    if frame.size and (float(frame.min()) < 0.0 or float(frame.max()) > 1.0):
        raise ValueError(
            f"float frames must lie in [0, 1], got [{float(frame.min())}, {float(frame.max())}]"
        )
    return frame.astype(np.float32)


#: Colour frames of more pixels than this are turned grey a block of rows at a time.
GREY_BLOCK_PIXELS = 2**20


def to_grey(frame: np.ndarray) -> np.ndarray:
    """Return a frame's brightness as float32 (H, W) in [0, 1].

    Accepts grey (H, W) or (H, W, 1), and colour (H, W, 3) in any channel order, as uint8 or
    as float in [0, 1]. B-mode echo is grey (R = G = B), so any luminance weights summing to
    one give the same value there; the plain channel mean is used because it does not depend
    on whether the decoder delivered RGB or BGR (only the coloured scanner overlays differ).
    """
    frame = np.asarray(frame)
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3))):
        raise ValueError(f"expected a (H, W), (H, W, 1) or (H, W, 3) frame, got {frame.shape}")
    if frame.ndim == 2 or frame.shape[0] * frame.shape[1] <= GREY_BLOCK_PIXELS:
        unit = _as_unit_float(frame)
        return unit if unit.ndim == 2 else _channel_mean(unit)
    # A large frame a block of rows at a time: its float copy would be 12 bytes a pixel
    # (200 MB at 4096 x 4096); the values are the same, pixel by pixel.
    grey = np.empty(frame.shape[:2], np.float32)
    rows = max(1, GREY_BLOCK_PIXELS // frame.shape[1])
    for top in range(0, frame.shape[0], rows):
        grey[top : top + rows] = _channel_mean(_as_unit_float(frame[top : top + rows]))
    return grey


def _channel_mean(image: np.ndarray) -> np.ndarray:
    """The mean over the channel axis of a float32 (H, W, C) image, as float32 (H, W).

    A product with a vector of ones, not ``ndarray.mean(axis=2)``: NumPy reduces a short last
    axis element by element, which took 5-7 ms of a 422x636 frame, most of the time
    :func:`prepare_frame` spent outside the network; the product takes about 0.3 ms and sums
    in the same order, so the values do not change. Summing before dividing also keeps a
    white pixel at exactly 1.
    """
    channels = image.shape[2]
    return image @ np.ones(channels, dtype=np.float32) / np.float32(channels)


def _target_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    return int(height), int(width)


def resize(image: np.ndarray, size: int | tuple[int, int], *, mask: bool = False) -> np.ndarray:
    """Resize an (H, W) or (H, W, C) image to ``size`` (an int for a square, or (height, width)).

    Images shrink with area averaging (no aliasing of speckle) and grow bilinearly; masks use
    nearest neighbour so labels stay labels. The dtype is kept.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    height, width = _target_shape(size)
    if mask:
        interpolation = cv2.INTER_NEAREST
    elif height <= image.shape[0] and width <= image.shape[1]:
        interpolation = cv2.INTER_AREA
    else:
        interpolation = cv2.INTER_LINEAR
    source = image.view(np.uint8) if image.dtype == np.bool_ else image
    resized = cv2.resize(source, (width, height), interpolation=interpolation)
    if image.ndim == 3 and resized.ndim == 2:
        # OpenCV drops a single channel axis.
        resized = resized[:, :, None]
    return resized.astype(image.dtype, copy=False)


def prepare_frame(frame: np.ndarray, size: int = MODEL_SIZE) -> np.ndarray:
    """Turn a decoded video frame into the model's input: float32 (size, size) grey in [0, 1]."""
    return resize(to_grey(frame), size)
