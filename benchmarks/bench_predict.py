"""Where the time of ``lvwall predict`` goes: milliseconds per frame for each pipeline stage.

Run: ``.venv/bin/python benchmarks/bench_predict.py [--model PATH | --preset fast]
[--backend onnx] [--threads 2] [--frames 100] [--int8]``.

Times each stage alone on the synthetic 636x422 echo video of ``lvwall benchmark`` (decode,
preprocessing, sector search, network, post-processing, overlay, writing the outputs), then
the whole pipeline, and compares with the targets for the small default model on a 2-core
CPU: 100 frames/s for the network and 50 frames/s end to end. ``--int8`` also times int8
copies of the ONNX model (onnxruntime.quantization) and their agreement with float32.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from lvwall.checkpoint import save_model
from lvwall.commands.benchmark import synthetic_echo_video
from lvwall.data.inputs import discover
from lvwall.data.preprocess import prepare_frame
from lvwall.data.sector import SECTOR_FRAMES, find_sector
from lvwall.infer import (
    WRITERS,
    PredictOptions,
    SegmentedFrame,
    load_segmentation_model,
    overlay,
    predict_sources,
)
from lvwall.model import DEFAULT_PRESET, PRESETS, build_model

TARGET_MODEL_FPS, TARGET_END_TO_END_FPS = 100.0, 50.0


def best_of(run: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of ``repeats`` runs: the least disturbed by other processes."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def compare_int8(model_path: Path, batch: np.ndarray, work: Path, repeats: int) -> None:
    """Speed and agreement (probability, Dice of masks) of int8-quantised copies of the ONNX
    model against float32: dynamic, and static (QDQ, per channel) calibrated on ``batch``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_dynamic,
        quantize_static,
    )

    from lvwall.export import export_checkpoint
    from lvwall.infer import OnnxPredictor

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"image": batch[i : i + 8]} for i in range(0, len(batch), 8)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    fp32 = work / "fp32.onnx"
    if model_path.suffix == ".onnx":
        fp32 = model_path
    else:
        export_checkpoint(model_path, fp32)
    prepared = work / "prepared.onnx"
    quant_pre_process(str(fp32), str(prepared))
    variants = {"float32": fp32, "int8 dynamic": work / "dyn.onnx", "int8 static": work / "st.onnx"}
    quantize_dynamic(str(prepared), str(variants["int8 dynamic"]), weight_type=QuantType.QInt8)
    quantize_static(
        str(prepared),
        str(variants["int8 static"]),
        Frames(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
    )
    reference = None
    for name, path in variants.items():
        predictor = OnnxPredictor(path)
        out = np.concatenate([predictor.predict(batch[i : i + 8]) for i in range(0, len(batch), 8)])
        reference = out if reference is None else reference
        seconds = best_of(lambda p=predictor: p.predict(batch[:8]), repeats)
        a, b = out >= 0.5, reference >= 0.5
        dice = 2 * (a & b).sum() / max(1, a.sum() + b.sum())
        print(
            f"  {name:14} {8 / seconds:7.1f} frames/s, max |p - p_float32| "
            f"{np.abs(out - reference).max():.4f}, mask Dice vs float32 {dice:.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model file (default: a random --preset)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS))
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--int8", action="store_true", help="also time int8-quantised ONNX")
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
            for frame, probability in zip(frames, probabilities, strict=True):
                original = cv2.resize(probability, (recording.width, recording.height))
                out.append(
                    SegmentedFrame(
                        frame,
                        probability,
                        (probability >= 0.5).astype(np.uint8),
                        (original >= 0.5).astype(np.uint8),
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
            "write (overlay + mp4 + npz + csv)": lambda: WRITERS["npz"](
                recording, iter(segmented), work / "stages"
            ),
        }
        print(f"{model.description}, {n} frames {recording.width}x{recording.height}")
        total = 0.0
        for name, run in stages.items():
            seconds = best_of(run, args.repeats)
            total += 0.0 if name == "overlay" else seconds  # already part of "write"
            print(f"  {name:36} {1000 * seconds / n:7.2f} ms/frame")
        end_to_end = best_of(
            lambda: predict_sources(discover([video]), model, options, work / "e2e"), args.repeats
        )
        network = stages[f"network (batch {args.batch_size})"]
        network_fps = n / best_of(network, args.repeats)
        print(f"  {'sum of stages':36} {1000 * total / n:7.2f} ms/frame")
        print(f"  {'end to end (predict_sources)':36} {1000 * end_to_end / n:7.2f} ms/frame")
        print(
            f"network {network_fps:.1f} frames/s (target {TARGET_MODEL_FPS:.0f}), end to end "
            f"{n / end_to_end:.1f} frames/s (target {TARGET_END_TO_END_FPS:.0f})"
        )
        if args.int8:
            print("int8 quantisation (ONNX Runtime, batch 8):")
            compare_int8(model_path, batch, work, args.repeats)


if __name__ == "__main__":
    main()
