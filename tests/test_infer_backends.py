"""lvwall.infer.backends: loading models, the predictors and their agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from echo_inputs import (
    echo_frames,
    write_image,
)
from lvwall.cli import app
from lvwall.data.preprocess import prepare_frame
from lvwall.data.records import MODEL_SIZE
from lvwall.errors import ModelError
from lvwall.infer import (
    OnnxPredictor,
    TorchPredictor,
    load_segmentation_model,
    runs_on,
)
from lvwall.infer.backends import recorded_image_size, recorded_threshold
from lvwall.model import DEFAULT_THRESHOLD

runner = CliRunner(env={"COLUMNS": "400"})


def test_onnx_model_with_torch_backend_is_refused(tiny_model: dict[str, Path]) -> None:
    with pytest.raises(ModelError, match="only the onnx backend runs"):
        load_segmentation_model(tiny_model["onnx"], "torch")


@pytest.mark.parametrize(
    ("name", "backend", "expected"),
    [
        ("m.onnx", "onnx", True),
        ("m.ONNX", "torch", False),
        ("m.onnx", "torch-bf16", False),
        ("m.safetensors", "onnx", True),
        ("m.ckpt", "torch", True),
        ("m.safetensors", "torch-bf16", True),
    ],
)
def test_onnx_files_run_on_the_onnx_backend_only(name: str, backend: str, expected: bool) -> None:
    assert runs_on(Path(name), backend) is expected


def test_runs_on_refuses_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match="tensorrt"):
        runs_on(Path("m.onnx"), "tensorrt")


def test_bundled_model_is_used_without_model(
    tmp_path: Path, tiny_model: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = write_image(tmp_path / "still.png", echo_frames(1)[0])
    args = ["predict", str(clip), "--out", str(tmp_path / "out")]
    monkeypatch.setattr("lvwall.model.bundled.ASSETS_DIR", tmp_path / "no-assets")
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "lvwall train" in result.output

    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "lvwall-default.onnx").write_bytes(tiny_model["onnx"].read_bytes())
    (assets / "lvwall-default.safetensors").write_bytes(tiny_model["weights"].read_bytes())
    monkeypatch.setattr("lvwall.model.bundled.ASSETS_DIR", assets)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "bundled default model" in result.output


def test_onnx_and_torch_predictors_agree(tiny_model: dict[str, Path]) -> None:
    from lvwall.model.checkpoint import load_model

    network, _ = load_model(tiny_model["weights"])
    images = np.random.default_rng(0).random((3, 1, MODEL_SIZE, MODEL_SIZE), dtype=np.float32)
    onnx_probabilities = OnnxPredictor(tiny_model["onnx"], threads=1).predict(images)
    torch_probabilities = TorchPredictor(network).predict(images)
    bf16_probabilities = TorchPredictor(network, dtype=torch.bfloat16).predict(images)
    assert onnx_probabilities.shape == torch_probabilities.shape == images.shape
    np.testing.assert_allclose(onnx_probabilities, torch_probabilities, atol=1e-4)
    np.testing.assert_allclose(bf16_probabilities, torch_probabilities, atol=2e-2)


def _bundled_inputs(n: int = 4) -> np.ndarray:
    """Echo-like frames at model size, as the bundled model sees them."""
    return np.stack([prepare_frame(frame) for frame in echo_frames(n)])[:, None]


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("backend", "atol", "agreement"), [("torch", 1e-2, 0.999), ("torch-bf16", 0.15, 0.99)]
)
def test_bundled_model_on_cuda_agrees_with_onnx_on_the_cpu(
    backend: str, atol: float, agreement: float
) -> None:
    images = _bundled_inputs()
    on_cpu = load_segmentation_model(None, "onnx", threads=2)
    on_gpu = load_segmentation_model(None, backend)
    assert "on cuda" in on_gpu.description
    cpu_probabilities = on_cpu.predictor.predict(images)
    gpu_probabilities = on_gpu.predictor.predict(images)
    difference = np.abs(gpu_probabilities - cpu_probabilities)
    assert difference.max() <= atol and difference.mean() <= 0.01
    same = (gpu_probabilities > on_gpu.threshold) == (cpu_probabilities > on_cpu.threshold)
    assert same.mean() >= agreement


@pytest.mark.gpu
def test_auto_backend_runs_onnx_files_with_onnx_runtime(tiny_model: dict[str, Path]) -> None:
    assert "ONNX Runtime" in load_segmentation_model(tiny_model["onnx"]).description
    assert "on cuda" in load_segmentation_model(tiny_model["weights"]).description


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(None, DEFAULT_THRESHOLD), ("0.4", 0.4), (0.7, 0.7), ("nan", None), (1.5, None), (0, None)],
)
def test_a_model_threshold_is_a_number_between_0_and_1(
    threshold: object, expected: float | None
) -> None:
    path = Path("model.onnx")
    if expected is not None:
        assert recorded_threshold(path, threshold) == pytest.approx(expected)
        return
    with pytest.raises(ModelError, match="not a number between 0 and 1") as raised:
        recorded_threshold(path, threshold)
    assert raised.value.path == path


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (224, 224),
        ("320", 320),
        (256.0, 256),
        (224.5, None),
        ("big", None),
        (0, None),
        (10**6, None),
    ],
)
def test_a_model_input_size_is_a_whole_number_in_range(size: object, expected: int | None) -> None:
    path = Path("model.ckpt")
    if expected is not None:
        assert recorded_image_size(path, size) == expected
        return
    with pytest.raises(ModelError, match="not a whole number of pixels from 32 to 1024"):
        recorded_image_size(path, size)
