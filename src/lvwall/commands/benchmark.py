"""``lvwall benchmark``: how fast segmentation runs on this machine, model-only and end to end."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import numpy as np

    from lvwall.infer import SegmentationModel

#: The synthetic recording timed end to end: HMC-QU's smallest frame size, 100 frames.
VIDEO_FRAMES, VIDEO_HEIGHT, VIDEO_WIDTH, VIDEO_FPS = 100, 422, 636, 50.0
#: Batch size of the batched model-only measurement and of the end-to-end pipeline.
BATCH_SIZE = 8
#: Frames per timed model-only run (16 calls at batch 1, 2 at batch 8): one 10 ms call alone
#: is too short to time steadily on a shared machine.
MODEL_ONLY_FRAMES = 16


@dataclass(frozen=True)
class Measurement:
    """Median frames per second of one model on one backend."""

    model: str
    backend: str
    model_fps_batch1: float
    model_fps_batched: float
    end_to_end_fps: float
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
    threads: int | None = typer.Option(None, min=1, help="CPU threads (default: all cores)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Frames per second, model-only (batch 1 and 8) and end to end on a synthetic
    636x422 video (decode, preprocess, network, post-process, write).

    Times the bundled (or --model) model and each --preset with random weights (speed does
    not depend on the weights), on each backend; every figure is a median of --repeats runs.
    """
    import json
    import tempfile

    from rich.console import Console

    from lvwall.infer import BACKENDS

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
        results = []
        for label, path in candidates:
            for backend in backends:
                console.print(f"timing {label} on {backend} ...", highlight=False)
                measured = _measure(label, path, backend, video, work, repeats, budget, threads)
                if measured is not None:
                    results.append(measured)
    if json_output:
        typer.echo(
            json.dumps(
                {"machine": _machine(threads), "results": [asdict(r) for r in results]}, indent=2
            )
        )
    else:
        _print_table(results, _machine(threads))


def default_backends() -> list[str]:
    """ONNX Runtime and PyTorch, and PyTorch in bfloat16 where it runs natively."""
    return ["onnx", "torch", *(["torch-bf16"] if native_bf16() else [])]


def native_bf16() -> bool:
    """Whether PyTorch computes in bfloat16 natively here: on a CUDA GPU, or on a CPU with
    AVX512-BF16 or AMX (elsewhere the CPU emulates it, about ten times slower than float32)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), else what the platform says."""
    import platform

    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def synthetic_echo_video(
    path: Path,
    n_frames: int = VIDEO_FRAMES,
    height: int = VIDEO_HEIGHT,
    width: int = VIDEO_WIDTH,
) -> Path:
    """An A4C-like test video: a speckled fan, a beating wall ring, text and an ECG outside."""
    import cv2
    import numpy as np

    from lvwall.data.video import write_video

    rng = np.random.default_rng(0)
    fan = np.zeros((height, width), np.uint8)
    radius = int(height * 0.92)
    cv2.ellipse(fan, (width // 2, 10), (radius, radius), 90, -38, 38, 1, thickness=-1)
    speckle = [rng.rayleigh(60.0, (height, width)).clip(0, 255).astype(np.uint8) for _ in range(4)]

    def frames() -> Iterator[np.ndarray]:
        for index in range(n_frames):
            grey = speckle[index % len(speckle)] * fan
            beat = 1.0 + 0.08 * np.sin(2 * np.pi * index / 30)
            axes = (int(width * 0.12 * beat), int(height * 0.3 * beat))
            cv2.ellipse(grey, (width // 2, height // 2), axes, 0, 200, 520, 200, 10)
            frame = np.repeat(grey[:, :, None], 3, axis=2)
            cv2.putText(frame, "75 HR", (width - 60, height - 10), 0, 0.5, (255, 255, 0), 1)
            x = np.arange(20, 260)
            ecg = height - 30 - (8 * np.sin((x + 4 * index) / 6.0) ** 8).astype(int)
            cv2.polylines(frame, [np.stack([x, ecg], 1).astype(np.int32)], False, (0, 255, 0))
            yield frame

    return write_video(path, frames(), fps=VIDEO_FPS)


def _candidates(model: Path | None, presets: list[str], work: Path) -> list[tuple[str, Path]]:
    """(label, model file) pairs: the chosen or bundled model, then random-weight presets."""
    from lvwall.bundled import default_model_paths
    from lvwall.checkpoint import save_model
    from lvwall.errors import ModelError
    from lvwall.model import DEFAULT_PRESET, PRESETS, build_model

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
) -> Measurement | None:
    import numpy as np

    from lvwall.data.inputs import discover
    from lvwall.errors import ModelError
    from lvwall.infer import load_segmentation_model

    try:
        model = load_segmentation_model(path, backend, threads=threads)
    except ModelError:
        return None  # an ONNX file cannot run on the PyTorch backends
    size = model.image_size
    n_frames = discover([video])[0].open().n_frames or VIDEO_FRAMES
    rng = np.random.default_rng(0)
    one = rng.random((1, 1, size, size), dtype=np.float32)
    batch = rng.random((BATCH_SIZE, 1, size, size), dtype=np.float32)
    batch1, _ = median_seconds(lambda: _predict_frames(model, one), repeats, budget)
    batched, _ = median_seconds(lambda: _predict_frames(model, batch), repeats, budget)
    end_to_end, runs = median_seconds(
        lambda: _predict_video(model, video, work / "out"), repeats, budget
    )
    return Measurement(
        model=label,
        backend=backend,
        model_fps_batch1=MODEL_ONLY_FRAMES / batch1,
        model_fps_batched=MODEL_ONLY_FRAMES / batched,
        end_to_end_fps=n_frames / end_to_end,
        runs=runs,
    )


def _predict_frames(model: SegmentationModel, batch: np.ndarray) -> None:
    """Run the network on :data:`MODEL_ONLY_FRAMES` frames, ``len(batch)`` at a time."""
    for _ in range(MODEL_ONLY_FRAMES // len(batch)):
        model.predictor.predict(batch)


def _predict_video(model: SegmentationModel, video: Path, out: Path) -> None:
    from lvwall.data.inputs import discover
    from lvwall.infer import PredictOptions, predict_sources

    (outcome,) = predict_sources(
        discover([video]), model, PredictOptions(batch_size=BATCH_SIZE), out
    )
    if not outcome.ok:
        raise RuntimeError(f"the benchmark video failed: {outcome.error}")


def median_seconds(run: Callable[[], object], repeats: int, budget: float) -> tuple[float, int]:
    """Median wall time of ``run`` over ``repeats`` runs after one warm-up run; fewer runs
    (at least one) when they exceed ``budget`` seconds. Returns (median, runs)."""
    run()
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < repeats and (not times or time.perf_counter() < deadline):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times)


def _machine(threads: int | None) -> dict[str, object]:
    import os

    import onnxruntime
    import torch

    from lvwall.infer import default_threads

    return {
        "cpu": cpu_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16(),
        "cores_available": default_threads(),
        "threads": threads or default_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _print_table(results: list[Measurement], machine: dict[str, object]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lvwall benchmark (frames per second, median)")
    for column in ("model", "backend"):
        table.add_column(column)
    for column in ("model b=1", f"model b={BATCH_SIZE}", "end to end", "runs"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.model,
            r.backend,
            f"{r.model_fps_batch1:.1f}",
            f"{r.model_fps_batched:.1f}",
            f"{r.end_to_end_fps:.1f}",
            str(r.runs),
        )
    console = Console()
    console.print(table)
    console.print(", ".join(f"{key} {value}" for key, value in machine.items()), highlight=False)
