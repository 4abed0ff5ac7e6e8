"""Study-style figures of the explanations, drawn with matplotlib's object API (no pyplot,
so nothing depends on a display or a global backend).

Saliency is shown as in Degerli et al. (IEEE Access 2021): the frame beside its map, and the
map laid over the frame, with a perceptually uniform colormap (magma) so that brightness is
proportional to attribution.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lvwall.atomic import atomic_path
from lvwall.explain.filters import FeatureMaps
from lvwall.explain.receptive_field import LayerSummary
from lvwall.explain.saliency import Explanation
from lvwall.explain.sanity import SanityReport

#: Perceptually uniform colormap for attributions and activations.
MAP_COLORMAP = "magma"
#: Diverging colormap for kernels, whose weights are signed.
KERNEL_COLORMAP = "RdBu_r"
#: Layer types drawn in the receptive-field chart: those that change the field or the grid.
SPATIAL_LAYERS = ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d")
_REGION_COLOUR = "#00e5ff"


def display_map(attribution: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """``|attribution|`` scaled to [0, 1] by its ``percentile`` so that a few extreme
    gradients do not darken the rest of the map."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    magnitude = np.abs(np.asarray(attribution, dtype=np.float32))
    scale = float(np.percentile(magnitude, percentile))
    if scale <= 0:
        return np.zeros_like(magnitude)
    return np.clip(magnitude / scale, 0.0, 1.0)


def _bare(axis: object) -> None:
    axis.set_xticks([])  # type: ignore[attr-defined]
    axis.set_yticks([])  # type: ignore[attr-defined]


def saliency_figure(explanation: Explanation, title: str = "") -> Figure:
    """Frame, saliency map and overlay (with the explained region outlined) side by side."""
    shown = display_map(explanation.attribution)
    figure = Figure(figsize=(9.6, 3.5), layout="constrained")
    frame_axis, map_axis, overlay_axis = figure.subplots(1, 3)
    frame_axis.imshow(explanation.frame, cmap="gray", vmin=0, vmax=1)
    frame_axis.set_title("frame")
    image = map_axis.imshow(shown, cmap=MAP_COLORMAP, vmin=0, vmax=1)
    map_axis.set_title(
        explanation.method + (f" ({explanation.layer})" if explanation.layer else "")
    )
    overlay_axis.imshow(explanation.frame, cmap="gray", vmin=0, vmax=1)
    overlay_axis.imshow(shown, cmap=MAP_COLORMAP, vmin=0, vmax=1, alpha=0.6 * shown)
    overlay_axis.contour(explanation.region, levels=[0.5], colors=_REGION_COLOUR, linewidths=0.8)
    overlay_axis.set_title(f"overlay, target {explanation.target}")
    for axis in (frame_axis, map_axis, overlay_axis):
        _bare(axis)
    figure.colorbar(image, ax=map_axis, fraction=0.046, label="|attribution| (scaled)")
    if title:
        figure.suptitle(title)
    return figure


def kernel_grid_figure(kernels: np.ndarray, title: str = "First-layer kernels") -> Figure:
    """One tile per kernel ``(n, kh, kw)``; each tile scaled symmetrically about zero (red
    positive, blue negative) so that its pattern shows whatever its magnitude."""
    kernels = np.asarray(kernels)
    if kernels.ndim != 3 or kernels.shape[0] == 0:
        raise ValueError(f"expected kernels (n, kh, kw), got shape {kernels.shape}")
    columns = math.ceil(math.sqrt(kernels.shape[0]))
    rows = math.ceil(kernels.shape[0] / columns)
    figure = Figure(figsize=(0.8 * columns + 0.4, 0.8 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for axis, kernel in zip(axes, kernels, strict=False):
        limit = float(np.abs(kernel).max()) or 1.0
        axis.imshow(kernel, cmap=KERNEL_COLORMAP, vmin=-limit, vmax=limit)
    for axis in axes:
        _bare(axis)
        axis.set_frame_on(False)
    figure.suptitle(title)
    return figure


def feature_map_figure(layers: list[FeatureMaps], frame: np.ndarray) -> Figure:
    """The frame, then one row per layer of its most active channels, labelled with the
    channel index and mean activation. Each tile spans its own minimum to maximum, since
    transposed convolutions and the head output signed values."""
    if not layers:
        raise ValueError("no feature maps to draw")
    columns = max(len(layer.channels) for layer in layers)
    figure = Figure(figsize=(0.9 * columns + 0.4, 0.95 * (len(layers) + 1)), layout="constrained")
    axes = figure.subplots(len(layers) + 1, columns, squeeze=False)
    axes[0, 0].imshow(frame, cmap="gray", vmin=0, vmax=1)
    axes[0, 0].set_title("frame", fontsize=7)
    for row, layer in zip(axes[1:], layers, strict=True):
        row[0].set_ylabel(layer.layer, fontsize=7)
        for axis, channel, activation, tile in zip(
            row, layer.channels, layer.activation, layer.maps, strict=False
        ):
            axis.imshow(tile, cmap=MAP_COLORMAP, vmin=float(tile.min()), vmax=float(tile.max()))
            axis.set_title(f"#{channel} ({activation:.2g})", fontsize=6)
    for axis in axes.ravel():
        _bare(axis)
        if not axis.images:
            axis.set_visible(False)
    figure.suptitle("Most active channels per block", fontsize=9)
    return figure


def receptive_field_figure(rows: list[LayerSummary], input_size: int | None = None) -> Figure:
    """Bar chart of the receptive field (height) of every convolution and pooling layer, in
    forward order, with the input size as a reference line."""
    spatial = [row for row in rows if row.kind in SPATIAL_LAYERS]
    if not spatial:
        raise ValueError("no convolution or pooling layers to chart")
    kinds = sorted({row.kind for row in spatial}, key=SPATIAL_LAYERS.index)
    colours = dict(zip(kinds, ("#4c72b0", "#dd8452", "#55a868", "#c44e52"), strict=False))
    figure = Figure(figsize=(max(6.0, 0.32 * len(spatial) + 1.5), 3.8), layout="constrained")
    axis = figure.subplots()
    positions = np.arange(len(spatial))
    axis.bar(
        positions,
        [row.receptive_field.size[0] for row in spatial],
        color=[colours[row.kind] for row in spatial],
    )
    handles = [Patch(color=colours[kind], label=kind) for kind in kinds]
    if input_size:
        handles.append(
            axis.axhline(input_size, color="grey", linestyle="--", linewidth=1, label="input size")
        )
    axis.set_xticks(positions, [row.name for row in spatial], rotation=70, fontsize=7)
    axis.set_ylabel("receptive field (pixels)")
    axis.set_title("Receptive field per layer")
    axis.legend(handles=handles, fontsize=7)
    return figure


def sanity_figure(report: SanityReport) -> Figure:
    """Original and randomised maps in a row, and their Spearman correlation per step."""
    maps = [report.original.attribution] + [step.attribution for step in report.steps]
    labels = ["original"] + [f"- {step.label}" for step in report.steps]
    figure = Figure(figsize=(max(6.0, 1.3 * len(maps)), 4.2), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=[1, 1.2])
    for axis, attribution, label in zip(
        np.atleast_1d(top.subplots(1, len(maps))), maps, labels, strict=True
    ):
        axis.imshow(display_map(attribution), cmap=MAP_COLORMAP, vmin=0, vmax=1)
        axis.set_title(label, fontsize=7)
        _bare(axis)
    axis = bottom.subplots()
    axis.plot([step.label for step in report.steps], [step.spearman for step in report.steps], "o-")
    axis.set_ylim(-0.1, 1.05)
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set_ylabel("Spearman rank correlation")
    axis.set_xlabel(f"randomised ({report.mode}, output first)")
    axis.tick_params(axis="x", labelrotation=45, labelsize=7)
    figure.suptitle(f"Model-parameter randomisation test, {report.original.method}")
    return figure


def save_figure(figure: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``figure`` to ``path`` (format from the suffix) atomically and return the path."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi)
    return Path(path)
