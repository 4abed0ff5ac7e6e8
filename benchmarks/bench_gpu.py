"""Training and inference speed on one CUDA GPU: the study-size U-Net and the bundled model.

Run (on a machine with a CUDA GPU): ``python benchmarks/bench_gpu.py [--batch-size 32]
[--steps 60] [--warmup 15] [--repeats 3] [--json FILE]``.

Training runs lvwall's own path: :class:`lvwall.train.SegmentationModule` with the ``seed``
preset (the study's U-Net, 64-128-256, 3.0 M parameters) in a Lightning Trainer on one GPU
with cuDNN autotuning and TF32 matrix multiplies, as ``lvwall train`` sets them; Dice loss,
AdamW, one-cycle schedule, 224x224 frames. Four settings, precision 32 or bf16-mixed times
contiguous or channels-last memory, are fed ready-made batches of random frames from pinned
host memory, so they time the GPU and not the data loader; a fifth, bf16-mixed and
channels-last (``lvwall train``'s defaults on a GPU), is fed by lvwall's DataLoader with the
"echo" augmentation and 8 worker processes, as ``lvwall train`` feeds it. Throughput is timed
between CUDA synchronisations at the end of the warm-up steps and of the last step; the
settings alternate within each repeat. Prints median images/s, the ratio to fp32
contiguous, and peak GPU memory.

Inference runs :class:`lvwall.infer.TorchPredictor` as ``lvwall predict --backend torch``
(or ``torch-bf16``) does: channels-last, numpy frames in, probabilities back on the host (the
copies both ways are timed), at batch sizes 1, 8 and 64, for the bundled model and the
``seed`` preset with random weights. Prints median frames/s.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from bench_train import TIMING_ONLY, synthetic_recordings
from lvwall.benchmark import median_seconds
from lvwall.data import MODEL_SIZE, FrameDataset, build_augment
from lvwall.infer import TorchPredictor
from lvwall.model import build_model, default_model_paths, load_model
from lvwall.train import SegmentationModule, TrainConfig, resolve_precision

PRESET = "seed"
#: (name, precision, channels-last, fed by the augmenting DataLoader)
TRAIN_SETTINGS = [
    ("fp32 (TF32), contiguous", "32", False, False),
    ("fp32 (TF32), channels-last", "32", True, False),
    ("bf16-mixed, contiguous", "bf16-mixed", False, False),
    ("bf16-mixed, channels-last", "bf16-mixed", True, False),
    ("bf16-mixed, channels-last, echo augmentation, 8 workers", "bf16-mixed", True, True),
]
INFER_BATCHES = (1, 8, 64)
LOADER_WORKERS = 8


class ReadyBatches(Dataset):
    """``steps`` batches of one pinned random batch: no per-step host work but the copy."""

    def __init__(self, steps: int, batch_size: int, size: int) -> None:
        generator = torch.Generator().manual_seed(0)
        self.batch = {
            "image": torch.rand(batch_size, 1, size, size, generator=generator).pin_memory(),
            "mask": (torch.rand(batch_size, 1, size, size, generator=generator) > 0.8)
            .float()
            .pin_memory(),
        }
        self.steps = steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.batch


def augmenting_loader(config: TrainConfig, steps: int) -> DataLoader:
    """lvwall's training dataset and augmentation over bench_train's ring-"wall" frames."""
    # One epoch of ``steps`` batches, as in a real run: the same 64 frames many times over.
    recording = synthetic_recordings(64, config.image_size)
    dataset = FrameDataset(recording * -(-steps * config.batch_size // 64), build_augment("echo"))
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=LOADER_WORKERS,
        pin_memory=True,
    )


class SyncClock(L.Callback):
    """Wall-clock time after the warm-up steps and after the last step, GPU work included."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.marks = {warmup - 1, steps - 1}
        self.times: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step - 1 in self.marks:
            torch.cuda.synchronize()
            self.times.append(time.perf_counter())


def train_run(
    precision: str, channels_last: bool, augmenting: bool, args: argparse.Namespace
) -> tuple[float, float]:
    """(images/s, peak GPU memory in GiB) of one training run."""
    config = TrainConfig(
        preset=PRESET,
        loss="dice",
        batch_size=args.batch_size,
        image_size=MODEL_SIZE,
        precision=precision,
        accelerator="cuda",
    )
    torch.manual_seed(0)
    module = SegmentationModule(config, build_model(PRESET))
    if channels_last:
        module.use_channels_last()
    if augmenting:
        data = augmenting_loader(config, args.steps)
    else:
        data = DataLoader(ReadyBatches(args.steps, args.batch_size, MODEL_SIZE), batch_size=None)
    clock = SyncClock(args.warmup, args.steps)
    trainer = L.Trainer(
        max_steps=args.steps,
        accelerator="cuda",
        devices=1,
        precision=resolve_precision(config),
        benchmark=True,
        callbacks=[clock],
        **TIMING_ONLY,
    )
    torch.cuda.reset_peak_memory_stats()
    trainer.fit(module, train_dataloaders=data)
    start, end = clock.times
    images = (args.steps - args.warmup) * args.batch_size
    return images / (end - start), torch.cuda.max_memory_allocated() / 2**30


def training_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    rates: dict[str, list[float]] = {name: [] for name, *_ in TRAIN_SETTINGS}
    memory: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, precision, channels_last, augmenting in TRAIN_SETTINGS:
            rate, peak = train_run(precision, channels_last, augmenting, args)
            rates[name].append(rate)
            memory[name] = peak
    baseline = statistics.median(rates[TRAIN_SETTINGS[0][0]])
    rows = []
    for name, *_ in TRAIN_SETTINGS:
        median = statistics.median(rates[name])
        rows.append(
            {
                "setting": name,
                "images_per_s": round(median, 1),
                "ratio_to_fp32_contiguous": round(median / baseline, 2),
                "peak_gpu_memory_gib": round(memory[name], 2),
                "runs": [round(rate, 1) for rate in rates[name]],
            }
        )
    return rows


def median_fps(predictor: TorchPredictor, batch: int, repeats: int) -> float:
    """Median frames/s over ``repeats`` timed blocks of calls, after a warm-up block."""
    images = np.random.default_rng(0).random((batch, 1, MODEL_SIZE, MODEL_SIZE), np.float32)
    calls = max(4, 256 // batch)
    # predict returns host memory, so every block ends synchronised with the GPU.
    seconds, _ = median_seconds(
        lambda: [predictor.predict(images) for _ in range(calls)], repeats, budget=60.0
    )
    return calls * batch / seconds


def inference_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    torch.backends.cudnn.benchmark = True
    models = {
        "bundled": lambda: load_model(default_model_paths().weights)[0],
        f"{PRESET} (random weights)": lambda: build_model(PRESET).eval(),
    }
    rows = []
    for label, make in models.items():
        for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            predictor = TorchPredictor(make(), "cuda", dtype)
            row: dict[str, Any] = {"model": label, "dtype": dtype_name}
            for batch in INFER_BATCHES:
                row[f"fps_batch{batch}"] = round(median_fps(predictor, batch, args.repeats + 2), 1)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60, help="steps per run, warm-up included")
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU; none is visible to PyTorch here")
    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")
    torch.set_float32_matmul_precision("high")  # as lvwall train sets it on a GPU
    machine = {
        "gpu": torch.cuda.get_device_name(0),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "lightning": L.__version__,
    }
    print(", ".join(f"{key} {value}" for key, value in machine.items()))
    training = training_table(args)
    print(
        f"\ntraining, {PRESET} U-Net, batch {args.batch_size}, {MODEL_SIZE}x{MODEL_SIZE}, "
        f"{args.steps - args.warmup} timed steps x {args.repeats} runs (median images/s)"
    )
    for row in training:
        print(
            f"  {row['setting']:<58} {row['images_per_s']:8.1f}"
            f"  x{row['ratio_to_fp32_contiguous']:.2f}"
            f"  peak {row['peak_gpu_memory_gib']:.2f} GiB  (runs {row['runs']})"
        )
    inference = inference_table(args)
    print("\ninference, TorchPredictor on the GPU (median frames/s, host copies included)")
    for row in inference:
        figures = "  ".join(f"b={b}: {row[f'fps_batch{b}']:8.1f}" for b in INFER_BATCHES)
        print(f"  {row['model']:<26} {row['dtype']}  {figures}")
    if args.json:
        report = {"machine": machine, "training": training, "inference": inference}
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
