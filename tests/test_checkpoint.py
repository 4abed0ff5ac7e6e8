"""Safe model loading: both formats round-trip, and bad files give one ModelError sentence."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from lvwall.errors import ModelError
from lvwall.model import UNet, UNetConfig, build_model
from lvwall.model.checkpoint import DEFAULT_THRESHOLD, load_model, save_model

TINY = UNetConfig(in_channels=1, widths=(4, 8), norm="batch")


def _tiny_model(seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    model = UNet(TINY)
    # Non-default batch-norm statistics, so that buffers are checked too.
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 1, 16, 16))
    return model.eval()


def _lightning_like(path: Path, model: UNet, **extra: Any) -> Path:
    """What lvwall.train writes: prefixed weights and plain hyper-parameters."""
    checkpoint = {
        "epoch": 3,
        "state_dict": {f"model.{key}": value for key, value in model.state_dict().items()},
        "hyper_parameters": {
            "model_config": model.config.to_dict(),
            "train_config": {"image_size": 32, "seed": 1},
        },
        "lvwall": {"threshold": 0.4, "metrics": {"dice": 0.81}},
        **extra,
    }
    torch.save(checkpoint, path)
    return path


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(
    "meta",
    [
        None,
        {"threshold": 0.35, "image_size": 32, "metrics": {"dice": 0.9}},
        {"train_config": {"loss": "dice", "widths": [4, 8]}, "note": "phantom"},
    ],
)
def test_slim_model_round_trip(tmp_path: Path, meta: dict | None) -> None:
    model = _tiny_model()
    path = save_model(tmp_path / "model.safetensors", model, meta)
    loaded, loaded_meta = load_model(path)
    assert _same_weights(model, loaded)
    assert not loaded.training
    assert loaded.config == TINY
    assert loaded_meta["format"] == "lvwall-model"
    assert loaded_meta["model_config"] == TINY.to_dict()
    for key, value in (meta or {}).items():
        assert loaded_meta[key] == value
    if meta is None:
        assert loaded_meta["threshold"] == DEFAULT_THRESHOLD
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(model(x), loaded(x))


def test_lightning_checkpoint_loads_with_meta(tmp_path: Path) -> None:
    model = _tiny_model(seed=3)
    loaded, meta = load_model(_lightning_like(tmp_path / "best.ckpt", model))
    assert _same_weights(model, loaded)
    assert meta["format"] == "lightning-checkpoint"
    assert (meta["threshold"], meta["image_size"], meta["epoch"]) == (0.4, 32, 3)
    assert meta["metrics"] == {"dice": 0.81}
    assert meta["train_config"] == {"image_size": 32, "seed": 1}


def test_save_model_is_atomic_and_refuses_non_json_meta(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    with pytest.raises(ValueError, match="JSON"):
        save_model(target, _tiny_model(), {"bad": object()})
    assert list(tmp_path.iterdir()) == []


class _Evil:
    """Unpickling this would create a file: weights-only loading must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return pathlib.Path.touch, (self.marker,)


def _write_missing(path: Path) -> None:
    return None


def _write_random_binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 8)


def _write_text(path: Path) -> None:
    path.write_text("not a model at all\n")


def _write_pickled_object(path: Path) -> None:
    torch.save({"state_dict": {}, "payload": _Evil(path.with_name("pwned"))}, path)


def _write_truncated_checkpoint(path: Path) -> None:
    _lightning_like(path, _tiny_model())
    path.write_bytes(path.read_bytes()[:1000])


def _write_plain_state_dict(path: Path) -> None:
    torch.save(_tiny_model().state_dict(), path)


def _write_checkpoint_without_config(path: Path) -> None:
    torch.save({"state_dict": {}, "hyper_parameters": {"lr": 0.1}}, path)


def _write_mismatched_weights(path: Path) -> None:
    wider = build_model(TINY, widths=(8, 16))
    checkpoint = {
        "state_dict": {f"model.{k}": v for k, v in wider.state_dict().items()},
        "hyper_parameters": {"model_config": TINY.to_dict()},
    }
    torch.save(checkpoint, path)


def _write_missing_weights(path: Path) -> None:
    state = {f"model.{k}": v for k, v in _tiny_model().state_dict().items() if "head" not in k}
    torch.save({"state_dict": state, "hyper_parameters": {"model_config": TINY.to_dict()}}, path)


def _write_unbuildable_config(path: Path) -> None:
    config = {**TINY.to_dict(), "norm": "layer"}
    torch.save({"state_dict": {}, "hyper_parameters": {"model_config": config}}, path)


def _make_folder(path: Path) -> None:
    path.mkdir()


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _write_safetensors_without_meta(path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(path))


def _write_safetensors_with_bad_json(path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(path), metadata={"lvwall": "{not json"})


@pytest.mark.parametrize(
    ("writer", "problem"),
    [
        (_write_missing, "does not exist"),
        (_make_folder, "is a folder, not a model file"),
        (_make_fifo, "is not a regular file, so not a model file"),
        (_write_random_binary, "neither an lvwall model file nor a Lightning checkpoint"),
        (_write_text, "neither an lvwall model file nor a Lightning checkpoint"),
        (_write_pickled_object, "refuses to unpickle"),
        (_write_truncated_checkpoint, "truncated or corrupt"),
        (_write_plain_state_dict, "not a Lightning checkpoint"),
        (_write_checkpoint_without_config, "without an lvwall model configuration"),
        (_write_mismatched_weights, "do not fit its model configuration"),
        (_write_missing_weights, "missing"),
        (_write_unbuildable_config, "cannot build"),
        (_write_safetensors_without_meta, "without lvwall model metadata"),
        (_write_safetensors_with_bad_json, "unreadable lvwall metadata"),
    ],
)
def test_bad_files_raise_one_model_error_sentence(
    tmp_path: Path, writer: Callable[[Path], None], problem: str
) -> None:
    path = tmp_path / "model.ckpt"
    writer(path)
    with pytest.raises(ModelError, match=problem) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert not (tmp_path / "pwned").exists()
