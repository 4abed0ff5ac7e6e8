"""The bundled default model: where it lives, the error without it, installing one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import lvwall
from lvwall.cli import app
from lvwall.errors import ModelError
from lvwall.infer import OnnxPredictor
from lvwall.model import DEFAULT_PRESET, PRESETS, UNetConfig, build_model
from lvwall.model.bundled import (
    ASSETS_DIR,
    ONNX_NAME,
    WEIGHTS_NAME,
    bundle_model,
    default_model_paths,
)
from lvwall.model.checkpoint import load_model, save_model
from lvwall.model.export import read_onnx_meta

runner = CliRunner()


def assert_onnx_matches_weights(onnx_path: Path, model: torch.nn.Module, seed: int) -> None:
    """The ONNX file's probabilities equal the PyTorch model's on random frames."""
    images = np.random.default_rng(seed).random((2, 1, 224, 224), dtype=np.float32)
    with torch.inference_mode():
        expected = torch.sigmoid(model(torch.from_numpy(images))).numpy()
    np.testing.assert_allclose(OnnxPredictor(onnx_path).predict(images), expected, atol=1e-4)


def test_assets_live_inside_the_package() -> None:
    package = Path(lvwall.__file__).resolve().parent
    assert package / "assets" == ASSETS_DIR


@pytest.mark.parametrize(
    ("present", "missing"),
    [([], WEIGHTS_NAME), ([WEIGHTS_NAME], ONNX_NAME), ([ONNX_NAME], WEIGHTS_NAME)],
)
def test_missing_model_says_how_to_make_one(
    tmp_path: Path, present: list[str], missing: str
) -> None:
    for name in present:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ModelError) as info:
        default_model_paths(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / missing}: the bundled default model is not installed")
    assert "lvwall train" in message and "--install-default" in message


def test_bundle_model_installs_matching_weights_and_onnx(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(UNetConfig(widths=(4, 8), norm="batch"))
    checkpoint = save_model(tmp_path / "trained.safetensors", model, {"threshold": 0.42})
    assets = tmp_path / "assets"

    installed, backup = bundle_model(checkpoint, assets)
    assert backup is None, "nothing was replaced"
    assert default_model_paths(assets) == installed
    assert installed.weights.name == WEIGHTS_NAME and installed.onnx.name == ONNX_NAME

    reloaded, meta = load_model(installed.weights)
    assert meta["threshold"] == 0.42 and read_onnx_meta(installed.onnx)["threshold"] == 0.42
    assert_onnx_matches_weights(installed.onnx, reloaded, seed=0)


def test_cli_install_default_needs_force_and_keeps_what_it_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assets = tmp_path / "assets"
    monkeypatch.setattr("lvwall.model.bundled.ASSETS_DIR", assets)
    first = save_model(tmp_path / "m1.safetensors", build_model(UNetConfig(widths=(4, 8))))
    second = save_model(tmp_path / "m2.safetensors", build_model(UNetConfig(widths=(8, 16))))
    refused = runner.invoke(app, ["export", str(first), "--install-default"])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert not assets.exists()

    for checkpoint in (first, second):
        result = runner.invoke(app, ["export", str(checkpoint), "--install-default", "--force"])
        assert result.exit_code == 0, result.output
    assert default_model_paths().onnx == assets / ONNX_NAME
    (backup,) = assets.glob("replaced-*")
    assert sorted(p.name for p in backup.iterdir()) == sorted([ONNX_NAME, WEIGHTS_NAME])
    kept, _ = load_model(backup / WEIGHTS_NAME)
    assert kept.config.widths == (4, 8) and load_model(assets / WEIGHTS_NAME)[0].config.widths == (
        8,
        16,
    )


def test_shipped_model_is_the_makefile_recipe_and_its_onnx_matches_its_weights() -> None:
    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    preset = re.search(r"^BUNDLED_PRESET \?= (\S+)$", makefile, re.MULTILINE)
    assert preset, "the Makefile must name the bundled model's preset"
    shipped = default_model_paths()
    model, _ = load_model(shipped.weights)
    assert model.config == PRESETS[preset.group(1)]
    assert preset.group(1) == DEFAULT_PRESET, "lvwall train's default preset is the shipped one"
    assert_onnx_matches_weights(shipped.onnx, model, seed=1)
