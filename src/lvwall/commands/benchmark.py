"""``lvwall benchmark``: how fast segmentation runs on this machine, model-only and end to end."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from lvwall.benchmark import (
    VIDEO_FRAMES,
    machine_facts,
    measure_video,
    median_seconds,
    native_bf16,
    predict_video,
    synthetic_echo_video,
)
from lvwall.commands._options import threads_option
from lvwall.data import discover
from lvwall.errors import ModelError, problem_with
from lvwall.infer import (
    BACKENDS,
    PredictOptions,
    SegmentationModel,
    load_segmentation_model,
    runs_on,
)
from lvwall.model import DEFAULT_PRESET, PRESETS, build_model, default_model_paths, save_model

#: Batch size of the batched model-only measurement and of the end-to-end pipeline.
BATCH_SIZE = 8
#: Frames per timed model-only run (16 calls at batch 1, 2 at batch 8): one 10 ms call alone
#: is too short to time steadily on a shared machine.
MODEL_ONLY_FRAMES = 16


@dataclass(frozen=True)
class Measurement:
    """Median frames per second of one model on one backend: the network alone, ``lvwall
    predict`` end to end with quality control (its default) and without, and ``lvwall
    measure`` (segmentation with probability maps kept, then volumes, EF and strain with
    their intervals)."""

    model: str
    backend: str
    model_fps_batch1: float
    model_fps_batched: float
    end_to_end_fps: float
    end_to_end_fps_without_quality: float
    measure_fps: float
    runs: int


def command(
    model: Path | None = typer.Option(
        None, "--model", "-m", help="Model to time (default: the bundled model, if installed)."
    ),
    presets: list[str] = typer.Option(
        ["seed"], "--preset", help="U-Net presets to time with random weights; repeatable."
    ),
    backends: list[str] | None = typer.Option(
        None,
        "--backend",
        help="Backends to time; repeatable (default: onnx and torch, and torch-bf16 where "
        "the processor computes in bfloat16 natively).",
    ),
    repeats: int = typer.Option(5, min=1, help="Timed runs per measurement (the median counts)."),
    budget: float = typer.Option(
        20.0, min=1.0, help="Seconds per measurement after which fewer runs are taken."
    ),
    frames: int = typer.Option(
        VIDEO_FRAMES, min=1, help="Frames of the synthetic video timed end to end."
    ),
    threads: int | None = threads_option(),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Frames per second, model-only (batch 1 and 8), end to end on a synthetic 636x422
    video (decode, preprocess, network, post-process, quality control, write; and without
    quality control), and of `lvwall measure` on the same video.

    Times the bundled (or --model) model and each --preset with random weights (speed does
    not depend on the weights), on each backend; every figure is a median of --repeats runs.
    """

    console = Console(stderr=True)
    if backends is None:
        backends = default_backends()
        if "torch-bf16" not in backends:
            console.print(
                "torch-bf16 left out: this processor has no native bfloat16 (AVX512-BF16 or "
                "AMX), where it runs ten times slower than float32; pass --backend torch-bf16 "
                "to time it anyway",
                highlight=False,
            )
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise typer.BadParameter(f"unknown backend(s) {unknown}; choose from {sorted(BACKENDS)}")
    with tempfile.TemporaryDirectory(prefix="lvwall-benchmark-") as folder:
        work = Path(folder)
        video = synthetic_echo_video(work / "echo.avi", n_frames=frames)
        candidates = _candidates(model, presets, work)
        results, failed = [], []
        for label, path in candidates:
            for backend in backends:
                if not runs_on(path, backend):
                    console.print(
                        f"{label} on {backend} left out: an ONNX model runs on the onnx "
                        "backend only",
                        highlight=False,
                    )
                    continue
                console.print(f"timing {label} on {backend} ...", highlight=False)
                try:
                    results.append(
                        _measure(label, path, backend, video, work, repeats, budget, threads)
                    )
                except ModelError as error:
                    # A file that cannot be loaded fails on every backend alike.
                    console.print(f"{label}: failed: {problem_with(error, path)}", highlight=False)
                    failed.append(label)
                    break
    if json_output:
        typer.echo(
            json.dumps(
                {"machine": machine_facts(threads), "results": [asdict(r) for r in results]},
                indent=2,
            )
        )
    else:
        _print_table(results, machine_facts(threads))
    if failed:
        raise typer.Exit(1)


def default_backends() -> list[str]:
    """ONNX Runtime and PyTorch, and PyTorch in bfloat16 where it runs natively."""

    return ["onnx", "torch", *(["torch-bf16"] if native_bf16() else [])]


def _candidates(model: Path | None, presets: list[str], work: Path) -> list[tuple[str, Path]]:
    """(label, model file) pairs: the chosen or bundled model, then random-weight presets."""

    candidates: list[tuple[str, Path]] = []
    if model is not None:
        candidates.append((model.name, model))
    else:
        try:
            candidates.append(("bundled", default_model_paths().weights))
        except ModelError:
            presets = [DEFAULT_PRESET, *presets]
    for name in dict.fromkeys(presets):
        if name not in PRESETS:
            raise typer.BadParameter(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        path = work / f"{name}.safetensors"
        save_model(path, build_model(name))
        candidates.append((f"{name} (random weights)", path))
    return candidates


def _measure(
    label: str,
    path: Path,
    backend: str,
    video: Path,
    work: Path,
    repeats: int,
    budget: float,
    threads: int | None,
) -> Measurement:
    """Time the model file ``path`` on ``backend``; :class:`ModelError` where it cannot be
    loaded."""
    model = load_segmentation_model(path, backend, threads=threads)
    size = model.image_size
    n_frames = discover([video])[0].open().n_frames or VIDEO_FRAMES
    rng = np.random.default_rng(0)
    one = rng.random((1, 1, size, size), dtype=np.float32)
    batch = rng.random((BATCH_SIZE, 1, size, size), dtype=np.float32)
    batch1, _ = median_seconds(lambda: _predict_frames(model, one), repeats, budget)
    batched, _ = median_seconds(lambda: _predict_frames(model, batch), repeats, budget)
    with_quality = PredictOptions(batch_size=BATCH_SIZE)
    without_quality = PredictOptions(batch_size=BATCH_SIZE, quality=False)
    end_to_end, runs = median_seconds(
        lambda: predict_video(model, video, work / "out", with_quality), repeats, budget
    )
    unchecked, _ = median_seconds(
        lambda: predict_video(model, video, work / "unchecked", without_quality), repeats, budget
    )
    measured, _ = median_seconds(lambda: measure_video(model, video), repeats, budget)
    return Measurement(
        model=label,
        backend=backend,
        model_fps_batch1=MODEL_ONLY_FRAMES / batch1,
        model_fps_batched=MODEL_ONLY_FRAMES / batched,
        end_to_end_fps=n_frames / end_to_end,
        end_to_end_fps_without_quality=n_frames / unchecked,
        measure_fps=n_frames / measured,
        runs=runs,
    )


def _predict_frames(model: SegmentationModel, batch: np.ndarray) -> None:
    """Run the network on :data:`MODEL_ONLY_FRAMES` frames, ``len(batch)`` at a time."""
    for _ in range(MODEL_ONLY_FRAMES // len(batch)):
        model.predictor.predict(batch)


def _print_table(results: list[Measurement], machine: dict[str, object]) -> None:
    table = Table(title="lvwall benchmark (frames per second, median)")
    for column in ("model", "backend"):
        table.add_column(column)
    columns = ("model b=1", f"model b={BATCH_SIZE}", "end to end", "without QC", "measure")
    for column in (*columns, "runs"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.model,
            r.backend,
            f"{r.model_fps_batch1:.1f}",
            f"{r.model_fps_batched:.1f}",
            f"{r.end_to_end_fps:.1f}",
            f"{r.end_to_end_fps_without_quality:.1f}",
            f"{r.measure_fps:.1f}",
            str(r.runs),
        )
    console = Console()
    console.print(table)
    console.print(", ".join(f"{key} {value}" for key, value in machine.items()), highlight=False)
