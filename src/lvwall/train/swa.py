"""Stochastic weight averaging within one run: the mean of the weights at every epoch's end.

Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization", UAI
2018: the running mean of the weights that SGD visits, sampled once per epoch, lies in a
flatter region of the loss than any one of them and generalises better. Lightning's own
``StochasticWeightAveraging`` also swaps the run's learning-rate schedule for a constant SWA
rate; :class:`EpochWeightAveraging` keeps the schedule (the second half of one-cycle still
moves the weights enough to be worth averaging) and uses Lightning's ``WeightAveraging``
for the rest: the averaged weights are validated, and checkpoints hold them.

Where it sits next to :mod:`lvwall.train.soup`: SWA averages along one run, a soup across runs;
a soup of SWA runs does both.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging


def mean_of_floats_latest_of_counts(
    averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor
) -> None:
    """Update running means in place: floating-point tensors move to the mean of the
    ``n_averaged + 1`` states seen (Izmailov et al. 2018); integer tensors (batch norm's
    ``num_batches_tracked``) take the current value, as a count has no meaningful mean.

    ``AveragedModel`` calls this with one dtype per list (it groups by device and dtype).
    PyTorch's default multi-tensor mean fails on integer tensors on CUDA ("Integer division
    with addcdiv is no longer supported"), and ``use_buffers=True`` passes them.
    """
    if averaged[0].is_floating_point():
        weight = 1.0 / (float(n_averaged) + 1.0)
        for average, value in zip(averaged, current, strict=True):
            average.lerp_(value, weight)
    else:
        for average, value in zip(averaged, current, strict=True):
            average.copy_(value)


class EpochWeightAveraging(WeightAveraging):
    """Average the weights (and batch-norm statistics) at the end of every epoch from
    ``start_epoch`` (0-based) on.

    The update comes after the epoch's last optimiser step, before its validation, so an
    epoch's validation metrics and checkpoints already include it. Until the first update
    the run's own weights are validated and checkpointed: Lightning's ``WeightAveraging``
    would use its copy of the initial weights there. Raises :class:`ValueError` for a
    negative ``start_epoch``.
    """

    def __init__(self, start_epoch: int) -> None:
        if start_epoch < 0:
            raise ValueError(f"start_epoch must not be negative, got {start_epoch}")
        super().__init__(use_buffers=True, multi_avg_fn=mean_of_floats_latest_of_counts)
        self.start_epoch = start_epoch
        self._epoch_last_step: int | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        averaging = trainer.current_epoch >= self.start_epoch
        # Lightning also steps after a last, incomplete accumulation.
        steps = math.ceil(trainer.num_training_batches / trainer.accumulate_grad_batches)
        self._epoch_last_step = trainer.global_step + steps - 1 if averaging else None

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx == self._epoch_last_step

    @property
    def n_averaged(self) -> int:
        """How many epochs' weights the average holds so far."""
        return 0 if self._average_model is None else int(self._average_model.n_averaged)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.n_averaged:
            super().on_validation_epoch_start(trainer, pl_module)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.n_averaged:
            super().on_validation_epoch_end(trainer, pl_module)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self.n_averaged:
            super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        # A checkpoint from before the first update holds no average to restore.
        if "averaging_state" in checkpoint:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.n_averaged:
            super().on_train_end(trainer, pl_module)
