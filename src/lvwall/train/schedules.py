"""Learning-rate schedules by name, each stepped after every optimiser step.

PyTorch is imported when a schedule is built, so that :mod:`lvwall.train.config` can check names
against :data:`LR_SCHEDULES` without importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler

ScheduleFactory = Callable[["Optimizer", float, int], Optional["LRScheduler"]]


def _one_cycle(optimizer: Optimizer, lr: float, total_steps: int) -> LRScheduler:
    """Warm up to ``lr`` over 30% of the steps, then cosine-anneal (Smith & Topin, 2019)."""
    from torch.optim.lr_scheduler import OneCycleLR

    return OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)


def _cosine(optimizer: Optimizer, lr: float, total_steps: int) -> LRScheduler:
    """Cosine decay from ``lr`` to zero over the run (SGDR without restarts, Loshchilov &
    Hutter, ICLR 2017)."""
    from torch.optim.lr_scheduler import CosineAnnealingLR

    return CosineAnnealingLR(optimizer, T_max=total_steps)


def _constant(optimizer: Optimizer, lr: float, total_steps: int) -> None:
    return None


#: Learning-rate schedules by name: (optimiser, peak lr, total steps) -> scheduler or None.
LR_SCHEDULES: dict[str, ScheduleFactory] = {
    "one-cycle": _one_cycle,
    "cosine": _cosine,
    "constant": _constant,
}
