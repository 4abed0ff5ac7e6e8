"""Training progress as plain lines, for output that is not a terminal (a log, ``| tee``).

Rich's progress bar redraws one line in place; written to a file it shows nothing until the
run ends, so a redirected ``make demo`` looked stalled for minutes. :class:`LogProgress`
prints one line at most every :data:`INTERVAL_S` seconds (and at each epoch's end) with the
epoch, the batch, the elapsed time and an estimate of the time left from the batches done.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar

#: The most seconds between two progress lines.
INTERVAL_S = 10.0


def progress_bar() -> ProgressBar:
    """Rich's bar on a terminal, plain lines (:class:`LogProgress`) otherwise."""
    return RichProgressBar() if sys.stderr.isatty() else LogProgress()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LogProgress(ProgressBar):
    """Plain progress lines on stderr, at most one per ``interval_s`` seconds."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        super().__init__()
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.interval_s = interval_s
        self._enabled = True
        self._started = self._last = 0.0
        self._batches_done = 0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = self._last = time.monotonic()
        self._batches_done = 0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        self._batches_done += 1
        if time.monotonic() - self._last >= self.interval_s:
            self._say(trainer, f"batch {index + 1}/{self.total_train_batches}")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {
            key: float(value)
            for key, value in trainer.callback_metrics.items()
            if key in ("val/dice", "train/loss")
        }
        said = ", ".join(f"{key} {value:.4f}" for key, value in sorted(metrics.items()))
        self._say(trainer, f"done{', ' + said if said else ''}")

    def _say(self, trainer: L.Trainer, what: str) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        self._last = now
        elapsed = now - self._started
        total = trainer.max_epochs * self.total_train_batches
        left = (total - self._batches_done) * elapsed / max(self._batches_done, 1)
        print(
            f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: {what}; "
            f"elapsed {_clock(elapsed)}, about {_clock(left)} left",
            file=sys.stderr,
            flush=True,
        )
