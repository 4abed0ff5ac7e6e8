"""``lvwall benchmark``: its timing rule, its test video and its JSON report (no speed targets:
those belong in benchmarks/bench_predict.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lvwall.checkpoint import save_model
from lvwall.cli import app
from lvwall.commands import benchmark
from lvwall.commands.benchmark import median_seconds, synthetic_echo_video
from lvwall.data.inputs import discover
from lvwall.data.sector import find_sector
from lvwall.model import UNetConfig, build_model

runner = CliRunner()


@pytest.mark.parametrize(
    ("durations", "repeats", "budget", "expected_median", "expected_runs"),
    [
        ([9.0, 3.0, 1.0, 2.0], 3, 10.0, 2.0, 3),  # the warm-up run does not count
        ([9.0, 3.0, 1.0, 2.0, 4.0], 4, 3.5, 2.0, 2),  # stops once past the budget
        ([9.0, 30.0, 30.0], 2, 1.0, 30.0, 1),  # one run at least, however slow
    ],
)
def test_median_seconds(
    monkeypatch: pytest.MonkeyPatch,
    durations: list[float],
    repeats: int,
    budget: float,
    expected_median: float,
    expected_runs: int,
) -> None:
    clock = [0.0]
    pending = iter(durations)
    monkeypatch.setattr(benchmark.time, "perf_counter", lambda: clock[0])

    def run() -> None:
        clock[0] += next(pending)

    assert median_seconds(run, repeats, budget) == (expected_median, expected_runs)


def test_synthetic_video_looks_like_an_a4c_recording(tmp_path: Path) -> None:
    video = synthetic_echo_video(tmp_path / "echo.avi", n_frames=6, height=120, width=180)
    recording = discover([video])[0].open()
    assert (recording.n_frames, recording.height, recording.width) == (6, 120, 180)
    frames = list(recording.frames())
    sector = find_sector(np.stack([f.mean(axis=2) for f in frames]))
    assert sector.found and 0.3 < sector.fraction < 0.8


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
    assert report["machine"]["threads"] >= 1
    assert report["machine"]["cpu"] == benchmark.cpu_name() != ""
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
