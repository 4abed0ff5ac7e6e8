"""The figure of ``lvwall measure``: volume curve, strain curves and a six-segment diagram.

Left, the LV volume of every frame with the measured cycle shaded and its ED and ES marked.
Middle, the strain of each segment (and GLS) over the cycle from its ED. Right, a bull's-eye
style diagram of the view's six segments: as in the 17-segment polar map (Cerqueira et al.,
Circulation 105(4), 2002), rings run from basal (outer) to apical (inner); the view cuts
the wall on the image's left (septal in A4C, inferior in A2C) and on its right (lateral,
anterior). Segments are coloured by their
end-systolic strain on a diverging map, red for shortening and blue for lengthening, as
strain polar maps are drawn (Voigt et al., EHJ-CVI 16(1), 2015).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Wedge
from matplotlib.ticker import MaxNLocator

from lvwall.atomic import atomic_path
from lvwall.data import VIEW_WALLS
from lvwall.measure.result import Measurements
from lvwall.wall import segment_colours, segment_legend_label

#: Strain (%) at the ends of the diagram's colour scale.
STRAIN_RANGE = (-25.0, 25.0)
#: Ring (0 basal, outer; 2 apical, inner) and half (0 the image's left wall, 1 its right) of
#: each segment in label-map order.
_PLACES = ((0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1))
_DPI = 120


def plot_measurements(measurements: Measurements, target: str | Path, title: str = "") -> Path:
    """Draw the three panels of one recording's measurements to a PNG."""
    figure = Figure(figsize=(16, 4.8), layout="constrained")
    volume_axes, strain_axes, diagram_axes = figure.subplots(
        1, 3, gridspec_kw={"width_ratios": [1.1, 1.3, 0.9]}
    )
    _volume_panel(volume_axes, measurements)
    _strain_panel(strain_axes, measurements)
    _diagram_panel(diagram_axes, measurements)
    if title:
        figure.suptitle(title)
    target = Path(target)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, dpi=_DPI)
    return target


def _volume_panel(axes: Axes, measurements: Measurements) -> None:
    unit = measurements.scale.volume_unit
    column = f"volume_{unit}"
    frames = measurements.frames["frame"].to_numpy()
    axes.plot(frames, measurements.frames[column].to_numpy(), "o-", color="0.25", markersize=3)
    cycle = measurements.cycle
    if cycle is None:
        axes.text(0.5, 0.5, "no cycle measured", ha="center", transform=axes.transAxes)
    else:
        span = cycle.frames
        axes.axvspan(span.start + 1, span.stop, color="0.9", label="measured cycle")
        for index, label, colour in ((cycle.ed, "ED", "#0072B2"), (cycle.es, "ES", "#D55E00")):
            value = measurements.frames[column].iloc[index]
            axes.plot(index + 1, value, "s", color=colour, markersize=8, label=label)
            axes.annotate(
                f"{label} {index + 1}",
                (index + 1, value),
                textcoords="offset points",
                xytext=(4, 6),
                color=colour,
            )
        axes.legend(loc="best", fontsize="small")
    title = _with_interval("EF", measurements.ef_percent, measurements, "ef_percent")
    axes.set(xlabel="frame", ylabel=f"LV volume, method of discs ({unit})", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)


def _with_interval(label: str, value: float | None, measurements: Measurements, key: str) -> str:
    if value is None:
        return f"{label} not measured"
    text = f"{label} {value:.1f} %"
    interval = measurements.intervals.get(key)
    if interval is not None:
        text += f" ({interval.low:.1f} to {interval.high:.1f})"
    return text


def _strain_panel(axes: Axes, measurements: Measurements) -> None:
    curves = measurements.strain_curves
    frames = np.arange(1, len(curves) + 1)
    drawn = np.isfinite(curves[:, 0])
    title = _with_interval("GLS", measurements.gls_percent, measurements, "gls_percent")
    if not drawn.any():
        axes.set_title(title)
        _say_why(axes, "no strain curves", measurements.missing.get("gls_percent"))
        return
    colours = segment_colours(measurements.view)
    for index in range(len(measurements.segment_names)):
        axes.plot(
            frames[drawn],
            curves[drawn, index + 1],
            color=colours[index],
            label=segment_legend_label(index, measurements.view),
        )
    axes.plot(frames[drawn], curves[drawn, 0], "k--", linewidth=2, label="GLS")
    if measurements.cycle is not None:
        axes.axvline(measurements.cycle.es + 1, color="#D55E00", linewidth=0.8)
    axes.axhline(0.0, color="0.6", linewidth=0.8)
    axes.set(xlabel="frame", ylabel="longitudinal strain from ED (%)", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")


def _say_why(axes: Axes, what: str, reason: str | None) -> None:
    """Write in an empty panel what is missing and why, in place of its curves."""
    text = what if reason is None else f"{what}: {reason}"
    axes.text(0.5, 0.5, textwrap.fill(text, 45), ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _diagram_panel(axes: Axes, measurements: Measurements) -> None:
    norm = Normalize(*STRAIN_RANGE)
    colormap = colormaps["RdBu"]
    ring_width = 1.0
    for index, (ring, half) in enumerate(_PLACES):
        name = measurements.segment_names[index]
        value = measurements.segment_strain[name]
        outer = 3.0 - ring * ring_width
        # The image's left wall on the left (90 to 270 degrees), its right wall on the right.
        start, end = (90.0, 270.0) if half == 0 else (-90.0, 90.0)
        colour = "0.85" if value is None else colormap(norm(value))
        axes.add_patch(
            Wedge((0, 0), outer, start, end, width=ring_width, facecolor=colour, edgecolor="white")
        )
        middle = np.deg2rad((start + end) / 2.0)
        radius = outer - ring_width / 2.0
        text = f"{name}\n{'n/a' if value is None else f'{value:.1f}'}"
        # White on the dark ends of the scale, black in its pale middle.
        dark = value is not None and abs(norm(value) - 0.5) > 0.3
        axes.text(
            radius * np.cos(middle),
            radius * np.sin(middle),
            text,
            ha="center",
            va="center",
            fontsize="small",
            weight="bold",
            color="white" if dark else "black",
        )
    axes.set_xlim(-3.2, 3.2)
    axes.set_ylim(-3.2, 3.4)
    axes.set_aspect("equal")
    axes.axis("off")
    left, right = VIEW_WALLS[measurements.view]
    axes.text(-1.6, 3.15, left, ha="center", style="italic", fontsize="small")
    axes.text(1.6, 3.15, right, ha="center", style="italic", fontsize="small")
    axes.set_title("end-systolic strain (%)\nbasal outside, apical inside")
    if all(value is None for value in measurements.segment_strain.values()):
        reason = measurements.missing.get(
            f"segments.{measurements.segment_names[0]}.strain_percent"
        )
        axes.text(
            0,
            -3.15,
            textwrap.fill(f"not measured: {reason}", 48) if reason else "",
            ha="center",
            va="top",
            fontsize="small",
        )
    axes.figure.colorbar(ScalarMappable(norm, colormap), ax=axes, shrink=0.7, label="strain (%)")
