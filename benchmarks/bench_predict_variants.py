"""End-to-end frames/s of ``lvwall predict``'s pipeline variants, side by side in one process.

Run: ``.venv/bin/python benchmarks/bench_predict_variants.py [--rounds 8] [--threads 2]``.

Times the bundled model on the synthetic 636x422 video of ``lvwall benchmark`` (100 frames,
batches of 8, masks + CSV + MP4 overlay written) in four variants, run in turn in each round
so that machine noise hits all alike: the ONNX graph as PyTorch traces it, or as ``lvwall
export`` writes it (skip-connection convolutions split, see
:func:`lvwall.export.split_concatenated_convolutions`); segmentation in the writing thread,
or in its own thread as ``predict_sources`` runs it. Prints medians and ratios to the first.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

import lvwall.infer as infer
from lvwall.bundled import default_model_paths
from lvwall.checkpoint import load_model
from lvwall.commands.benchmark import VIDEO_FRAMES, _predict_video, synthetic_echo_video
from lvwall.export import trace_to_onnx
from lvwall.infer import OnnxPredictor, SegmentationModel, load_segmentation_model

SEGMENT_THREAD = "lvwall-segment"


def traced_model(folder: Path, threads: int) -> SegmentationModel:
    """The bundled model as ``torch.onnx.export`` alone writes it (skip concatenations kept)."""
    network, meta = load_model(default_model_paths().weights)
    wrapped = torch.nn.Sequential(network, torch.nn.Sigmoid()).eval()
    size = int(meta["image_size"])
    path = folder / "traced.onnx"
    trace_to_onnx(wrapped, torch.rand(1, 1, size, size), path)
    return SegmentationModel(OnnxPredictor(path, threads), float(meta["threshold"]), size, "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    with_thread = infer._prefetched

    def without_thread(items: Iterator, depth: int, name: str) -> Iterator:
        # The pipeline as it was before segmentation got its own thread.
        return items if name == SEGMENT_THREAD else with_thread(items, depth, name)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = synthetic_echo_video(folder / "echo.avi")
        traced = traced_model(folder, args.threads)
        split = load_segmentation_model(None, "onnx", threads=args.threads)
        variants = {
            "traced graph, one thread": (traced, without_thread),
            "traced graph, segment thread": (traced, with_thread),
            "split graph, one thread": (split, without_thread),
            "split graph, segment thread (lvwall)": (split, with_thread),
        }
        fps: dict[str, list[float]] = {name: [] for name in variants}
        for round_index in range(args.rounds + 1):
            for name, (model, prefetched) in variants.items():
                infer._prefetched = prefetched
                start = time.perf_counter()
                _predict_video(model, video, folder / "out")
                if round_index > 0:  # round 0 warms up
                    fps[name].append(VIDEO_FRAMES / (time.perf_counter() - start))
        infer._prefetched = with_thread
    base = statistics.median(fps[next(iter(fps))])
    print(f"end-to-end frames/s, median of {args.rounds} rounds, {args.threads} threads")
    for name, values in fps.items():
        median = statistics.median(values)
        print(f"{name:38} {median:6.1f}  x{median / base:.3f}")


if __name__ == "__main__":
    main()
