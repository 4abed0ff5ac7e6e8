"""Frames with ground truth for the quality-control benchmarks, and failures to inject.

Shared by ``quality_thresholds.py``, ``quality_oof.py`` and ``quality_cv.py`` (a script's
folder is on ``sys.path``): CAMUS dev frames read exactly as ``lvwall predict --format png``
reads them, with their ground-truth wall at model size; phantom cycles drawn from a seed that
no bundled or cross-validation model trained on (they pretrain on seed 1); and degradations
of the input that make the network fail, applied to the frame and, when they move the
anatomy, to its ground truth alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lvwall.data import (
    CAMUS_VIEWS,
    MODEL_SIZE,
    WALL_LABEL,
    discover,
    draw_params,
    find_sector,
    prepare_frame,
    recording_seed,
    resize,
    simulate_recording,
)

#: Seed of the phantom recordings the quality benchmarks draw (training used seed 1).
PHANTOM_SEED = 21
#: Seed of further phantom recordings that only check the thresholds, never set them.
PHANTOM_CHECK_SEED = 22
#: The phantom frame size, that of HMC-QU videos (``lvwall simulate`` defaults).
PHANTOM_SIZE = {"width": 636, "height": 422}


@dataclass(frozen=True)
class TruthFrame:
    """One input frame (RGB uint8, its own size) and its ground-truth wall at model size."""

    name: str
    patient: str
    image: np.ndarray
    truth: np.ndarray
    view: str = "A4C"


def camus_frames(camus: Path) -> list[TruthFrame]:
    """Every CAMUS dev image as ``lvwall predict --format png`` decodes it, with its wall
    (label 2) resized to model size by nearest neighbour, as the CAMUS reader does, and its
    view from its name (``patientNNNN_2CH_ED``: A2C)."""
    frames = []
    for source in discover([camus / "images"], image_folders_as_recordings=False):
        (image,) = list(source.open().frames())
        labels = cv2.imread(str(camus / "masks" / f"{source.name}.png"), cv2.IMREAD_UNCHANGED)
        wall = resize((labels == WALL_LABEL).astype(np.uint8), MODEL_SIZE, mask=True)
        patient, view = source.name.split("_")[:2]
        frames.append(TruthFrame(source.name, patient, image, wall, CAMUS_VIEWS[view]))
    return frames


def phantom_cycles(seed: int, n_recordings: int) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, frames, masks)`` of the annotated cycle of phantom recordings 1..n of
    ``seed``: RGB uint8 (T, H, W, 3) and ground-truth walls (T, 224, 224)."""
    for index in range(1, n_recordings + 1):
        recording_seed_ = recording_seed(seed, index)
        params = draw_params(recording_seed_, **PHANTOM_SIZE)
        name = f"S{seed}PH{index:04d}"
        recording = simulate_recording(recording_seed_, params=params, echo=name)
        record = recording.record
        frames = recording.video[record.reference_frame - 1 : record.end_of_cycle]
        yield name, frames, recording.masks


def affine(
    image: np.ndarray, truth: np.ndarray, angle: float, scale: float, shift: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (degrees), scale and shift (fractions of the sides) the frame about its centre,
    and its model-size ground truth by the same motion of the scene."""
    outputs = []
    for array, interpolation in ((image, cv2.INTER_LINEAR), (truth, cv2.INTER_NEAREST)):
        height, width = array.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
        matrix[:, 2] += (shift[0] * width, shift[1] * height)
        outputs.append(cv2.warpAffine(array, matrix, (width, height), flags=interpolation))
    return outputs[0], outputs[1]


def _noise(image, truth, rng):
    sigma = rng.uniform(40, 110)
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape[:2])[..., None]
    return np.clip(noisy, 0, 255).astype(np.uint8), truth


def _blur(image, truth, rng):
    sigma = rng.uniform(0.01, 0.03) * max(image.shape[:2])
    return cv2.GaussianBlur(image, (0, 0), sigma), truth


def _contrast(image, truth, rng):
    keep = rng.uniform(0.1, 0.35)
    faded = image.astype(np.float32) * keep + rng.uniform(20, 120) * (1 - keep)
    return np.clip(faded, 0, 255).astype(np.uint8), truth


def _haze(image, truth, rng):
    height, width = image.shape[:2]
    rows = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None, None] ** 2
    hazy = image.astype(np.float32) + rng.uniform(80, 180) * rows
    return np.clip(hazy, 0, 255).astype(np.uint8), truth


def _shadow(image, truth, rng):
    """An acoustic shadow: a dark wedge from the transducer over part of the wall."""
    height, width = image.shape[:2]
    rows, cols = np.mgrid[0:height, 0:width]
    angle = np.arctan2(cols - width / 2, rows + 1)
    centre, half = rng.uniform(-0.5, 0.5), rng.uniform(0.12, 0.3)
    wedge = np.abs(angle - centre) < half
    shadowed = image.copy()
    shadowed[wedge] = (shadowed[wedge] * rng.uniform(0.0, 0.15)).astype(np.uint8)
    return shadowed, truth


def _occlude(image, truth, rng):
    """A block of bright clutter over part of the heart."""
    height, width = image.shape[:2]
    h, w = int(rng.uniform(0.2, 0.4) * height), int(rng.uniform(0.15, 0.3) * width)
    top, left = int(rng.uniform(0.15, 0.6) * height), int(rng.uniform(0.25, 0.6) * width)
    occluded = image.copy()
    block = rng.uniform(100, 255, (h, w))[..., None]
    occluded[top : top + h, left : left + w] = block[: height - top, : width - left]
    return occluded, truth


def _rotate(image, truth, rng):
    return affine(image, truth, rng.choice([-1, 1]) * rng.uniform(25, 70), 1.0, (0, 0))


def _zoom(image, truth, rng):
    return affine(
        image, truth, 0.0, rng.choice([rng.uniform(0.45, 0.65), rng.uniform(1.5, 2.0)]), (0, 0)
    )


def _shift(image, truth, rng):
    return affine(image, truth, 0.0, 1.0, tuple(rng.uniform(-0.2, 0.2, 2)))


def _flip(image, truth, rng):
    return image[::-1].copy(), truth[::-1].copy()


def _inside_fan(degrade: Callable) -> Callable:
    """``degrade`` inside the frame's ultrasound fan only: a scanner's noise, haze or shadow
    never reaches the black background around the fan."""

    def degraded(image, truth, rng):
        sector = find_sector(prepare_frame(image))
        changed, truth = degrade(image, truth, rng)
        if not sector.found:
            return changed, truth
        height, width = image.shape[:2]
        fan = cv2.resize(sector.mask.astype(np.uint8), (width, height), cv2.INTER_NEAREST)
        return np.where(fan[..., None] > 0, changed, image), truth

    return degraded


#: Input degradations by name: (RGB frame, model-size truth, rng) -> (frame, truth).
#: Grey-level ones act inside the fan; geometric ones move the anatomy and its truth alike.
DEGRADATIONS: dict[str, Callable] = {
    "noise": _inside_fan(_noise),
    "blur": _inside_fan(_blur),
    "contrast": _inside_fan(_contrast),
    "haze": _inside_fan(_haze),
    "shadow": _inside_fan(_shadow),
    "occlude": _inside_fan(_occlude),
    "rotate": _rotate,
    "zoom": _zoom,
    "shift": _shift,
    "flip": _flip,
}
