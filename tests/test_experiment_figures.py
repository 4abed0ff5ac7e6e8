"""Tests for lvwall.experiment.figures: every figure renders, case selection is right."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lvwall.experiment.figures import (
    Case,
    case_panels,
    cycle_indices,
    cycle_strip,
    learning_curves,
    metric_boxplots,
    png_bytes,
    select_cases,
)


def _ring(n_frames: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - size / 2, xx - size / 2)
    masks = np.stack([(radius > 8 + t % 3) & (radius < 12) for t in range(n_frames)])
    frames = 0.2 + 0.6 * masks + 0.1 * np.random.default_rng(0).random(masks.shape)
    return frames.astype(np.float32), masks.astype(np.uint8)


def _decoded_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("n_cases", [1, 3])
def test_case_panels_render_one_row_per_case(n_cases: int) -> None:
    frames, masks = _ring(n_cases)
    cases = [Case(f"case {i}", frames[i], masks[i], masks[i][::-1]) for i in range(n_cases)]

    width, height = _decoded_size(png_bytes(case_panels(cases, "Dice loss"), dpi=50))

    assert width > 0
    assert height == pytest.approx(50 * 2.8 * n_cases, abs=2)


@pytest.mark.parametrize(
    ("n_frames", "n_shown", "expected"),
    [
        (20, 5, [0, 5, 10, 14, 19]),
        (3, 8, [0, 1, 2]),
        (1, 4, [0]),
        (9, 2, [0, 8]),
    ],
)
def test_cycle_indices_spread_over_the_cycle(
    n_frames: int, n_shown: int, expected: list[int]
) -> None:
    assert cycle_indices(n_frames, n_shown) == expected


@pytest.mark.parametrize(("n_frames", "n_shown"), [(0, 3), (5, 0)])
def test_cycle_indices_rejects_empty(n_frames: int, n_shown: int) -> None:
    with pytest.raises(ValueError, match="n_frames"):
        cycle_indices(n_frames, n_shown)


@pytest.mark.parametrize(("n_frames", "n_shown", "panels"), [(12, 6, 6), (4, 8, 4)])
def test_cycle_strip_has_one_panel_per_shown_frame(
    n_frames: int, n_shown: int, panels: int
) -> None:
    frames, masks = _ring(n_frames)

    figure = cycle_strip(frames, masks, masks, n_shown=n_shown)

    assert len(figure.axes) == panels
    assert [a.get_title() for a in figure.axes][-1] == f"frame {n_frames}"
    assert _decoded_size(png_bytes(figure, dpi=40))[0] == pytest.approx(40 * 1.6 * panels, abs=2)


def test_cycle_strip_rejects_mismatched_arrays() -> None:
    frames, masks = _ring(4)
    with pytest.raises(ValueError, match="must all be"):
        cycle_strip(frames, masks[:3], masks)


def test_case_rejects_mismatched_arrays() -> None:
    frames, masks = _ring(1)
    with pytest.raises(ValueError, match="prediction"):
        Case("x", frames[0], masks[0], masks[0][:5])


def _history(epochs: int, start: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "epoch": range(epochs),
            "train/loss": np.linspace(1.0, start, epochs),
            "val/dice": np.linspace(0.2, 0.9, epochs),
        }
    )


@pytest.mark.parametrize(
    ("histories", "n_lines"),
    [
        ({"dice": {1: _history(3, 0.3), 2: _history(4, 0.2)}}, 2),
        ({"dice": {1: _history(2, 0.3)}, "focal-tversky": {1: _history(2, 0.1)}}, 1),
    ],
)
def test_learning_curves_plot_each_fold(histories: dict, n_lines: int) -> None:
    figure = learning_curves(histories)

    assert len(figure.axes) == 2 * len(histories)
    for axes in figure.axes:
        assert len(axes.get_lines()) == n_lines
    _decoded_size(png_bytes(figure, dpi=40))


def test_learning_curves_skip_missing_columns() -> None:
    figure = learning_curves({"dice": {1: pd.DataFrame({"epoch": [0, 1], "val/dice": [0.3, 0.5]})}})
    loss_axes, dice_axes = figure.axes
    assert len(loss_axes.get_lines()) == 0
    assert len(dice_axes.get_lines()) == 1


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recording": [f"R{i}" for i in range(6)] * 2,
            "loss": ["dice"] * 6 + ["focal-tversky"] * 6,
            "fold": [1, 2, 1, 2, 1, 2] * 2,
            "dice": [0.80, 0.91, 0.55, 0.70, np.nan, 0.66, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "hd95": np.arange(12, dtype=float),
        }
    )


@pytest.mark.parametrize(("metrics", "n_axes"), [(["dice"], 1), (["dice", "hd95"], 2)])
def test_metric_boxplots_one_panel_per_metric(metrics: list[str], n_axes: int) -> None:
    figure = metric_boxplots(_table(), ["dice", "focal-tversky"], metrics)
    visible = [axes for axes in figure.axes if axes.axison]
    assert len(visible) == n_axes
    assert [t.get_text() for t in visible[0].get_xticklabels()] == ["Dice", "Focal Tversky"]


def test_metric_boxplots_rejects_missing_columns() -> None:
    with pytest.raises(ValueError, match="lacks the columns"):
        metric_boxplots(_table(), ["dice"], ["iou"])


@pytest.mark.parametrize(
    ("loss", "best", "median", "worst"),
    [
        # Dice (NaN skipped) sorted: R1 .91, R0 .80, R3 .70, R5 .66, R2 .55 -> median R3.
        ("dice", "R1", "R3", "R2"),
        # .6 .5 .4 .3 .2 .1 -> lower median at position (6 - 1) // 2 = 2: R3 (.4).
        ("focal-tversky", "R5", "R3", "R0"),
    ],
)
def test_select_cases(loss: str, best: str, median: str, worst: str) -> None:
    cases = select_cases(_table(), loss)
    assert [cases[k]["recording"] for k in ("best", "median", "worst")] == [best, median, worst]


def test_select_cases_without_rows() -> None:
    with pytest.raises(ValueError, match="no rows"):
        select_cases(_table(), "hinge")
