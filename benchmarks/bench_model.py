"""Speed of every U-Net preset on this machine's CPU: parameters, MACs and frames per second.

Run: ``.venv/bin/python benchmarks/bench_model.py [--presets fast seed] [--threads 2]``.

Prints one row per preset, batch size and engine (torch eager, torch eager channels-last,
ONNX Runtime) with frames/s from the median and from the best of several timed runs after
warm-up, and ``cpu``: frames/s if the run's CPU time (all threads) were spread over
``--threads`` free cores. On a machine shared with other jobs the wall-clock figures drop with
the load; the CPU-time figure much less so (it is optimistic where threads wait on each other).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from lvwall.data.records import MODEL_SIZE
from lvwall.export import INPUT_NAME
from lvwall.model import PRESETS, UNet, build_model, count_parameters


@dataclass(frozen=True)
class Timing:
    """Wall-clock and process CPU seconds of each timed run."""

    wall: list[float]
    cpu: list[float]

    def row(self, batch: int, threads: int) -> str:
        median = batch / statistics.median(self.wall)
        best = batch / min(self.wall)
        cpu = batch * threads / statistics.median(self.cpu)
        return f"{median:>8.1f} {best:>8.1f} {cpu:>8.1f}"


def time_runs(run: Callable[[], object], repeats: int, budget_s: float) -> Timing:
    """Time ``run``: ``repeats`` runs, fewer (at least 3) when over ``budget_s``."""
    run()  # warm-up: allocator, kernel selection
    wall: list[float] = []
    cpu: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(wall) < repeats and (len(wall) < 3 or time.perf_counter() < deadline):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return Timing(wall, cpu)


def macs_per_frame(model: UNet, image: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(image[:1])
    return counter.get_total_flops() / 2


def torch_timing(
    model: UNet, image: torch.Tensor, channels_last: bool, repeats: int, budget_s: float
) -> Timing:
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    image = image.contiguous(memory_format=memory_format)
    with torch.inference_mode():
        timing = time_runs(lambda: model(image), repeats, budget_s)
    model.to(memory_format=torch.contiguous_format)
    return timing


def onnx_sessions(model: UNet, image: torch.Tensor, threads: int, folder: Path) -> dict:
    """ONNX Runtime sessions of the plain trace (``onnxrt``) and of the trace whose skip
    connections' convolutions lvwall export splits (``onnxrt-split``), as lvwall runs them."""
    import onnx
    import onnxruntime as ort

    from lvwall.export import split_concatenated_convolutions, trace_to_onnx

    plain, split = folder / "model.onnx", folder / "model-split.onnx"
    trace_to_onnx(model, image[:1], plain)
    graph = onnx.load(str(plain))
    split_concatenated_convolutions(graph)
    onnx.save(graph, str(split))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return {
        engine: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for engine, path in (("onnxrt", plain), ("onnxrt-split", split))
    }


def engine_timings(
    model: UNet, sessions: dict, image: torch.Tensor, repeats: int, budget_s: float
) -> Iterator[tuple[str, Timing]]:
    yield "eager", torch_timing(model, image, False, repeats, budget_s)
    yield "eager-cl", torch_timing(model, image, True, repeats, budget_s)
    feed = {INPUT_NAME: image.numpy().astype(np.float32)}
    for engine, session in sessions.items():
        yield engine, time_runs(lambda s=session: s.run(None, feed), repeats, budget_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=sorted(PRESETS), choices=sorted(PRESETS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--no-onnx", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, {MODEL_SIZE}x{MODEL_SIZE} input")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(
        f"{'preset':8} {'params':>10} {'GMAC/frame':>10} {'batch':>5} {'engine':>12} "
        f"{'median':>8} {'best':>8} {'cpu':>8}   (frames/s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets:
            model = build_model(name).eval()
            channels = model.config.in_channels
            probe = torch.rand(1, channels, MODEL_SIZE, MODEL_SIZE)
            gmacs = macs_per_frame(model, probe) / 1e9
            sessions = {} if args.no_onnx else onnx_sessions(model, probe, args.threads, Path(tmp))
            for batch in args.batches:
                image = torch.rand(batch, channels, MODEL_SIZE, MODEL_SIZE)
                for engine, timing in engine_timings(
                    model, sessions, image, args.repeats, args.budget
                ):
                    print(
                        f"{name:8} {count_parameters(model):>10,} {gmacs:>10.2f} {batch:>5} "
                        f"{engine:>12} {timing.row(batch, args.threads)}",
                        flush=True,
                    )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
