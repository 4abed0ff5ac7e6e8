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


@pytest.mark.parametrize(
    "args", [["--backend", "tensorrt"], ["--preset", "huge"]], ids=["backend", "preset"]
)
def test_unknown_names_are_usage_errors(args: list[str]) -> None:
    result = runner.invoke(app, ["benchmark", "--frames", "2", *args])
    assert result.exit_code == 2
