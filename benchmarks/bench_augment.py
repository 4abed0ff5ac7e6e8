"""Speed of the echo augmentations and of FrameDataset items at model size on this CPU.

Run: ``.venv/bin/python benchmarks/bench_augment.py [--size 224] [--samples 500]``.
Prints milliseconds per sample for each policy in ``AUGMENTATIONS`` (OpenCV on one thread,
as in one DataLoader worker), alone and as a full ``FrameDataset`` item (plus tensors).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import cv2
import numpy as np

from lvwall.benchmark import time_runs
from lvwall.data import AUGMENTATIONS, FrameDataset, LabelledRecording, build_augment


def ms_per_call(call: Callable[[], object], samples: int) -> float:
    """Median over ``samples`` calls after ten warm-up calls."""
    return time_runs(call, samples, warmup=10).median * 1e3


def time_policy(name: str, recording: LabelledRecording, samples: int) -> tuple[float, float]:
    """(augmentation alone, whole dataset item) in ms per sample."""
    augment = build_augment(name)
    image, mask = recording.frames[0], recording.masks[0]
    rng = np.random.default_rng(0)
    alone = 0.0 if augment is None else ms_per_call(lambda: augment(image, mask, rng), samples)
    dataset = FrameDataset([recording], augment)
    return alone, ms_per_call(lambda: dataset[0], samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    image = np.random.default_rng(0).uniform(0.0, 1.0, (1, args.size, args.size))
    image = image.astype(np.float32)
    recording = LabelledRecording("bench", "bench", image, (image > 0.8).astype(np.uint8))
    print(f"{args.size}x{args.size}, median ms per sample")
    print(f"{'policy':<8} {'augment':>9} {'item':>9}")
    for name in AUGMENTATIONS:
        alone, item = time_policy(name, recording, args.samples)
        print(f"{name:<8} {alone:>9.3f} {item:>9.3f}")


if __name__ == "__main__":
    main()
