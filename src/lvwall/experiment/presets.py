"""Named budgets of an experiment: how big the model is, how long it trains, how many folds.

* ``tiny``: seconds; a toy network on 64x64 frames for tests and smoke runs.
* ``quick``: the demo; the CPU preset ``fast`` on 112x112 frames, 3 folds, a two-point Focal
  Tversky grid; about ten minutes on two CPU cores (``lvwall demo``).
* ``full``: the study (Degerli et al., IEEE Access 9:34442, 2021): the study's U-Net
  (``seed`` preset) on 224x224 frames with 5-fold cross-validation and the full
  hyper-parameter grid; meant for a GPU.

Every preset trains both losses with the same budget; only Focal Tversky has
hyper-parameters to search (:mod:`lvwall.experiment.tuning`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lvwall.experiment.tuning import focal_tversky_grid
from lvwall.lookup import look_up


@dataclass(frozen=True)
class ExperimentPreset:
    """A budget: ``train`` holds :class:`lvwall.train.config.TrainConfig` fields (model preset,
    image size, epochs, batch size, ...); ``folds`` outer cross-validation folds;
    ``search`` the loss keyword candidates searched on each training fold, by loss name
    (a loss not named trains once with its defaults); ``demo_recordings`` how many phantom
    recordings ``lvwall demo`` simulates."""

    description: str
    train: dict[str, Any]
    folds: int
    search: dict[str, tuple[dict[str, float], ...]]
    demo_recordings: int

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2, got {self.folds}")
        empty = [loss for loss, candidates in self.search.items() if not candidates]
        if empty:
            raise ValueError(f"search needs at least one candidate per loss, not for {empty}")
        if self.demo_recordings < 2 * self.folds:
            raise ValueError(
                f"demo_recordings ({self.demo_recordings}) must be at least twice the folds "
                f"({self.folds}), so that every inner split has two patients"
            )


#: Experiment presets by name.
EXPERIMENT_PRESETS: dict[str, ExperimentPreset] = {
    "tiny": ExperimentPreset(
        description="seconds: a toy U-Net on 64x64 frames, 1 epoch, 2 folds (tests)",
        train={
            "preset": "fast",
            "model_overrides": {"widths": [4, 8]},
            "image_size": 64,
            "epochs": 1,
            "batch_size": 8,
            "frames_per_epoch": 16,
            "patience": None,
            "augment": "none",
            "val_fraction": 0.5,
        },
        folds=2,
        search={"focal-tversky": focal_tversky_grid([(0.3, 0.7), (0.7, 0.3)], [0.75])},
        demo_recordings=6,
    ),
    "quick": ExperimentPreset(
        description="minutes on a CPU: the 'fast' U-Net on 112x112 frames, 3 folds (demo)",
        train={
            "preset": "fast",
            "image_size": 112,
            "epochs": 10,
            "batch_size": 8,
            "frames_per_epoch": 384,
            "patience": None,
            "val_fraction": 0.25,
        },
        folds=3,
        search={"focal-tversky": focal_tversky_grid([(0.3, 0.7), (0.5, 0.5)], [0.75])},
        demo_recordings=12,
    ),
    "full": ExperimentPreset(
        description="the study on a GPU: the 'seed' U-Net on 224x224 frames, 5 folds",
        train={
            "preset": "seed",
            "image_size": 224,
            "epochs": 50,
            "batch_size": 16,
            "patience": 10,
        },
        folds=5,
        search={
            "focal-tversky": focal_tversky_grid([(0.3, 0.7), (0.5, 0.5), (0.7, 0.3)], [0.75, 1.0])
        },
        demo_recordings=100,
    ),
}

#: The preset of ``lvwall experiment`` and ``lvwall demo`` when none is named.
DEFAULT_EXPERIMENT_PRESET = "quick"


def experiment_preset(name: str) -> ExperimentPreset:
    """The preset registered as ``name``; :class:`ValueError` listing the names otherwise."""
    return look_up(EXPERIMENT_PRESETS, name, "experiment preset")
