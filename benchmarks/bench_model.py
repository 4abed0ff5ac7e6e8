"""Speed of every U-Net preset on this machine's CPU: parameters, MACs and frames per second.

Run: ``.venv/bin/python benchmarks/bench_model.py [--presets fast seed] [--threads 2]``.

Prints one row per preset, batch size and engine (torch eager, torch eager channels-last,
ONNX Runtime on the export of ``lvwall export``) with frames/s from the median and from the
best of several timed runs after warm-up, and ``cpu``: frames/s if the run's CPU time (all
threads) were spread over ``--threads`` free cores. On a machine shared with other jobs the
wall-clock figures drop with the load; the CPU-time figure much less so (it is optimistic
where threads wait on each other).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from lvwall.benchmark import Timing, time_runs
from lvwall.data import MODEL_SIZE
from lvwall.infer import OnnxPredictor
from lvwall.model import PRESETS, UNet, build_model, count_parameters, export_onnx


def rates(timing: Timing, batch: int, threads: int) -> str:
    """Frames/s from the median and the best run, and from the median CPU time spread over
    ``threads`` free cores."""
    median, best = batch / timing.median, batch / timing.best
    cpu = batch * threads / timing.cpu_median
    return f"{median:>8.1f} {best:>8.1f} {cpu:>8.1f}"


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
        timing = time_runs(lambda: model(image), repeats, budget_s, min_runs=3)
    model.to(memory_format=torch.contiguous_format)
    return timing


def onnx_predictor(model: UNet, threads: int, folder: Path) -> OnnxPredictor:
    """The model exported as ``lvwall export`` writes it, in ONNX Runtime as lvwall runs it."""
    path = folder / "model.onnx"
    export_onnx(model, path)
    return OnnxPredictor(path, threads)


def engine_timings(
    model: UNet,
    onnx: OnnxPredictor | None,
    image: torch.Tensor,
    repeats: int,
    budget_s: float,
) -> Iterator[tuple[str, Timing]]:
    yield "eager", torch_timing(model, image, False, repeats, budget_s)
    yield "eager-cl", torch_timing(model, image, True, repeats, budget_s)
    if onnx is not None:
        frames = image.numpy().astype(np.float32)
        yield "onnxrt", time_runs(lambda: onnx.predict(frames), repeats, budget_s, min_runs=3)


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
            # Grey frames, as lvwall feeds every preset (a 3-channel model repeats them).
            probe = torch.rand(1, 1, MODEL_SIZE, MODEL_SIZE)
            gmacs = macs_per_frame(model, probe) / 1e9
            onnx = None if args.no_onnx else onnx_predictor(model, args.threads, Path(tmp))
            for batch in args.batches:
                image = torch.rand(batch, 1, MODEL_SIZE, MODEL_SIZE)
                for engine, timing in engine_timings(model, onnx, image, args.repeats, args.budget):
                    print(
                        f"{name:8} {count_parameters(model):>10,} {gmacs:>10.2f} {batch:>5} "
                        f"{engine:>12} {rates(timing, batch, args.threads)}",
                        flush=True,
                    )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
