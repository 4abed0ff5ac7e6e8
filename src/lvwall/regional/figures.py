"""Figures of regional analysis: motion curves, the segment diagram, a segment overlay.

Each figure is drawn for one apical view (A4C or A2C): its six segments
(:func:`lvwall.data.segment_names`) and the names of its two walls
(:data:`lvwall.data.VIEW_WALLS`: septal and lateral in A4C, inferior and anterior in A2C;
Cerqueira et al., Circulation 105(4), 2002). Segments keep one colour everywhere
(:data:`lvwall.wall.SEGMENT_COLOURS`, colour-blind-safe palettes: Okabe & Ito, "Color
Universal Design", 2008, for A4C; Tol's muted palette for A2C). Scores on the
diagram use viridis, a perceptually uniform colormap. Figures are drawn on a
:class:`matplotlib.figure.Figure` (no pyplot state) and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

from lvwall.atomic import atomic_path
from lvwall.data import VIEW_WALLS, check_view, segment_names
from lvwall.regional.motion import MotionCurves
from lvwall.regional.schematic import horseshoe
from lvwall.wall import Centreline, centreline_segments, segment_colours, segment_legend_label

_DPI = 120


def plot_motion_curves(
    motion: MotionCurves, target: str | Path, title: str = "", view: str = "A4C"
) -> Path:
    """Per-segment displacement, inward displacement and thickening over the cycle (PNG),
    one line per segment of ``view`` in its colour."""
    colours = segment_colours(view)
    frames = np.arange(1, len(motion.displacement) + 1)
    panels = (
        (
            100 * motion.normalised_displacement,
            "displacement (% of LV long axis)",
            "Endocardial displacement",
        ),
        (
            100 * motion.normalised_inward,
            "inward displacement (% of LV long axis)",
            "Inward motion",
        ),
        (100 * motion.thickening, "wall thickening (%)", "Wall thickening"),
    )
    figure = Figure(figsize=(14, 4), layout="constrained")
    all_axes = figure.subplots(1, len(panels), sharex=True)
    for axes, (curves, ylabel, panel_title) in zip(all_axes, panels, strict=True):
        for index, colour in enumerate(colours):
            axes.plot(
                frames, curves[:, index], color=colour, label=segment_legend_label(index, view)
            )
        axes.axhline(0.0, color="0.6", linewidth=0.8)
        axes.grid(alpha=0.3)
        axes.set(xlabel="frame of the cycle", ylabel=ylabel, title=panel_title)
    all_axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    if title:
        figure.suptitle(title)
    return _save(figure, target)


def plot_segment_diagram(
    values: np.ndarray,
    target: str | Path,
    value_label: str = "motion score",
    flags: np.ndarray | None = None,
    title: str = "",
    view: str = "A4C",
    value_range: tuple[float, float] = (0.0, 1.0),
    thresholds: np.ndarray | None = None,
) -> Path:
    """The wall of ``view`` as a schematic horseshoe, its six segments coloured by ``values``.

    Apex at the top, the view's first wall on the left (the septum in A4C, the inferior wall
    in A2C), as in the standard apical display; ``values`` (6,) follow the view's segment
    order. The colour scale is ``value_range``, fixed (a score's is
    :data:`lvwall.regional.mi.SCORE_RANGES`), never stretched to the values, so that one
    colour means one amount of motion in every recording. ``thresholds`` (6,), the learned
    hypokinesia thresholds, are marked on the colour bar and written under each segment's
    value. Segments flagged hypokinetic (``flags``, six booleans) are hatched and outlined
    in black. NaN values are drawn grey.
    """
    names = segment_names(view)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(names),):
        raise ValueError(f"need {len(names)} values, got shape {values.shape}")
    low, high = value_range
    if not high > low:
        raise ValueError(f"value_range must rise, got {value_range}")
    flags = np.zeros(len(names), bool) if flags is None else np.asarray(flags, bool)
    norm = Normalize(low, high, clip=True)
    colormap = colormaps["viridis"]

    centreline = horseshoe()
    labels = centreline_segments(centreline)
    figure = Figure(figsize=(5.5, 6), layout="constrained")
    axes = figure.subplots()
    for index, name in enumerate(names):
        band = _band_polygon(centreline.points, labels == index + 1, half_width=9.0)
        colour = colormap(norm(values[index])) if np.isfinite(values[index]) else "0.8"
        axes.add_patch(
            Polygon(
                band[:, ::-1],
                facecolor=colour,
                edgecolor="black" if flags[index] else "white",
                linewidth=2.0 if flags[index] else 1.0,
                hatch="//" if flags[index] else None,
            )
        )
        text = name
        if np.isfinite(values[index]):
            text += f"\n{values[index]:.3g}"
        if thresholds is not None and np.isfinite(thresholds[index]):
            text += f"\n(< {thresholds[index]:.3g})"
        _label_segment(axes, centreline, labels == index + 1, text)
    axes.set_xlim(40, 184)
    axes.set_ylim(190, 10)
    axes.set_aspect("equal")
    axes.axis("off")
    axes.text(112, 185, "mitral annulus", ha="center", va="center", fontsize="small")
    left_wall, right_wall = VIEW_WALLS[check_view(view)]
    axes.text(60, 185, left_wall, ha="center", fontsize="small", style="italic")
    axes.text(164, 185, right_wall, ha="center", fontsize="small", style="italic")
    bar = figure.colorbar(ScalarMappable(norm, colormap), ax=axes, shrink=0.6, label=value_label)
    if thresholds is not None:
        for threshold in np.asarray(thresholds, dtype=float):
            if np.isfinite(threshold):
                bar.ax.axhline(threshold, color="red", linewidth=1.5)
        bar.ax.set_title("red: hypokinetic\nbelow", fontsize="x-small")
    if flags.any():
        axes.legend(
            handles=[Patch(facecolor="white", edgecolor="black", hatch="//", label="hypokinetic")],
            loc="lower center",
            bbox_to_anchor=(0.5, 0.04),
            fontsize="small",
        )
    if title:
        axes.set_title(title)
    return _save(figure, target)


def plot_segment_overlay(
    frame: np.ndarray, labels: np.ndarray, target: str | Path, title: str = "", view: str = "A4C"
) -> Path:
    """A grey frame (H, W) with its segment label map (H, W) overlaid in the colours of
    ``view``'s segments, with their names in the legend."""
    if frame.shape != labels.shape:
        raise ValueError(f"frame {frame.shape} and labels {labels.shape} differ in shape")
    colours = segment_colours(view)
    figure = Figure(figsize=(7.5, 5), layout="constrained")
    axes = figure.subplots()
    axes.imshow(frame, cmap="gray", interpolation="nearest")
    overlay = np.ma.masked_equal(labels, 0)
    axes.imshow(
        overlay,
        cmap=ListedColormap(colours),
        vmin=0.5,
        vmax=len(colours) + 0.5,
        alpha=0.6,
        interpolation="nearest",
    )
    axes.axis("off")
    axes.legend(
        handles=[
            Patch(color=colour, label=segment_legend_label(index, view))
            for index, colour in enumerate(colours)
        ],
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        fontsize="small",
    )
    if title:
        axes.set_title(title)
    return _save(figure, target)


def _band_polygon(points: np.ndarray, selected: np.ndarray, half_width: float) -> np.ndarray:
    """Outline (M, 2) of the wall band round the selected run of centreline points."""
    indices = np.flatnonzero(selected)
    # Include the next point so that neighbouring segments meet without a gap.
    run = points[indices[0] : min(indices[-1] + 2, len(points))]
    tangent = np.gradient(run, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return np.concatenate([run + half_width * normal, (run - half_width * normal)[::-1]])


def _label_segment(axes: Axes, centreline: Centreline, selected: np.ndarray, text: str) -> None:
    """Write ``text`` just outside the wall, beside the segment's middle."""
    indices = np.flatnonzero(selected)
    middle = indices[len(indices) // 2]
    tangent = np.gradient(centreline.points, axis=0)[middle]
    normal = np.array([-tangent[1], tangent[0]]) / np.linalg.norm(tangent)
    lv_centre = (centreline.annulus_midpoint + centreline.points[centreline.apex_index]) / 2
    point = centreline.points[middle]
    if np.dot(normal, point - lv_centre) < 0:
        normal = -normal
    row, col = point + 24.0 * normal
    axes.text(col, row, text, ha="center", va="center", fontsize="small", weight="bold")


def _save(figure: Figure, target: str | Path) -> Path:
    target = Path(target)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, dpi=_DPI)
    return target
