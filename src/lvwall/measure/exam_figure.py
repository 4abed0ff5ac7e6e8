"""The figure of a two-view exam: EF by each method with its interval, and the twelve
segments' end-systolic strain on the AHA 17-segment polar map.

The polar map follows Cerqueira et al. (Circulation 105(4), 2002): basal ring outside, mid
ring, apical ring of four, apex in the centre; anterior at the top, septum on the left,
inferior at the bottom, lateral on the right. The A4C and A2C views show twelve of the
seventeen segments; the five they miss (basal and mid anteroseptal and inferolateral, seen
in the apical long-axis view, and the apical cap) are drawn grey. Strain is coloured on a
fixed diverging scale, red for shortening and blue for lengthening (Voigt et al., EHJ-CVI
16(1), 2015), the same scale as a single recording's figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Wedge

from lvwall.atomic import atomic_path
from lvwall.measure.figures import STRAIN_RANGE

if TYPE_CHECKING:
    from lvwall.measure.exam import ExamMeasurements

#: Polar-map place of each AHA segment: (ring, start angle, end angle) in degrees, ring 0
#: basal (outer) to 2 apical; segment 17, the apex, is the centre disc.
POLAR_PLACES: dict[int, tuple[int, float, float]] = {
    **{number: (0, 60.0 * (number - 1) + 60.0, 60.0 * number + 60.0) for number in range(1, 7)},
    **{
        number: (1, 60.0 * (number - 7) + 60.0, 60.0 * (number - 6) + 60.0)
        for number in range(7, 13)
    },
    **{
        number: (2, 90.0 * (number - 13) + 45.0, 90.0 * (number - 12) + 45.0)
        for number in range(13, 17)
    },
}
_RADII = (3.0, 2.0, 1.0, 0.45)
_DPI = 120


def plot_exam(exam: ExamMeasurements, target: str | Path) -> Path:
    """Draw the exam's EF panel and its 12-segment polar map to a PNG."""
    figure = Figure(figsize=(12, 5.2), layout="constrained")
    ef_axes, map_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.1]})
    _ef_panel(ef_axes, exam)
    _polar_map(map_axes, exam)
    figure.suptitle(exam.name)
    target = Path(target)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, dpi=_DPI)
    return target


def _ef_panel(axes: Axes, exam: ExamMeasurements) -> None:
    rows = [
        (f"{view} single-plane", m.ef_percent, m.intervals.get("ef_percent"), m.missing)
        for view, m in exam.views.items()
    ]
    rows.append(("biplane", exam.ef_percent, exam.intervals.get("ef_percent"), exam.missing))
    for position, (label, value, interval, missing) in enumerate(rows):
        if value is None:
            axes.text(
                1,
                position,
                f"missing: {missing.get('ef_percent', 'not measured')}",
                va="center",
                fontsize="small",
                wrap=True,
            )
            continue
        colour = "#0072B2" if label == "biplane" else "0.35"
        axes.plot(value, position, "o", color=colour, markersize=9)
        if interval is not None:
            axes.plot([interval.low, interval.high], [position] * 2, "-", color=colour, linewidth=2)
        axes.annotate(
            f"{value:.1f} %",
            (value, position),
            textcoords="offset points",
            xytext=(0, 9),
            ha="center",
            color=colour,
        )
    axes.set_yticks(range(len(rows)), [row[0] for row in rows])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlim(0, 100)
    axes.axvspan(52, 72, color="#009E73", alpha=0.08, label="normal EF range (Lang 2015)")
    axes.set(xlabel="ejection fraction (%), with its interval", title="EF by method")
    axes.legend(loc="lower right", fontsize="small")
    axes.grid(axis="x", alpha=0.3)


def _polar_map(axes: Axes, exam: ExamMeasurements) -> None:
    norm = Normalize(*STRAIN_RANGE)
    colormap = colormaps["RdBu"]
    strain = {int(row.segment[3:]): row.strain_percent for row in exam.segments().itertuples()}
    for number, (ring, start, end) in POLAR_PLACES.items():
        outer = _RADII[ring]
        inner = _RADII[ring + 1] if ring < 2 else _RADII[3]
        value = strain.get(number)
        shown = value is not None and np.isfinite(value)
        colour = colormap(norm(value)) if shown else "0.88"
        axes.add_patch(
            Wedge(
                (0, 0),
                outer,
                start,
                end,
                width=outer - inner,
                facecolor=colour,
                edgecolor="white",
                linewidth=1.5,
            )
        )
        middle = np.deg2rad((start + end) / 2.0)
        radius = (outer + inner) / 2.0
        if value is None:
            text, dark = f"{number}\nnot in\nA4C/A2C", False
        else:
            text = f"{number}\n{value:.1f}" if shown else f"{number}\nn/a"
            dark = shown and abs(norm(value) - 0.5) > 0.3
        axes.text(
            radius * np.cos(middle),
            radius * np.sin(middle),
            text,
            ha="center",
            va="center",
            fontsize="x-small" if value is None else "small",
            weight="bold",
            color="white" if dark else "black",
        )
    axes.add_patch(Circle((0, 0), _RADII[3], facecolor="0.88", edgecolor="white"))
    axes.text(0, 0, "17", ha="center", va="center", fontsize="small")
    for x, y, label in (
        (0, 3.25, "anterior"),
        (0, -3.35, "inferior"),
        (-3.3, 0, "septal"),
        (3.3, 0, "lateral"),
    ):
        axes.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            style="italic",
            fontsize="small",
            rotation=90 if x else 0,
        )
    axes.set_xlim(-3.6, 3.6)
    axes.set_ylim(-3.6, 3.6)
    axes.set_aspect("equal")
    axes.axis("off")
    gls = exam.gls_percent
    axes.set_title(
        "end-systolic strain (%), AHA 17-segment map\n"
        + ("two-view GLS missing" if gls is None else f"two-view GLS {gls:.1f} %")
    )
    axes.figure.colorbar(ScalarMappable(norm, colormap), ax=axes, shrink=0.7, label="strain (%)")
