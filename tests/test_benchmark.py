"""``lvwall benchmark``: its JSON report and its choice of backends (no speed targets: those
belong in benchmarks/bench_predict.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lvwall.benchmark import timing as benchmarking
from lvwall.cli import app
from lvwall.commands import benchmark
from lvwall.model import UNetConfig, build_model
from lvwall.model.checkpoint import save_model

runner = CliRunner()


def test_json_report(tmp_path: Path) -> None:
    model = save_model(tmp_path / "tiny.safetensors", build_model(UNetConfig(widths=(4, 8))))
    result = runner.invoke(
        app, ["benchmark", "--json", "--model", str(model), "--preset", "fast", "--backend",
              "onnx", "--repeats", "1", "--budget", "1", "--frames", "4"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["model"] for r in report["results"]] == ["tiny.safetensors", "fast (random weights)"]
    for row in report["results"]:
        assert row["backend"] == "onnx" and row["runs"] == 1
        assert row["model_fps_batch1"] > 0 and row["end_to_end_fps"] > 0
        # The quality step's cost is reported beside the pipeline without it, and measure's.
        assert row["end_to_end_fps_without_quality"] > 0 and row["measure_fps"] > 0
    assert report["machine"]["threads"] >= 1
    assert report["machine"]["cpu"] == benchmarking.cpu_name() != ""
    assert isinstance(report["machine"]["native_bf16"], bool)


@pytest.mark.parametrize(
    ("native", "expected", "note"),
    [(True, ["onnx", "torch", "torch-bf16"], False), (False, ["onnx", "torch"], True)],
)
def test_default_backends_time_bf16_only_where_it_is_native(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool, expected: list, note: bool
) -> None:
    monkeypatch.setattr(benchmark, "native_bf16", lambda: native)
    assert benchmark.default_backends() == expected
    model = save_model(tmp_path / "tiny.safetensors", build_model(UNetConfig(widths=(4, 8))))
    result = runner.invoke(
        app, ["benchmark", "--json", "--model", str(model), "--preset", "fast", "--repeats",
              "1", "--budget", "1", "--frames", "2"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["backend"] for r in report["results"]] == expected + expected
    assert ("torch-bf16 left out" in result.stderr) == note


def test_a_model_file_that_cannot_load_is_named_and_the_rest_still_timed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model")
    result = runner.invoke(
        app, ["benchmark", "--json", "--model", str(broken), "--preset", "fast", "--backend",
              "onnx", "--backend", "torch", "--repeats", "1", "--budget", "1", "--frames", "2"]
    )  # fmt: skip
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(failed) == 1 and failed[0].startswith("broken.safetensors: failed: is neither")
    assert "timing broken.safetensors on torch" not in result.stderr
    report = json.loads(result.stdout)
    assert [(r["model"], r["backend"]) for r in report["results"]] == [
        ("fast (random weights)", "onnx"),
        ("fast (random weights)", "torch"),
    ]


def test_an_onnx_model_is_timed_on_the_onnx_backend_only(tiny_model: dict[str, Path]) -> None:
    result = runner.invoke(
        app, ["benchmark", "--json", "--model", str(tiny_model["onnx"]), "--preset", "fast",
              "--backend", "onnx", "--backend", "torch", "--repeats", "1", "--budget", "1",
              "--frames", "2"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    name = tiny_model["onnx"].name
    assert f"{name} on torch left out: an ONNX model runs on the onnx backend only" in (
        result.stderr.replace("\n", " ")
    )
    report = json.loads(result.stdout)
    assert [(r["model"], r["backend"]) for r in report["results"]] == [
        (name, "onnx"),
        ("fast (random weights)", "onnx"),
        ("fast (random weights)", "torch"),
    ]


@pytest.mark.parametrize(
    "args", [["--backend", "tensorrt"], ["--preset", "huge"]], ids=["backend", "preset"]
)
def test_unknown_names_are_usage_errors(args: list[str]) -> None:
    result = runner.invoke(app, ["benchmark", "--frames", "2", *args])
    assert result.exit_code == 2
