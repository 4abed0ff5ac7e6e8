"""What every speed measurement shares: timing runs, the synthetic benchmark video, and the
facts about the machine that belong beside any figure (``lvwall benchmark`` and the scripts
under ``benchmarks/`` use these, so that they time alike).

Machines are noisy: time several runs after a warm-up, report medians, and compare figures
measured side by side in one run.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lvwall.threads import available_cores, cpu_threads

if TYPE_CHECKING:
    import numpy as np

    from lvwall.infer import PredictOptions, SegmentationModel

#: The synthetic recording timed end to end: HMC-QU's smallest frame size, 100 frames.
VIDEO_FRAMES, VIDEO_HEIGHT, VIDEO_WIDTH, VIDEO_FPS = 100, 422, 636, 50.0


@dataclass(frozen=True)
class Timing:
    """Wall-clock and process CPU seconds of each timed run."""

    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        """Median wall-clock seconds of a run."""
        return statistics.median(self.wall)

    @property
    def best(self) -> float:
        """Shortest wall-clock seconds of a run: the least disturbed by other processes."""
        return min(self.wall)

    @property
    def cpu_median(self) -> float:
        """Median CPU seconds of a run, summed over its threads."""
        return statistics.median(self.cpu)

    @property
    def runs(self) -> int:
        return len(self.wall)


def time_runs(
    run: Callable[[], object],
    repeats: int,
    budget: float = float("inf"),
    *,
    warmup: int = 1,
    min_runs: int = 1,
) -> Timing:
    """Time ``repeats`` runs of ``run`` after ``warmup`` untimed ones (allocators, kernel
    choice); stop early, after at least ``min_runs``, once ``budget`` seconds have passed."""
    if repeats < 1 or min_runs < 1:
        raise ValueError(f"repeats and min_runs must be at least 1, got {repeats}, {min_runs}")
    for _ in range(warmup):
        run()
    wall: list[float] = []
    cpu: list[float] = []
    deadline = time.perf_counter() + budget
    while len(wall) < repeats and (len(wall) < min_runs or time.perf_counter() < deadline):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return Timing(wall, cpu)


def median_seconds(
    run: Callable[[], object], repeats: int, budget: float = float("inf")
) -> tuple[float, int]:
    """Median wall time of ``run`` (:func:`time_runs`) and the number of timed runs."""
    timing = time_runs(run, repeats, budget)
    return timing.median, timing.runs


def synthetic_echo_video(
    path: Path,
    n_frames: int = VIDEO_FRAMES,
    height: int = VIDEO_HEIGHT,
    width: int = VIDEO_WIDTH,
) -> Path:
    """An A4C-like test video: a speckled fan, a beating wall ring, text and an ECG outside."""
    import cv2
    import numpy as np

    from lvwall.data import write_video

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


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), else what the platform says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def native_bf16() -> bool:
    """Whether PyTorch computes in bfloat16 natively here: on a CUDA GPU, or on a CPU with
    AVX512-BF16 or AMX (elsewhere the CPU emulates it, about ten times slower than float32)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def machine_facts(threads: int | None = None) -> dict[str, Any]:
    """The processor, cores, load and library versions that belong beside a figure."""
    import onnxruntime
    import torch

    return {
        "cpu": cpu_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16(),
        "cores_available": available_cores(),
        "threads": cpu_threads(threads),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def predict_video(
    model: SegmentationModel, video: Path, out_dir: Path, options: PredictOptions
) -> int:
    """``lvwall predict`` on one video end to end (decode, network, write); its frame count.

    Raises :class:`RuntimeError` if the video fails: a benchmark must not time an error.
    """
    from lvwall.data import discover
    from lvwall.infer import predict_sources

    (outcome,) = predict_sources(discover([video]), model, options, out_dir)
    if not outcome.ok:
        raise RuntimeError(f"the benchmark video failed: {outcome.error}")
    return outcome.n_frames


def measure_video(model: SegmentationModel, video: Path) -> int:
    """``lvwall measure`` on one video without writing: segmented (probability maps and
    quality kept), then volumes, EF and strain with their intervals; its frame count."""
    from lvwall.data import discover
    from lvwall.infer import segment_recording
    from lvwall.measure import measure_segmented

    (source,) = discover([video])
    recording = segment_recording(source, model)
    measure_segmented(recording)
    return len(recording.masks)
