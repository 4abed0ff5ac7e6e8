"""A training run's folder: the names of its files, its merged history, learning curve and
summary, as :func:`lvwall.train.fit` writes them and the experiment runner and benchmarks
read them::

    config.yaml          the exact TrainConfig (written first)
    split.json           the recordings on each side of the patient-wise split
    best.ckpt            the epoch with the best validation Dice
    last.ckpt            the last epoch (what --resume continues from)
    metrics.csv          one row per epoch, merged over every attempt
    metrics.json         the run's summary (best epoch, metrics, time over every attempt)
    learning_curve.png   loss and validation metrics per epoch
    logs/, tensorboard/  Lightning's CSV and TensorBoard logs
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from lvwall.atomic import atomic_path
from lvwall.errors import DataError, OutputError
from lvwall.metrics import OVERLAP_METRICS

CONFIG_FILE = "config.yaml"
SPLIT_FILE = "split.json"
BEST_CHECKPOINT = "best.ckpt"
LAST_CHECKPOINT = "last.ckpt"
HISTORY_FILE = "metrics.csv"
SUMMARY_FILE = "metrics.json"
CURVE_FILE = "learning_curve.png"
#: The metric that picks the best checkpoint and drives early stopping.
MONITOR = "val/dice"
#: Metrics logged every validation epoch, in the study's order (specificity added).
VAL_METRICS: tuple[str, ...] = OVERLAP_METRICS


def check_run_dir(out_dir: Path, resume: bool) -> None:
    """Refuse to start over a run folder with results, or to resume one without ``last.ckpt``.

    Raises :class:`OutputError` naming the folder.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "the run folder is a file; pick a folder for --out")
    if resume:
        if not (out_dir / LAST_CHECKPOINT).is_file():
            raise OutputError(
                out_dir,
                f"nothing to resume, there is no {LAST_CHECKPOINT} (is this the "
                "run folder? a new run is started without --resume)",
            )
        return
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise OutputError(
            out_dir,
            "the run folder already exists and is not empty; "
            "pick a new --out or continue it with --resume",
        )


def write_history(run_dir: Path) -> pd.DataFrame:
    """Merge the CSV logs of every attempt (first run and resumes) into one row per epoch.

    An epoch logged twice (an attempt interrupted after logging it, then redone on resume)
    keeps its latest values. The table is written to ``run_dir/metrics.csv``.
    """
    frames = [
        pd.read_csv(path) for path in sorted((run_dir / "logs").glob("version_*/metrics.csv"))
    ]
    frames = [frame for frame in frames if "epoch" in frame]
    if not frames:
        history = pd.DataFrame({"epoch": pd.Series(dtype=int)})
    else:
        logs = pd.concat(frames, ignore_index=True).sort_values("step", kind="stable")
        # The learning-rate monitor logs at the start of an epoch, without its number.
        logs["epoch"] = logs["epoch"].bfill()
        history = logs.drop(columns="step").groupby("epoch", as_index=False).last()
        history["epoch"] = history["epoch"].astype(int)
    with atomic_path(run_dir / HISTORY_FILE) as tmp:
        history.to_csv(tmp, index=False)
    return history


def plot_learning_curve(history: pd.DataFrame, path: Path) -> Path:
    """Loss (train and val) and the validation metrics per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axes, metric_axes) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    epochs = history["epoch"] + 1 if "epoch" in history else []
    for column, label in (("train/loss", "train"), ("val/loss", "validation")):
        if column in history:
            loss_axes.plot(epochs, history[column], marker="o", label=label)
    loss_axes.set(xlabel="epoch", ylabel="loss", title="Loss")
    for name in VAL_METRICS:
        if f"val/{name}" in history:
            metric_axes.plot(epochs, history[f"val/{name}"], marker=".", label=name)
    metric_axes.set(xlabel="epoch", ylabel="score", title="Validation", ylim=(0.0, 1.0))
    for axes in (loss_axes, metric_axes):
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
        axes.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
    return path


def best_epoch(history: pd.DataFrame) -> int | None:
    """The 0-based epoch with the best :data:`MONITOR`, ``None`` before any validation."""
    if MONITOR not in history or history[MONITOR].isna().all():
        return None
    return int(history.loc[history[MONITOR].idxmax(), "epoch"])


def best_metrics(history: pd.DataFrame) -> dict[str, float]:
    """The validation metrics of :func:`best_epoch`, by name."""
    epoch = best_epoch(history)
    if epoch is None:
        return {}
    row = history.loc[history["epoch"] == epoch].iloc[0]
    return {
        name: float(row[f"val/{name}"])
        for name in VAL_METRICS
        if f"val/{name}" in row and not math.isnan(row[f"val/{name}"])
    }


def read_summary(run_dir: Path) -> dict[str, Any]:
    """The run's ``metrics.json``; :class:`DataError` naming it when unreadable."""
    path = run_dir / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(path, f"is not a readable run summary ({error})") from None
    if not isinstance(summary, dict) or "best_val_dice" not in summary:
        raise DataError(path, "is not a run summary written by lvwall train (no best_val_dice)")
    return summary


def summary_best_val_dice(summary: dict[str, Any]) -> float:
    """A summary's best validation Dice; NaN when the run never validated."""
    value = summary["best_val_dice"]
    return math.nan if value is None else float(value)
