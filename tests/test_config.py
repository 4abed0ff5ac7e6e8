"""TrainConfig: defaults, validation, YAML round trip, and flags over YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lvwall.errors import DataError
from lvwall.model import DEFAULT_PRESET
from lvwall.train.config import RUN_DEFINING_FIELDS, TrainConfig


def test_defaults_are_valid_and_use_the_default_preset() -> None:
    config = TrainConfig()
    assert config.preset == DEFAULT_PRESET
    assert config.schedule == "one-cycle"
    assert config.precision == "auto"
    assert config.data == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("loss", "bce", "loss must be one of"),
        ("preset", "huge", "preset must be one of"),
        ("schedule", "linear", "schedule must be one of"),
        ("precision", "64", "precision must be one of"),
        ("accelerator", "tpu", "accelerator must be one of"),
        ("strategy", "fsdp", "strategy must be one of"),
        ("augment", "wild", "augment must be one of"),
        ("compile", "yes", "compile must be true or false"),
        ("loss_kwargs", {"delta": 1.0}, "unknown keys"),
        ("loss_kwargs", {"alpha": 0.3}, "loss 'dice' does not take \\['alpha'\\]"),
        ("epochs", 0, "epochs must be a positive integer"),
        ("batch_size", 2.5, "batch_size must be a positive integer"),
        ("lr", 0.0, "lr must be a positive number"),
        ("weight_decay", -1e-4, "weight_decay must be a non-negative number"),
        ("val_fraction", 1.0, "val_fraction"),
        ("val_fraction", 0.0, "val_fraction"),
        ("folds", 1, "folds must be an integer of at least 2"),
        ("fold", 5, "fold must be in 0..4"),
        ("fold", -1, "fold must be in 0..4"),
        ("seed", -3, "seed must be a non-negative integer"),
        ("deep_supervision", -1, "deep_supervision must be a non-negative integer"),
        ("deep_supervision", 5, "deep_supervision must be at most 4 for a 6-level U-Net"),
        ("patience", 0, "patience must be a positive integer"),
        ("frames_per_epoch", 0, "frames_per_epoch must be a positive integer"),
        ("swa_start", 1.0, r"swa_start must be a fraction in \[0, 1\)"),
        ("swa_start", -0.1, r"swa_start must be a fraction in \[0, 1\)"),
        ("swa_start", "half", r"swa_start must be a fraction in \[0, 1\)"),
        ("num_workers", -1, "num_workers must be a non-negative integer"),
        ("devices", 0, "devices must be 'auto' or a positive integer"),
        ("devices", "all", "devices must be 'auto' or a positive integer"),
        ("image_size", 30, r"image_size must be a multiple of \d+"),
        ("image_size", 0, "image_size must be a positive integer"),
        ("model_overrides", {"widths": [4]}, "widths needs at least 2 levels"),
        ("model_overrides", {"depth": 3}, "unknown UNetConfig keys"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(
    field: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"data": ["/a", "/b"], "loss": "focal-tversky", "loss_kwargs": {"alpha": 0.3}},
        {"model_overrides": {"widths": (4, 8)}, "image_size": 32, "fold": 2, "devices": 2},
        {"patience": None, "precision": "bf16-mixed", "channels_last": True, "num_workers": 3},
        {"compile": True},
    ],
)
def test_yaml_round_trip_keeps_every_value(tmp_path: Path, values: dict[str, Any]) -> None:
    config = TrainConfig(**values)
    path = config.to_yaml(tmp_path / "config.yaml")
    assert TrainConfig.from_yaml(path) == config
    # Plain YAML types only: the file loads with the safe loader.
    assert (
        yaml.safe_load(path.read_text())["model_overrides"] == config.to_dict()["model_overrides"]
    )


def test_missing_yaml_keys_take_defaults(tmp_path: Path) -> None:
    path = tmp_path / "partial.yaml"
    path.write_text("epochs: 3\nloss: focal-tversky\n")
    config = TrainConfig.from_yaml(path)
    assert (config.epochs, config.loss, config.batch_size) == (3, "focal-tversky", 8)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"epochs": 7}, {"epochs": 7, "lr": 0.01, "loss_kwargs": {"alpha": 0.3, "beta": 0.7}}),
        ({"epochs": None, "lr": None}, {"epochs": 4, "lr": 0.01}),
        (
            {"loss_kwargs": {"gamma": 0.75}},
            {"loss_kwargs": {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}},
        ),
        ({"loss_kwargs": {"beta": 0.9}}, {"loss_kwargs": {"alpha": 0.3, "beta": 0.9}}),
        (
            {"model_overrides": {"dropout": 0.1}},
            {"model_overrides": {"widths": [4, 8], "dropout": 0.1}},
        ),
    ],
)
def test_flags_override_yaml(tmp_path: Path, overrides: dict, expected: dict) -> None:
    path = tmp_path / "base.yaml"
    TrainConfig(
        epochs=4,
        lr=0.01,
        loss="focal-tversky",
        loss_kwargs={"alpha": 0.3, "beta": 0.7},
        model_overrides={"widths": [4, 8]},
        image_size=32,
    ).to_yaml(path)
    config = TrainConfig.from_yaml(path).with_overrides(**overrides)
    values = config.to_dict()
    for key, value in expected.items():
        assert values[key] == value


def test_with_overrides_validates() -> None:
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig().with_overrides(epochs=-1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "does not exist"),
        ("epochs: [1, 2\n", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("epochs: 3\nwarp_speed: 9\n", "unknown training settings"),
        ("epochs: 0\n", "epochs must be a positive integer"),
    ],
)
def test_bad_yaml_files_raise_data_error_naming_the_file(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "config.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        TrainConfig.from_yaml(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"devices": 2, "precision": "32", "num_workers": 2}, []),
        ({"epochs": 9}, ["epochs"]),
        ({"lr": 0.5, "seed": 3}, ["lr", "seed"]),
    ],
)
def test_differences_in_run_defining_fields(change: dict, expected: list[str]) -> None:
    base = TrainConfig()
    assert base.differences(base.with_overrides(**change), RUN_DEFINING_FIELDS) == expected
