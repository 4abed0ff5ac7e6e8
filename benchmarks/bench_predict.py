"""Where the time of ``lvwall predict`` goes: milliseconds per frame for each pipeline stage.

Run: ``.venv/bin/python benchmarks/bench_predict.py [--model PATH | --preset fast]
[--backend onnx] [--threads 2] [--frames 100]``.

Times each stage alone on the synthetic 636x422 echo video of ``lvwall benchmark`` (decode,
preprocessing, sector search, network, post-processing, overlay, writing the outputs), then
the whole pipeline, and compares with the targets for the small default model on a 2-core
CPU: 100 frames/s for the network and 50 frames/s end to end.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from lvwall.benchmark import synthetic_echo_video, time_runs
from lvwall.data import SECTOR_FRAMES, discover, find_sector, prepare_frame
from lvwall.infer import (
    OUTPUT_WRITERS,
    PredictOptions,
    SegmentedFrame,
    load_segmentation_model,
    overlay,
    predict_sources,
)
from lvwall.model import DEFAULT_PRESET, PRESETS, build_model, save_model

TARGET_MODEL_FPS, TARGET_END_TO_END_FPS = 100.0, 50.0


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of ``repeats`` runs: the least disturbed by other processes."""
    return time_runs(run, repeats, warmup=0).best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model file (default: a random --preset)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        model_path = args.model or save_model(work / "m.safetensors", build_model(args.preset))
        model = load_segmentation_model(model_path, args.backend, threads=args.threads)
        video = synthetic_echo_video(work / "echo.avi", n_frames=args.frames)
        recording = discover([video])[0].open()
        n = args.frames
        frames = list(recording.frames())
        greys = [prepare_frame(frame, model.image_size) for frame in frames]
        sector = find_sector(np.stack(greys[:SECTOR_FRAMES]))
        batch = sector.apply(np.stack(greys))[:, None]
        probabilities = np.concatenate(
            [
                model.predictor.predict(batch[i : i + args.batch_size])
                for i in range(0, n, args.batch_size)
            ]
        )[:, 0]

        def post_process() -> list[SegmentedFrame]:
            out = []
            for frame, grey, probability in zip(frames, greys, probabilities, strict=True):
                original = cv2.resize(probability, (recording.width, recording.height))
                out.append(
                    SegmentedFrame(
                        frame,
                        probability,
                        (probability >= model.threshold).astype(np.uint8),
                        (original >= model.threshold).astype(np.uint8),
                        grey,
                    )
                )
            return out

        segmented = post_process()
        options = PredictOptions(batch_size=args.batch_size)
        stages = {
            "decode": lambda: list(recording.frames()),
            "preprocess (prepare_frame)": lambda: [
                prepare_frame(frame, model.image_size) for frame in frames
            ],
            "sector (once per recording)": lambda: find_sector(np.stack(greys[:SECTOR_FRAMES])),
            "sector apply": lambda: sector.apply(np.stack(greys)),
            f"network (batch {args.batch_size})": lambda: [
                model.predictor.predict(batch[i : i + args.batch_size])
                for i in range(0, n, args.batch_size)
            ],
            "post-process (resize, threshold)": post_process,
            "overlay": lambda: [overlay(f.image, f.mask_original) for f in segmented],
            "write (overlay + mp4 + npz + csv)": lambda: OUTPUT_WRITERS["npz"](
                recording, iter(segmented), work / "stages"
            ),
        }
        print(f"{model.description}, {n} frames {recording.width}x{recording.height}")
        total = 0.0
        for name, run in stages.items():
            seconds = best_seconds(run, args.repeats)
            total += 0.0 if name == "overlay" else seconds  # already part of "write"
            print(f"  {name:36} {1000 * seconds / n:7.2f} ms/frame")
        end_to_end = best_seconds(
            lambda: predict_sources(discover([video]), model, options, work / "e2e"), args.repeats
        )
        network = stages[f"network (batch {args.batch_size})"]
        network_fps = n / best_seconds(network, args.repeats)
        print(f"  {'sum of stages':36} {1000 * total / n:7.2f} ms/frame")
        print(f"  {'end to end (predict_sources)':36} {1000 * end_to_end / n:7.2f} ms/frame")
        print(
            f"network {network_fps:.1f} frames/s (target {TARGET_MODEL_FPS:.0f}), end to end "
            f"{n / end_to_end:.1f} frames/s (target {TARGET_END_TO_END_FPS:.0f})"
        )


if __name__ == "__main__":
    main()
