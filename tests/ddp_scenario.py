"""Two-process DDP training on CPU (gloo), run as a fresh script by test_train_fit.py.

Lightning's ``ddp`` strategy starts rank 1 by running this script again, as it would for
``lvwall train --strategy ddp``. Each rank reports what it validated to ``OUT/rank<R>.json``.
A fresh interpreter avoids forking a process whose thread pools are already running.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from lvwall.train import ConfusionCounts, fit
from tiny_training import tiny_config, tiny_recordings


def main(out: Path) -> None:
    update, compute = ConfusionCounts.update, ConfusionCounts.compute
    local = {"pixels": 0}

    def counting_update(self: ConfusionCounts, pred: torch.Tensor, target: torch.Tensor) -> None:
        local["pixels"] += pred.numel()
        update(self, pred, target)

    def reporting_compute(self: ConfusionCounts) -> dict[str, torch.Tensor]:
        metrics = compute(self)  # torchmetrics has summed the states over the ranks here
        rank = torch.distributed.get_rank()
        report = {
            "rank": rank,
            "world_size": torch.distributed.get_world_size(),
            "backend": torch.distributed.get_backend(),
            "local_pixels": local["pixels"],
            "synced_pixels": float(self.tp + self.fp + self.fn + self.tn),
            "dice": float(metrics["dice"]),
        }
        (out / f"rank{rank}.json").write_text(json.dumps(report))
        local["pixels"] = 0
        return metrics

    ConfusionCounts.update = counting_update
    ConfusionCounts.compute = reporting_compute
    torch.set_num_threads(1)
    config = tiny_config(accelerator="cpu", devices=2, strategy="ddp")
    result = fit(config, out / "run", recordings=tiny_recordings())
    if torch.distributed.is_initialized() and torch.distributed.get_rank() == 0:
        (out / "result.json").write_text(json.dumps({"epochs_run": result.epochs_run}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
