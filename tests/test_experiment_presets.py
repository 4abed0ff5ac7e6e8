"""Tests for lvwall.experiment.presets: every budget builds a valid training config."""

from __future__ import annotations

import pytest

from lvwall.experiment.presets import (
    DEFAULT_EXPERIMENT_PRESET,
    EXPERIMENT_PRESETS,
    ExperimentPreset,
    experiment_preset,
)
from lvwall.model import PRESETS
from lvwall.train.config import TrainConfig
from lvwall.train.losses import build_loss


@pytest.mark.parametrize("name", sorted(EXPERIMENT_PRESETS))
def test_every_preset_builds_a_valid_training_config(name: str) -> None:
    preset = experiment_preset(name)

    config = TrainConfig(**preset.train)

    assert config.preset in PRESETS
    assert preset.demo_recordings >= 2 * preset.folds
    for loss, candidates in preset.search.items():
        for kwargs in candidates:
            build_loss(loss, **kwargs)


@pytest.mark.parametrize(
    ("name", "model", "image_size", "folds", "n_candidates"),
    [
        ("tiny", "fast", 64, 2, 2),
        ("quick", "fast", 112, 3, 2),
        # The study: its U-Net on 224x224 frames, 5-fold CV, (alpha, beta) x gamma = 3 x 2.
        ("full", "seed", 224, 5, 6),
    ],
)
def test_preset_budgets(
    name: str, model: str, image_size: int, folds: int, n_candidates: int
) -> None:
    preset = EXPERIMENT_PRESETS[name]
    assert preset.train["preset"] == model
    assert preset.train["image_size"] == image_size
    assert preset.folds == folds
    assert len(preset.search["focal-tversky"]) == n_candidates
    assert {"alpha": 0.3, "beta": 0.7, "gamma": 0.75} in preset.search["focal-tversky"]


def test_default_preset_is_registered() -> None:
    assert DEFAULT_EXPERIMENT_PRESET in EXPERIMENT_PRESETS


def test_unknown_preset_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown experiment preset 'huge'.*'quick'"):
        experiment_preset("huge")


@pytest.mark.parametrize(
    ("folds", "search", "demo_recordings", "message"),
    [
        (1, {}, 10, "folds"),
        (3, {"focal-tversky": ()}, 10, "at least one candidate"),
        (3, {}, 5, "twice the folds"),
    ],
)
def test_preset_rejects_bad_budgets(
    folds: int, search: dict, demo_recordings: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ExperimentPreset("bad", {}, folds, search, demo_recordings)
