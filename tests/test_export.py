"""ONNX export: agreement with PyTorch, a dynamic batch axis, metadata, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

import lvwall.model.export as export_module
from lvwall.cli import app
from lvwall.errors import ModelError
from lvwall.model import UNetConfig, build_model
from lvwall.model.checkpoint import save_model
from lvwall.model.export import (
    INPUT_NAME,
    export_checkpoint,
    export_onnx,
    read_onnx_meta,
    split_concatenated_convolutions,
)

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


@pytest.mark.parametrize(("config", "skips"), [("grey-batchnorm", 1), ("rgb-like-seed", 2)])
def test_exported_skip_connections_have_no_concatenation(
    tmp_path: Path, config: str, skips: int
) -> None:
    report = export_onnx(_tiny(config), tmp_path / "m.onnx", size=32)
    ops = [node.op_type for node in onnx.load(str(report.path)).graph.node]
    assert "Concat" not in ops
    assert ops.count("Add") == skips


def _concat_conv_graph(
    sizes: tuple[int, ...], axis: int = 1, second_reader: bool = False
) -> onnx.ModelProto:
    """Inputs x0, x1, ... with ``sizes`` channels (along ``axis`` 2: ``sizes[0]`` channels and
    6 rows each), concatenated along ``axis``, then a 3x3 convolution with a bias; with
    ``second_reader`` (8 channels in all), a Relu also reads the concatenation."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    in_channels = sum(sizes) if axis == 1 else sizes[0]
    inputs = [
        helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [2, size, 6, 6])
        for i, size in enumerate(sizes if axis == 1 else [sizes[0]] * len(sizes))
    ]
    weight = numpy_helper.from_array(rng.normal(size=(3, in_channels, 3, 3)).astype("f4"), "w")
    bias = numpy_helper.from_array(rng.normal(size=3).astype("f4"), "b")
    nodes = [
        helper.make_node("Concat", [i.name for i in inputs], ["cat"], axis=axis),
        helper.make_node("Conv", ["cat", "w", "b"], ["y"], pads=[1, 1, 1, 1]),  # no name
    ]
    height = 6 * len(sizes) if axis == 2 else 6
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, height, 6])]
    if second_reader:
        nodes.append(helper.make_node("Relu", ["cat"], ["r"]))
        outputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [2, 8, 6, 6]))
    graph = helper.make_graph(nodes, "g", inputs, outputs, [weight, bias])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], feeds)[0]


@pytest.mark.parametrize(
    ("sizes", "axis", "second_reader", "expected_splits", "expected_convs"),
    [
        ((4, 4), 1, False, 1, 2),
        ((2, 5, 3), 1, False, 1, 3),
        ((4, 4), 2, False, 0, 1),  # not over channels: left alone
        ((4, 4), 1, True, 0, 1),  # the concatenation is also read elsewhere: left alone
    ],
)
def test_split_concatenated_convolutions_keeps_the_function(
    sizes: tuple[int, ...],
    axis: int,
    second_reader: bool,
    expected_splits: int,
    expected_convs: int,
) -> None:
    original = _concat_conv_graph(sizes, axis, second_reader)
    rng = np.random.default_rng(1)
    feeds = {
        tensor.name: rng.random(
            [dim.dim_value for dim in tensor.type.tensor_type.shape.dim], dtype=np.float32
        )
        for tensor in original.graph.input
    }
    expected = _run(original, feeds)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(original)
    assert split_concatenated_convolutions(rewritten) == expected_splits
    onnx.checker.check_model(rewritten)
    ops = [node.op_type for node in rewritten.graph.node]
    assert ops.count("Conv") == expected_convs
    initializers = {tensor.name for tensor in rewritten.graph.initializer}
    assert "b" in initializers and ("w" in initializers) == (expected_splits == 0)
    np.testing.assert_allclose(_run(rewritten, feeds), expected, rtol=1e-5, atol=1e-5)


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
    result = runner.invoke(app, ["export", str(weights), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "max abs difference from PyTorch" in result.output
    assert (tmp_path / "m.onnx").is_file()

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    result = runner.invoke(app, ["export", str(junk), "--out", str(tmp_path / "j.onnx")])
    assert result.exit_code == 1
    assert str(junk) in result.output and "Traceback" not in result.output
    assert not (tmp_path / "j.onnx").exists()


def test_cli_needs_an_output(tmp_path: Path) -> None:
    weights = save_model(tmp_path / "m.safetensors", _tiny("grey-batchnorm"))
    result = runner.invoke(app, ["export", str(weights)])
    assert result.exit_code == 2


def test_the_former_onnx_option_still_writes_with_a_deprecation(tmp_path: Path) -> None:
    weights = save_model(tmp_path / "w.safetensors", _tiny("grey-batchnorm"))
    result = runner.invoke(app, ["export", str(weights), "--onnx", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "deprecated: --onnx is now --out" in result.output
    assert (tmp_path / "m.onnx").is_file()
