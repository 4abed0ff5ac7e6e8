"""Figures of the explanations: what they draw and that they save as real PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvwall.explain.figures import (
    display_map,
    feature_map_figure,
    kernel_grid_figure,
    receptive_field_figure,
    saliency_figure,
    sanity_figure,
    save_figure,
)
from lvwall.explain.filters import FeatureMaps
from lvwall.explain.receptive_field import summarise
from lvwall.explain.saliency import Explanation
from lvwall.explain.sanity import SanityReport, SanityStep
from lvwall.model import UNet, UNetConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _explanation(method: str = "vanilla", layer: str | None = None) -> Explanation:
    rng = np.random.default_rng(0)
    region = np.zeros((24, 24), dtype=bool)
    region[5:15, 4:8] = True
    return Explanation(
        method=method,
        target="wall",
        frame=rng.random((24, 24), dtype=np.float32),
        probability=rng.random((24, 24), dtype=np.float32),
        region=region,
        attribution=rng.normal(size=(24, 24)).astype(np.float32),
        layer=layer,
    )


@pytest.mark.parametrize(
    ("values", "percentile", "expected"),
    [
        ([0.0, 1.0, 2.0, 4.0], 100, [0.0, 0.25, 0.5, 1.0]),
        ([0.0, -2.0, 2.0, 8.0], 50, [0.0, 1.0, 1.0, 1.0]),  # median |a| = 2, clipped above
        ([0.0, 0.0], 99.5, [0.0, 0.0]),
    ],
)
def test_display_map_scales_magnitudes_by_a_percentile(
    values: list[float], percentile: float, expected: list[float]
) -> None:
    np.testing.assert_allclose(display_map(np.array(values), percentile), expected)


def test_display_map_rejects_a_bad_percentile() -> None:
    with pytest.raises(ValueError, match="percentile"):
        display_map(np.ones(3), 0)


@pytest.mark.parametrize(
    ("layer", "title"), [(None, "vanilla"), ("bottleneck", "gradcam (bottleneck)")]
)
def test_saliency_figure_shows_frame_map_and_overlay(layer: str | None, title: str) -> None:
    method = "gradcam" if layer else "vanilla"
    figure = saliency_figure(_explanation(method, layer), title="ES0001, frame 0")
    titles = [axis.get_title() for axis in figure.axes]
    assert titles[:3] == ["frame", title, "overlay, target wall"]
    assert len(figure.axes) == 4  # three panels and the colour bar
    assert figure.axes[1].images[0].get_cmap().name == "magma"


# ceil(sqrt(n)) columns: 17 kernels take 5 columns x 4 rows.
@pytest.mark.parametrize(("n_kernels", "tiles"), [(1, 1), (16, 16), (17, 20)])
def test_kernel_grid_has_a_square_ish_layout(n_kernels: int, tiles: int) -> None:
    figure = kernel_grid_figure(np.ones((n_kernels, 3, 3)))
    assert len(figure.axes) == tiles
    assert sum(len(axis.images) for axis in figure.axes) == n_kernels


def test_kernel_grid_needs_kernels() -> None:
    with pytest.raises(ValueError, match="kernels"):
        kernel_grid_figure(np.ones((3, 3)))


def test_feature_map_figure_has_a_row_per_layer() -> None:
    layers = [
        FeatureMaps("encoders.0", np.array([3, 1]), np.array([0.5, 0.2]), np.ones((2, 8, 8))),
        FeatureMaps("head", np.array([0]), np.array([-0.9]), -np.arange(16.0).reshape(1, 4, 4)),
    ]
    figure = feature_map_figure(layers, np.zeros((8, 8)))
    visible = [axis for axis in figure.axes if axis.get_visible()]
    assert len(figure.axes) == 3 * 2  # the frame's row, then one row per layer
    assert len(visible) == 1 + 2 + 1
    assert figure.axes[2].get_title() == "#3 (0.5)"
    assert figure.axes[2].get_ylabel() == "encoders.0"
    assert figure.axes[4].images[0].get_clim() == (-15.0, 0.0)  # signed maps keep their range


def test_receptive_field_chart_draws_spatial_layers_only() -> None:
    rows = summarise(UNet(UNetConfig(widths=(2, 4), norm="batch")), 16)
    figure = receptive_field_figure(rows, input_size=16)
    axis = figure.axes[0]
    spatial = [row for row in rows if row.kind in ("Conv2d", "ConvTranspose2d", "MaxPool2d")]
    heights = [patch.get_height() for patch in axis.patches]
    assert heights == [row.receptive_field.size[0] for row in spatial]
    assert [label.get_text() for label in axis.get_xticklabels()] == [r.name for r in spatial]
    legend = axis.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        "Conv2d", "ConvTranspose2d", "MaxPool2d", "input size"
    ]  # fmt: skip
    colours = {patch.get_facecolor() for patch in legend.get_patches()}
    assert len(colours) == 3


def test_sanity_figure_shows_every_step() -> None:
    steps = [
        SanityStep("head", ("head",), 0.8, np.ones((24, 24))),
        SanityStep("bottleneck", ("head", "bottleneck"), 0.3, np.ones((24, 24))),
    ]
    figure = sanity_figure(SanityReport(_explanation(), "cascading", steps))
    titles = [axis.get_title() for axis in figure.axes]
    assert titles[:3] == ["original", "- head", "- bottleneck"]
    line = figure.axes[-1].lines[0]
    assert list(line.get_ydata()) == [0.8, 0.3]


def test_save_figure_writes_a_png(tmp_path: Path) -> None:
    path = save_figure(saliency_figure(_explanation()), tmp_path / "out" / "map.png", dpi=50)
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in path.parent.iterdir()] == ["map.png"]
