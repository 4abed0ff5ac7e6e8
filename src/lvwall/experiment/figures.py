"""The report's figures, drawn from arrays and tables with matplotlib (no display needed).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing
global changes and figures are freed when dropped; :func:`png_bytes` renders one as PNG.
Masks are drawn over the grey frame: the reference (ground truth) in green, the prediction
in magenta, as in the study's qualitative figures (Degerli et al., IEEE Access 2021, which
show input frame, ground truth and prediction side by side).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lvwall.experiment.stats import METRIC_LABELS, loss_label

TRUTH_COLOUR = "#2ecc40"
PREDICTION_COLOUR = "#ff2bd6"
#: Colours of the losses in every plot, in the experiment's loss order.
LOSS_COLOURS: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
_FILL_ALPHA = 0.45
#: Which recordings the case panels show: the name and how it is picked from sorted values.
CASE_NAMES: tuple[str, ...] = ("best", "median", "worst")


@dataclass(frozen=True)
class Case:
    """One frame to show: ``frame`` float (H, W) in [0, 1], binary ``truth`` and
    ``prediction`` (H, W), and a ``title``."""

    title: str
    frame: np.ndarray
    truth: np.ndarray
    prediction: np.ndarray

    def __post_init__(self) -> None:
        if self.frame.ndim != 2 or self.frame.shape != self.truth.shape:
            raise ValueError(
                f"frame {self.frame.shape} and truth {self.truth.shape} must both be (H, W)"
            )
        if self.prediction.shape != self.frame.shape:
            raise ValueError(f"prediction {self.prediction.shape} must match {self.frame.shape}")


def png_bytes(figure: Figure, dpi: int = 90) -> bytes:
    """``figure`` rendered as PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_file_bytes(draw: Callable[[Path], object]) -> bytes:
    """The PNG that ``draw`` writes to the path it is given, for drawers that only write
    files (such as :mod:`lvwall.regional.figures`); the file is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="lvwall-figure-") as folder:
        target = Path(folder) / "figure.png"
        draw(target)
        return target.read_bytes()


def _show_frame(axes: Axes, frame: np.ndarray) -> None:
    axes.imshow(frame, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes.set_axis_off()


def _fill(axes: Axes, mask: np.ndarray, colour: str) -> None:
    rgba = np.zeros((*mask.shape, 4))
    rgba[..., :3] = _rgb(colour)
    rgba[..., 3] = np.where(mask > 0, _FILL_ALPHA, 0.0)
    axes.imshow(rgba, interpolation="nearest")


def _outline(axes: Axes, mask: np.ndarray, colour: str) -> None:
    if mask.any() and not mask.all():
        axes.contour(mask.astype(float), levels=[0.5], colors=[colour], linewidths=1.0)


def _rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def case_panels(cases: Sequence[Case], title: str = "") -> Figure:
    """One row per case: the input frame, the reference mask and the predicted mask (with the
    reference outlined), each over the frame."""
    if not cases:
        raise ValueError("case_panels needs at least one case")
    figure = Figure(figsize=(7.5, 2.8 * len(cases)), layout="constrained")
    rows = figure.subfigures(len(cases), 1, squeeze=False)[:, 0]
    for row_figure, case in zip(rows, cases, strict=True):
        row = row_figure.subplots(1, 3)
        for axes in row:
            _show_frame(axes, case.frame)
        _fill(row[1], case.truth, TRUTH_COLOUR)
        _fill(row[2], case.prediction, PREDICTION_COLOUR)
        _outline(row[2], case.truth, TRUTH_COLOUR)
        row_figure.suptitle(case.title, fontsize=9)
        row[0].set_title("input frame", fontsize=8)
        row[1].set_title("ground truth", fontsize=8)
        row[2].set_title("prediction (green: ground truth)", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=11)
    return figure


def cycle_indices(n_frames: int, n_shown: int) -> list[int]:
    """``n_shown`` frame indices spread evenly over ``n_frames`` (first and last included)."""
    if n_frames < 1 or n_shown < 1:
        raise ValueError(f"need n_frames >= 1 and n_shown >= 1, got {n_frames}, {n_shown}")
    count = min(n_frames, n_shown)
    return sorted({round(i) for i in np.linspace(0, n_frames - 1, count)})


def cycle_strip(
    frames: np.ndarray,
    truth: np.ndarray,
    prediction: np.ndarray,
    n_shown: int = 8,
    title: str = "",
) -> Figure:
    """Overlays at ``n_shown`` frames spread over one cardiac cycle (frames ``(T, H, W)``):
    the prediction filled, the reference outlined."""
    if frames.ndim != 3 or frames.shape != truth.shape or frames.shape != prediction.shape:
        raise ValueError(
            f"frames {frames.shape}, truth {truth.shape} and prediction {prediction.shape} "
            "must all be (T, H, W)"
        )
    indices = cycle_indices(len(frames), n_shown)
    figure = Figure(figsize=(1.6 * len(indices), 2.0), layout="constrained")
    for axes, index in zip(
        figure.subplots(1, len(indices), squeeze=False)[0], indices, strict=True
    ):
        _show_frame(axes, frames[index])
        _fill(axes, prediction[index], PREDICTION_COLOUR)
        _outline(axes, truth[index], TRUTH_COLOUR)
        axes.set_title(f"frame {index + 1}", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def learning_curves(histories: Mapping[str, Mapping[int, pd.DataFrame]]) -> Figure:
    """Training loss and validation Dice per epoch: one column per loss, one line per fold.

    ``histories[loss][fold]`` is a run's ``metrics.csv`` (columns ``epoch``, ``train/loss``,
    ``val/dice``; missing columns are skipped).
    """
    if not histories:
        raise ValueError("learning_curves needs the history of at least one loss")
    figure = Figure(figsize=(4.2 * len(histories), 5.2), layout="constrained")
    grid = figure.subplots(2, len(histories), squeeze=False)
    for column, (loss, per_fold) in enumerate(histories.items()):
        loss_axes, dice_axes = grid[0][column], grid[1][column]
        for fold, history in sorted(per_fold.items()):
            if "epoch" not in history:
                continue
            epochs = history["epoch"].to_numpy() + 1
            for axes, name in ((loss_axes, "train/loss"), (dice_axes, "val/dice")):
                if name in history and history[name].notna().any():
                    axes.plot(epochs, history[name], marker="o", markersize=3, label=f"fold {fold}")
        loss_axes.set(title=f"{loss_label(loss)}: training loss", xlabel="epoch")
        dice_axes.set(title="inner-validation Dice", xlabel="epoch", ylabel="Dice", ylim=(0.0, 1.0))
        last_epoch = max((len(h) for h in per_fold.values()), default=1)
        for axes in (loss_axes, dice_axes):
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xlim(0.5, last_epoch + 0.5)
            axes.grid(alpha=0.3)
            if axes.get_legend_handles_labels()[0]:
                axes.legend(fontsize="x-small")
    return figure


def metric_boxplots(table: pd.DataFrame, losses: Sequence[str], metrics: Sequence[str]) -> Figure:
    """A box plot per metric with one box per loss and every recording as a dot."""
    if not losses or not metrics:
        raise ValueError("metric_boxplots needs at least one loss and one metric")
    missing = [name for name in ("loss", *metrics) if name not in table.columns]
    if missing:
        raise ValueError(f"the table lacks the columns {missing}")
    n_columns = min(len(metrics), 5)
    n_rows = -(-len(metrics) // n_columns)
    figure = Figure(figsize=(2.4 * n_columns, 2.8 * n_rows), layout="constrained")
    grid = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    rng = np.random.default_rng(0)
    for axes, metric in zip(grid, metrics, strict=False):
        groups = [
            table.loc[table["loss"] == loss, metric].dropna().to_numpy(float) for loss in losses
        ]
        positions = np.arange(1, len(losses) + 1)
        axes.boxplot(groups, positions=positions, widths=0.5, showfliers=False)
        for position, values, colour in zip(positions, groups, LOSS_COLOURS, strict=False):
            jitter = rng.uniform(-0.12, 0.12, len(values))
            axes.scatter(position + jitter, values, s=10, color=colour, alpha=0.8, zorder=3)
        axes.set_xticks(positions, [loss_label(loss).replace(" loss", "") for loss in losses])
        label = METRIC_LABELS.get(metric, metric)
        axes.set_title(label[0].upper() + label[1:], fontsize=10)
        axes.tick_params(labelsize=8)
        axes.grid(axis="y", alpha=0.3)
    for axes in grid[len(metrics) :]:
        axes.set_axis_off()
    return figure


def select_cases(table: pd.DataFrame, loss: str, metric: str = "dice") -> dict[str, pd.Series]:
    """The best, median and worst rows of ``loss`` by ``metric`` (higher is better).

    The median is the lower median (position ``(n - 1) // 2`` from the best); rows with a
    missing value are skipped; ties keep the table's order.
    """
    rows = table[(table["loss"] == loss) & table[metric].notna()]
    if rows.empty:
        raise ValueError(f"no rows with a {metric} value for loss {loss!r}")
    ranked = rows.sort_values(metric, ascending=False, kind="stable")
    positions = {"best": 0, "median": (len(ranked) - 1) // 2, "worst": len(ranked) - 1}
    return {name: ranked.iloc[positions[name]] for name in CASE_NAMES}
