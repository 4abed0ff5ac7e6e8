"""ONNX export: agreement with PyTorch, a dynamic batch axis, metadata, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

import lvwall.export as export_module
from lvwall.checkpoint import save_model
from lvwall.cli import app
from lvwall.errors import ModelError
from lvwall.export import INPUT_NAME, export_checkpoint, export_onnx, read_onnx_meta
from lvwall.model import UNetConfig, build_model

runner = CliRunner()

CONFIGS = {
    "grey-batchnorm": UNetConfig(in_channels=1, widths=(4, 8), norm="batch"),
    "rgb-like-seed": UNetConfig(in_channels=3, widths=(4, 8, 8), bottleneck_convs=4),
}


def _tiny(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(CONFIGS[name])
    # Non-trivial batch-norm statistics, so a wrong train/eval mode would show.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize(("config", "size"), [("grey-batchnorm", 64), ("rgb-like-seed", 32)])
def test_export_matches_torch_for_any_batch(tmp_path: Path, config: str, size: int) -> None:
    model = _tiny(config).train()
    report = export_onnx(model, tmp_path / "m.onnx", size=size)
    assert report.path.is_file() and report.size == size and report.opset == 17
    assert report.max_abs_diff < 1e-4
    assert model.training, "exporting must not switch the caller's model to eval mode"

    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).random((5, 1, size, size), dtype=np.float32)
    (onnx_out,) = session.run(None, {INPUT_NAME: images})
    with torch.inference_mode():
        expected = torch.sigmoid(model.eval()(torch.from_numpy(images))).numpy()
    assert onnx_out.shape == (5, 1, size, size)
    np.testing.assert_allclose(onnx_out, expected, atol=1e-4)


def test_metadata_travels_with_the_onnx_file(tmp_path: Path) -> None:
    weights = save_model(tmp_path / "m.safetensors", _tiny("grey-batchnorm"), {"threshold": 0.35})
    report = export_checkpoint(weights, tmp_path / "m.onnx")
    meta = read_onnx_meta(report.path)
    assert meta["threshold"] == 0.35
    assert meta["image_size"] == 224 and meta["model_config"]["widths"] == [4, 8]


def test_a_disagreeing_export_is_refused_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "_compare_with_torch", lambda *args: 0.25)
    with pytest.raises(ModelError, match=r"differs from PyTorch by 0\.25"):
        export_onnx(_tiny("grey-batchnorm"), tmp_path / "m.onnx", size=32)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("m.onx", {}), ("m.onnx", {"size": 0}), ("m.onnx", {"tolerance": 0.0})],
)
def test_bad_arguments_are_value_errors(tmp_path: Path, name: str, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        export_onnx(_tiny("grey-batchnorm"), tmp_path / name, **kwargs)


@pytest.mark.parametrize(
    ("content", "expected"), [(b"garbage", ModelError), (None, {})], ids=["corrupt", "foreign"]
)
def test_read_onnx_meta(tmp_path: Path, content: bytes | None, expected: object) -> None:
    path = tmp_path / "x.onnx"
    if content is None:  # a valid ONNX file that lvwall did not write
        value = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
        graph = onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["y"])], "g", [value], [value]
        )
        graph.output[0].name = "y"
        onnx.save(onnx.helper.make_model(graph), str(path))
        assert read_onnx_meta(path) == expected
    else:
        path.write_bytes(content)
        with pytest.raises(ModelError, match=r"x\.onnx: cannot be read as an ONNX model"):
            read_onnx_meta(path)


def test_cli_prints_the_difference_and_refuses_unknown_files(tmp_path: Path) -> None:
    weights = save_model(tmp_path / "m.safetensors", _tiny("grey-batchnorm"))
    result = runner.invoke(app, ["export", str(weights), "--onnx", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "max abs difference from PyTorch" in result.output
    assert (tmp_path / "m.onnx").is_file()

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    result = runner.invoke(app, ["export", str(junk), "--onnx", str(tmp_path / "j.onnx")])
    assert result.exit_code == 1
    assert str(junk) in result.output and "Traceback" not in result.output
    assert not (tmp_path / "j.onnx").exists()


def test_cli_needs_an_output(tmp_path: Path) -> None:
    weights = save_model(tmp_path / "m.safetensors", _tiny("grey-batchnorm"))
    result = runner.invoke(app, ["export", str(weights)])
    assert result.exit_code == 2
