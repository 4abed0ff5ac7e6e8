"""Figures of regional analysis: they are written, show what they claim, and refuse bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from PIL import Image

from lvwall.data.records import SEGMENT_TITLES, VIEW_SEGMENTS, VIEW_WALLS
from lvwall.regional.figures import (
    plot_motion_curves,
    plot_segment_diagram,
    plot_segment_overlay,
)
from lvwall.regional.motion import MotionCurves
from lvwall.regional.schematic import draw_wall, horseshoe
from lvwall.wall import segment_colours
from lvwall.wall.segments import split_wall


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(int)


def _contains(pixels: np.ndarray, colour: tuple[float, float, float], tolerance: int = 6) -> bool:
    target = np.round(np.array(colour) * 255).astype(int)
    return bool((np.abs(pixels - target).max(axis=1) <= tolerance).any())


def test_motion_curves_are_drawn_in_the_segment_colours(tmp_path: Path) -> None:
    frames = np.linspace(0, 1, 8)[:, None] * np.arange(1, 7)[None]
    motion = MotionCurves(
        displacement=frames, inward=frames / 2, thickness=1 + frames / 10, long_axis=50.0
    )
    path = plot_motion_curves(motion, tmp_path / "motion.png", title="demo")
    pixels = _pixels(path)
    assert path == tmp_path / "motion.png"
    for colour in segment_colours():
        assert _contains(pixels, to_rgb(colour)), colour


@pytest.mark.parametrize("lowest", [0, 3, 5])
def test_diagram_colours_segments_by_their_value(tmp_path: Path, lowest: int) -> None:
    values = np.full(6, 0.3)  # above the scale: the top colour
    values[lowest] = 0.0
    path = plot_segment_diagram(
        values, tmp_path / "diagram.png", value_label="score", value_range=(0.0, 0.2)
    )
    pixels = _pixels(path)
    viridis = colormaps["viridis"]
    assert _contains(pixels, viridis(0.0)[:3])  # the lowest segment
    assert _contains(pixels, viridis(1.0)[:3])  # the others


def test_diagram_scale_is_fixed_not_stretched_to_the_values(tmp_path: Path) -> None:
    """Six equal scores at the middle of the scale take its middle colour in all six
    segments (a scale stretched to the data has no middle for equal values)."""
    pixels = _pixels(
        plot_segment_diagram(np.full(6, 0.1), tmp_path / "d.png", value_range=(0, 0.2))
    )
    middle = np.round(np.array(colormaps["viridis"](0.5)[:3]) * 255).astype(int)
    near = (np.abs(pixels - middle).max(axis=1) <= 2).sum()
    assert near > 0.05 * len(pixels)


def test_diagram_marks_the_learned_thresholds(tmp_path: Path) -> None:
    values = np.linspace(0.05, 0.15, 6)
    plain = _pixels(plot_segment_diagram(values, tmp_path / "plain.png", value_range=(0, 0.2)))
    marked = _pixels(
        plot_segment_diagram(
            values, tmp_path / "marked.png", value_range=(0, 0.2), thresholds=np.full(6, 0.1)
        )
    )
    assert _contains(marked, (1.0, 0.0, 0.0)) and not _contains(plain, (1.0, 0.0, 0.0))


def test_diagram_marks_flagged_segments(tmp_path: Path) -> None:
    values = np.linspace(0.01, 0.06, 6)
    plain = plot_segment_diagram(values, tmp_path / "plain.png")
    flagged = plot_segment_diagram(values, tmp_path / "flagged.png", flags=[1, 0, 0, 0, 0, 0])
    assert not np.array_equal(_pixels(plain), _pixels(flagged))


def test_diagram_draws_missing_values_grey(tmp_path: Path) -> None:
    values = np.array([np.nan, 0.02, 0.03, 0.04, 0.05, 0.06])
    pixels = _pixels(plot_segment_diagram(values, tmp_path / "diagram.png"))
    assert _contains(pixels, (0.8, 0.8, 0.8), tolerance=2)


def test_overlay_shows_every_segment_colour(tmp_path: Path) -> None:
    mask = draw_wall(horseshoe().points, 5.0)
    labels = split_wall(mask).labels
    path = plot_segment_overlay(np.zeros(mask.shape), labels, tmp_path / "overlay.png")
    pixels = _pixels(path)
    # On a black frame, a colour at 60 % opacity is 0.6 of itself.
    for colour in segment_colours():
        assert _contains(pixels, tuple(0.6 * c for c in to_rgb(colour)), tolerance=8), colour


def _texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text a figure writes with ``Axes.text`` (segment and wall labels), and legend
    entries."""
    written: list[str] = []
    text, legend = Axes.text, Axes.legend

    def record_text(self, x, y, s, *args, **kwargs):
        written.append(str(s))
        return text(self, x, y, s, *args, **kwargs)

    def record_legend(self, *args, **kwargs):
        written.extend(handle.get_label() for handle in kwargs.get("handles", []))
        return legend(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "text", record_text)
    monkeypatch.setattr(Axes, "legend", record_legend)
    return written


@pytest.mark.parametrize("view", ["A4C", "A2C"])
def test_diagram_names_the_walls_and_segments_of_the_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    written = _texts(monkeypatch)
    plot_segment_diagram(np.linspace(0.01, 0.06, 6), tmp_path / "diagram.png", view=view)
    assert [text for text in written if text in VIEW_WALLS[view]] == list(VIEW_WALLS[view])
    named = [text.split("\n")[0] for text in written if text.startswith("SEG")]
    assert named == list(VIEW_SEGMENTS[view])


@pytest.mark.parametrize("view", ["A4C", "A2C"])
def test_overlay_and_curves_of_a_view_use_its_colours_and_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    mask = draw_wall(horseshoe().points, 5.0)
    labels = split_wall(mask).labels
    written = _texts(monkeypatch)
    overlay = _pixels(
        plot_segment_overlay(np.zeros(mask.shape), labels, tmp_path / "overlay.png", view=view)
    )
    frames = np.linspace(0, 1, 8)[:, None] * np.arange(1, 7)[None]
    motion = MotionCurves(
        displacement=frames, inward=frames / 2, thickness=1 + frames / 10, long_axis=50.0
    )
    curves = _pixels(plot_motion_curves(motion, tmp_path / "motion.png", view=view))
    for colour in segment_colours(view):
        assert _contains(overlay, tuple(0.6 * c for c in to_rgb(colour)), tolerance=8), colour
        assert _contains(curves, to_rgb(colour)), colour
    assert written == [f"{name} {SEGMENT_TITLES[name]}" for name in VIEW_SEGMENTS[view]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: plot_segment_diagram(np.zeros(5), p), "6 values"),
        (lambda p: plot_segment_overlay(np.zeros((4, 4)), np.zeros((4, 5)), p), "differ"),
    ],
)
def test_bad_input_raises_value_error_and_writes_nothing(tmp_path: Path, call, message) -> None:
    target = tmp_path / "figure.png"
    with pytest.raises(ValueError, match=message):
        call(target)
    assert not list(tmp_path.iterdir())
