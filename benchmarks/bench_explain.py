"""Seconds per 224x224 frame of every saliency method, and of the other explanation tools.

Run: ``.venv/bin/python benchmarks/bench_explain.py [--presets fast seed] [--threads 2]``.
Prints one row per preset and tool: the median of a few runs after a warm-up, with the
default :class:`lvwall.explain.saliency.AttributionSettings` (SmoothGrad 16 samples,
Integrated Gradients 32 steps). Timing is independent of the weights, so freshly
initialised models stand in for trained ones; the explained region is a fixed wall-like band.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch

from lvwall.benchmark import time_runs
from lvwall.data import MODEL_SIZE
from lvwall.explain import METHODS, explain_frame, feature_maps, randomisation_test, summarise
from lvwall.model import PRESETS, build_model


def wall_band(size: int) -> np.ndarray:
    """An upside-down U, ten pixels thick, roughly where an A4C wall lies."""
    region = np.zeros((size, size), dtype=bool)
    top, bottom, left, right = size // 6, 5 * size // 6, size // 4, 3 * size // 4
    region[top:bottom, left : left + 10] = True
    region[top:bottom, right - 10 : right] = True
    region[top : top + 10, left:right] = True
    return region


def tools(model: torch.nn.Module, frame: np.ndarray) -> dict[str, Callable[[], object]]:
    """Each timed tool as a function of no arguments."""
    region = wall_band(frame.shape[0])
    runs: dict[str, Callable[[], object]] = {
        method: lambda method=method: explain_frame(model, frame, method, region=region)
        for method in METHODS
    }
    runs["feature maps"] = lambda: feature_maps(model, frame)
    runs["receptive-field summary"] = lambda: summarise(model, frame.shape[0])
    # threshold 0: every pixel is wall, so any weights give a region to explain.
    runs["sanity (vanilla, all)"] = lambda: randomisation_test(
        model, frame, "vanilla", threshold=0.0
    )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["fast", "seed"], choices=sorted(PRESETS))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frame = np.random.default_rng(0).random((MODEL_SIZE, MODEL_SIZE), dtype=np.float32)
    print(f"CPU threads: {args.threads}; median of {args.repeats} runs after a warm-up")
    print(f"{'preset':8} {'tool':24} {'seconds':>8}")
    for preset in args.presets:
        torch.manual_seed(0)
        model = build_model(preset).eval()
        for tool, run in tools(model, frame).items():
            repeats = 1 if tool.startswith("sanity") else args.repeats
            print(f"{preset:8} {tool:24} {time_runs(run, repeats).median:8.2f}", flush=True)


if __name__ == "__main__":
    main()
