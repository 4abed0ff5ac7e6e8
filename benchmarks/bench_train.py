"""Training speed on this machine: Lightning against a plain PyTorch loop, side by side.

Run: ``.venv/bin/python benchmarks/bench_train.py [--preset fast] [--batch-size 8]
[--steps 12] [--repeats 3] [--threads N] [--compile]``.

Both sides train the same U-Net preset with the same loss (Dice), AdamW, one-cycle schedule
and the same DataLoader (FrameDataset with the "echo" augmentation, 224x224 frames, no
workers); the Lightning side is :class:`lvwall.train.SegmentationModule` in a Trainer with
checkpointing, loggers and the progress bar off (they run once per epoch, not per step).
Throughput is timed from the end of the warm-up steps to the end of the last step; runs
alternate between the two sides so that a shared machine's load affects both alike. Prints
the median images/s of each side, their ratio of medians and of bests (>= 1.0: Lightning
costs nothing), and the time of one 2,000-frame epoch extrapolated from the measured
Lightning throughput. ``--compile`` adds a third side, the Lightning module trained through
``torch.compile`` (``lvwall train --compile``), and its ratio to the eager Lightning side; its
compilation falls in the warm-up steps.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from lvwall.data import MODEL_SIZE, FrameDataset, LabelledRecording, build_augment
from lvwall.model import DEFAULT_PRESET, build_model
from lvwall.train import LR_SCHEDULES, SegmentationModule, TrainConfig

EPOCH_FRAMES = 2000
#: Trainer options that leave only the training steps: no validation, checkpoints, loggers,
#: progress bar or model summary.
TIMING_ONLY = {
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "limit_val_batches": 0,
}


def synthetic_recordings(n_frames: int, size: int) -> list[LabelledRecording]:
    """Noise frames with a ring-shaped "wall"; content does not change the cost per step."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:size, :size]
    wall = (np.abs(np.hypot(rows - size / 2, cols - size / 2) - size / 4) < size / 30).astype(
        np.uint8
    )
    frames = rng.random((n_frames, size, size), dtype=np.float32)
    masks = np.repeat(wall[None], n_frames, axis=0)
    return [LabelledRecording("bench", "bench", frames, masks)]


def loader(config: TrainConfig, n_frames: int) -> DataLoader:
    dataset = FrameDataset(
        synthetic_recordings(n_frames, config.image_size), build_augment(config.augment)
    )
    return DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True)


class StepClock(L.Callback):
    """Wall-clock time at the end of every training step."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_end(self, *args: Any) -> None:
        self.times.append(time.perf_counter())


def throughput(times: list[float], warmup: int, batch_size: int) -> float:
    """Images per second from step-end times, after ``warmup`` steps."""
    steps = len(times) - warmup
    return steps * batch_size / (times[-1] - times[warmup - 1])


def lightning_run(config: TrainConfig, steps: int, warmup: int) -> float:
    torch.manual_seed(0)
    module = SegmentationModule(config, build_model(config.preset))
    if config.compile:
        module.use_compile()
    clock = StepClock()
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        devices=1,
        callbacks=[clock],
        **TIMING_ONLY,
    )
    trainer.fit(module, train_dataloaders=loader(config, steps * config.batch_size))
    return throughput(clock.times, warmup, config.batch_size)


def plain_run(config: TrainConfig, steps: int, warmup: int) -> float:
    from lvwall.train import build_loss

    torch.manual_seed(0)
    model = build_model(config.preset)
    loss_fn = build_loss(config.loss)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = LR_SCHEDULES[config.schedule](optimizer, config.lr, steps)
    model.train()
    times = []
    for batch in loader(config, steps * config.batch_size):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(batch["image"]), batch["mask"])
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss.item()  # Lightning reads the loss every step for its logging; so does this loop.
        times.append(time.perf_counter())
    return throughput(times, warmup, config.batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=MODEL_SIZE)
    parser.add_argument("--steps", type=int, default=12, help="steps per run, warm-up included")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args()
    if args.steps <= args.warmup:
        parser.error("--steps must exceed --warmup")
    torch.set_num_threads(args.threads)
    config = TrainConfig(
        preset=args.preset,
        batch_size=args.batch_size,
        image_size=args.size,
        accelerator="cpu",
        num_workers=0,
    )
    compiled = config.with_overrides(compile=True)
    lightning_rates, plain_rates, compiled_rates = [], [], []
    for _ in range(args.repeats):
        lightning_rates.append(lightning_run(config, args.steps, args.warmup))
        plain_rates.append(plain_run(config, args.steps, args.warmup))
        if args.compile:
            compiled_rates.append(lightning_run(compiled, args.steps, args.warmup))
    lightning_ips = statistics.median(lightning_rates)
    plain_ips = statistics.median(plain_rates)
    print(
        f"preset {args.preset}, batch {args.batch_size}, {args.size}x{args.size}, "
        f"{args.threads} threads, {args.steps - args.warmup} timed steps x {args.repeats} runs"
    )
    print(f"  Lightning   {lightning_ips:7.1f} images/s median  (runs: {_rates(lightning_rates)})")
    print(f"  plain loop  {plain_ips:7.1f} images/s median  (runs: {_rates(plain_rates)})")
    print(
        f"  ratio Lightning/plain: {lightning_ips / plain_ips:.3f} of medians, "
        f"{max(lightning_rates) / max(plain_rates):.3f} of bests (a shared machine's load "
        "hits medians more than bests)"
    )
    if args.compile:
        compiled_ips = statistics.median(compiled_rates)
        print(
            f"  compiled    {compiled_ips:7.1f} images/s median  (runs: {_rates(compiled_rates)})"
        )
        print(
            f"  ratio compiled/eager Lightning: {compiled_ips / lightning_ips:.3f} of medians, "
            f"{max(compiled_rates) / max(lightning_rates):.3f} of bests"
        )
    print(
        f"  one epoch of {EPOCH_FRAMES} frames: {EPOCH_FRAMES / lightning_ips / 60:.1f} min "
        "(extrapolated from the Lightning throughput; validation not included)"
    )


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:.1f}" for rate in rates)


if __name__ == "__main__":
    main()
