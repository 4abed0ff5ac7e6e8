"""Tests for lvwall.experiment.config: building, saving and comparing experiment configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvwall.errors import DataError
from lvwall.experiment.config import DEFAULT_LOSSES, ExperimentConfig
from lvwall.experiment.presets import EXPERIMENT_PRESETS
from lvwall.train.config import TrainConfig


@pytest.mark.parametrize("preset", sorted(EXPERIMENT_PRESETS))
def test_from_preset_takes_the_budget(preset: str, tmp_path: Path) -> None:
    budget = EXPERIMENT_PRESETS[preset]

    config = ExperimentConfig.from_preset([tmp_path], preset, seed=3)

    assert config.data == [str(tmp_path.resolve())]
    assert config.losses == list(DEFAULT_LOSSES)
    assert config.folds == budget.folds
    assert config.seed == config.train.seed == 3
    for key, value in budget.train.items():
        assert config.train.to_dict()[key] == value
    assert config.candidates("focal-tversky") == list(budget.search["focal-tversky"])
    assert config.candidates("dice") == [{}]


@pytest.mark.parametrize(
    ("loss", "kwargs"),
    [("dice", {}), ("focal-tversky", {"alpha": 0.7, "beta": 0.3, "gamma": 1.0})],
)
def test_run_config_sets_only_the_loss(loss: str, kwargs: dict[str, float], tmp_path: Path) -> None:
    config = ExperimentConfig.from_preset([tmp_path], "tiny")

    run = config.run_config(loss, kwargs)

    assert run.loss == loss
    assert run.loss_kwargs == kwargs
    assert config.train.differences(run, tuple(TrainConfig().to_dict())) in (
        [],
        ["loss"],
        ["loss", "loss_kwargs"],
    )


def test_yaml_round_trip(tmp_path: Path) -> None:
    config = ExperimentConfig.from_preset([tmp_path], "quick", folds=4, seed=2)

    back = ExperimentConfig.from_yaml(config.to_yaml(tmp_path / "config.yaml"))

    assert back == config
    assert back.differences(config) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"folds": 4}, ["folds"]),
        ({"seed": 1}, ["seed", "train.seed"]),
        (
            {"preset": "quick"},
            [
                "preset",
                "search",
                "train.image_size",
                "train.epochs",
                "train.frames_per_epoch",
                "train.val_fraction",
                "train.model_overrides",
                "train.augment",
            ],
        ),
    ],
)
def test_differences_name_the_changed_settings(
    change: dict, expected: list[str], tmp_path: Path
) -> None:
    base = {"folds": 2, "seed": 0, "preset": "tiny"} | change
    config = ExperimentConfig.from_preset(
        [tmp_path], base["preset"], folds=base["folds"], seed=base["seed"]
    )

    changed = ExperimentConfig.from_preset([tmp_path], "tiny", folds=2).differences(config)

    assert sorted(changed) == sorted(expected)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"losses": []}, "losses is empty"),
        ({"losses": ["dice", "hinge"]}, "unknown losses"),
        ({"losses": ["dice", "dice"]}, "must not repeat"),
        ({"folds": 1}, "folds"),
        ({"seed": -1}, "seed"),
        ({"search": {"focal-tversky": []}}, "is empty"),
        ({"search": {"dice": [{"gamma": 0.75}]}}, "search"),
        ({"data": []}, "data names no dataset"),
    ],
)
def test_bad_settings_raise_value_error(values: dict, message: str, tmp_path: Path) -> None:
    settings = ExperimentConfig.from_preset([tmp_path], "tiny").to_dict() | values
    with pytest.raises(ValueError, match=message):
        ExperimentConfig.from_dict(settings)


def test_seed_must_match_the_training_seed(tmp_path: Path) -> None:
    settings = ExperimentConfig.from_preset([tmp_path], "tiny").to_dict()
    settings["seed"] = 5
    with pytest.raises(ValueError, match="train.seed"):
        ExperimentConfig.from_dict(settings)


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    settings = ExperimentConfig.from_preset([tmp_path], "tiny").to_dict() | {"epochs": 3}
    with pytest.raises(ValueError, match="unknown experiment settings"):
        ExperimentConfig.from_dict(settings)


def test_candidates_of_a_loss_not_in_the_experiment(tmp_path: Path) -> None:
    config = ExperimentConfig.from_preset([tmp_path], "tiny", losses=["dice"])
    with pytest.raises(ValueError, match="not one of"):
        config.candidates("focal-tversky")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "does not exist"),
        ("folds: [", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("data: [x]\nfolds: 1\n", "bad experiment config"),
    ],
)
def test_from_yaml_names_the_file(text: str | None, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=problem) as info:
        ExperimentConfig.from_yaml(path)
    assert str(path) in str(info.value)
