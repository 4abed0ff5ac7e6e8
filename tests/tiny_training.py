"""Tiny labelled recordings and training configs that train in seconds on one CPU core."""

from __future__ import annotations

from typing import Any

import numpy as np

from lvwall.data.records import STRUCTURE_LABELS, LabelledRecording
from lvwall.train.config import TrainConfig

SIZE = 32


# On the CPU everywhere, so that results do not depend on the machine (bf16 on a GPU).
TINY = {
    "model_overrides": {"widths": [4, 8]},
    "image_size": SIZE,
    "augment": "none",
    "accelerator": "cpu",
}


def tiny_recordings(n: int = 10, frames: int = 4, size: int = SIZE) -> list[LabelledRecording]:
    """Bright rings (the "wall") on a noisy dark background, one patient per recording."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:size, :size]
    recordings = []
    for index in range(n):
        images = np.zeros((frames, size, size), np.float32)
        masks = np.zeros((frames, size, size), np.uint8)
        for frame in range(frames):
            centre = rng.uniform(0.35 * size, 0.65 * size, 2)
            radius = rng.uniform(0.15 * size, 0.25 * size)
            wall = np.abs(np.hypot(rows - centre[0], cols - centre[1]) - radius) <= 0.06 * size
            masks[frame] = wall
            noise = 0.08 * rng.standard_normal((size, size))
            images[frame] = np.clip(0.15 + 0.6 * wall + noise, 0, 1)
        recordings.append(
            LabelledRecording(f"rec{index}", f"patient{index}", images, masks, label=index % 2)
        )
    return recordings


def tiny_config(**values: Any) -> TrainConfig:
    return TrainConfig(**{**TINY, "epochs": 2, "batch_size": 4, "lr": 1e-2, **values})


def with_structures(recordings: list[LabelledRecording]) -> list[LabelledRecording]:
    """The recordings with label maps: their wall, a cavity where the frame is darkest and an
    atrium along the bottom rows."""
    labelled = []
    for recording in recordings:
        structures = np.zeros_like(recording.masks)
        structures[recording.frames < 0.1] = STRUCTURE_LABELS["cavity"]
        structures[:, -3:] = STRUCTURE_LABELS["atrium"]
        structures[recording.masks == 1] = STRUCTURE_LABELS["wall"]
        labelled.append(
            LabelledRecording(
                recording.name,
                recording.patient,
                recording.frames,
                recording.masks,
                label=recording.label,
                structures=structures,
            )
        )
    return labelled
