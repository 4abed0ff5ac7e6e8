"""Receptive fields: hand-derived values for the study's U-Net, and the analytic computation
against the gradient support it predicts, position by position."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lvwall.explain.receptive_field import (
    SUMMARY_COLUMNS,
    analytic_receptive_field,
    empirical_receptive_field,
    gradient_supports,
    summarise,
    summary_csv,
    summary_markdown,
    summary_table,
)
from lvwall.model import UNet, UNetConfig, build_model, count_parameters

pytestmark = pytest.mark.usefixtures("one_thread")


# The `seed` U-Net (3 levels 224-112-56, widths 64-128-256, four bottleneck convolutions).
# Regions are written as the input pixels [first, last] that a position sees; j is the jump.
# Level 0 (j=1), position o:
#   encoders.0.0  3x3: [o-1, o+1]                                              3
#   encoders.0.2  3x3: [o-2, o+2]                                              5
#   pools.0       2x2/2 reads o=2q, 2q+1: [2q-2, 2q+3]                         6
# Level 1 (j=2), position q:
#   encoders.1.0  3x3 adds one position per side, 2 px each: [2q-4, 2q+5]     10
#   encoders.1.2  [2q-6, 2q+7]                                                14
#   pools.1       reads q=2b, 2b+1: [4b-6, 4b+9]                              16
# Level 2 (j=4), position b: each 3x3 convolution adds 4 px per side:
#   bottleneck.0 .. bottleneck.6: 24, 32, 40, 48    ([4b-22, 4b+25] after the fourth)
# ups.0: 2x2/2 transposed, position q copies b = floor(q/2): 48, the same region.
#   decoders.0.0  3x3 at q-1..q+1 reaches b = floor((q-1)/2)..floor((q+1)/2): two b
#                 for every q: 48 + 4 = 52 (the skip path, 14 + 2*2 = 18, lies inside)
#   decoders.0.2  q-2..q+2 reaches three b for every q: 48 + 8 = 56
# ups.1: position o copies q = floor(o/2): 56.
#   decoders.1.0  o-1..o+1 reaches q1 = floor((o-1)/2) and q1+1, and they reach
#                 b = floor((q1-2)/2)..floor((q1+3)/2): 3 b (56) for even q1, 4 b (60)
#                 for odd q1, so the largest is 60. (The closed-form recursion
#                 r += (k-1) j gives 56 + 2 = 58, a size no position has.)
#   decoders.1.2  o-2..o+2 reaches q1..q1+2 and b = floor((q1-2)/2)..floor((q1+4)/2):
#                 4 b for either parity: 60
#   head          1x1: 60
SEED_FIELDS = {
    "encoders.0.0": 3,
    "encoders.0.2": 5,
    "pools.0": 6,
    "encoders.1.0": 10,
    "encoders.1.2": 14,
    "pools.1": 16,
    "bottleneck.0": 24,
    "bottleneck.2": 32,
    "bottleneck.4": 40,
    "bottleneck.6": 48,
    "ups.0": 48,
    "decoders.0.0": 52,
    "decoders.0.2": 56,
    "ups.1": 56,
    "decoders.1.0": 60,
    "decoders.1.2": 60,
    "head": 60,
}


@pytest.fixture(scope="module")
def seed_summary() -> list:
    return summarise(build_model("seed"), 224)


@pytest.mark.parametrize(("layer", "expected"), sorted(SEED_FIELDS.items()))
def test_seed_receptive_fields_match_the_hand_derivation(
    seed_summary: list, layer: str, expected: int
) -> None:
    row = next(row for row in seed_summary if row.name == layer)
    assert row.receptive_field.size == (expected, expected)


def test_seed_decoder_positions_alternate_between_56_and_60(seed_summary: list) -> None:
    field = next(row for row in seed_summary if row.name == "decoders.1.0").receptive_field
    centre = field.rows.extent[100:108]
    assert set(centre.tolist()) == {56, 60}


def test_seed_summary_rows_follow_the_forward_pass(seed_summary: list) -> None:
    model = build_model("seed")
    assert sum(row.parameters for row in seed_summary) == count_parameters(model) == 3_043_009
    names = [row.name for row in seed_summary]
    assert names[0] == "encoders.0.0" and names[-1] == "head"
    assert names.index("bottleneck.0") < names.index("ups.0") < names.index("decoders.0.0")
    head = seed_summary[-1]
    assert (head.kind, head.output_shape) == ("Conv2d", (1, 1, 224, 224))


TINY = UNetConfig(in_channels=1, widths=(2, 3, 4), norm="batch")


@pytest.mark.parametrize(
    "layer",
    [
        "encoders.0.0",
        "pools.0",
        "encoders.1.3",
        "pools.1",
        "bottleneck.3",
        "ups.0",
        "decoders.0.0",
        "decoders.0.3",
        "ups.1",
        "decoders.1.0",
        "decoders.1.3",
        "head",
    ],
)
def test_analytic_field_equals_the_gradient_support(layer: str) -> None:
    """Largest region over the four phases of a 4x-strided U-Net, on a 96 px input where
    the centre's field (at most 44 px) is never clipped."""
    model = UNet(TINY)
    analytic = analytic_receptive_field(model, layer, 96).size
    assert empirical_receptive_field(model, layer, input_size=96, phases=4) == analytic


@pytest.mark.parametrize("layer", ["decoders.1.0", "head", "pools.1"])
def test_every_position_sees_what_the_gradient_says_even_at_the_border(layer: str) -> None:
    model = UNet(TINY)
    field = analytic_receptive_field(model, layer, 32)
    size = len(field.rows)
    positions = [(0, 0), (1, size - 1), (size // 2, 3), (size - 1, size // 2 + 1), (2, 5)]
    supports = gradient_supports(model, positions, layer, input_size=32)
    assert supports == [field.at(row, col) for row, col in positions]


def _sequential_cases() -> dict[str, nn.Module]:
    return {
        "strided conv": nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.ReLU()),
        "dilated conv": nn.Sequential(nn.Conv2d(1, 2, 3, padding=2, dilation=2)),
        "rectangular kernel": nn.Sequential(nn.Conv2d(1, 2, (5, 3), padding=(2, 1))),
        "transposed 3x3 stride 2": nn.Sequential(
            nn.Conv2d(1, 2, 3, stride=2),
            nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1),
            nn.Conv2d(2, 1, 3, padding=1),
        ),
        "average pool": nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(3, 2, 1)),
        "ceil-mode max pool": nn.Sequential(
            nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, 2, ceil_mode=True), nn.Conv2d(2, 1, 3)
        ),
        "nearest upsampling": nn.Sequential(
            nn.Conv2d(1, 2, 3, stride=2), nn.Upsample(scale_factor=2), nn.Conv2d(2, 1, 3)
        ),
        "bilinear upsampling": nn.Sequential(
            nn.Conv2d(1, 2, 3, stride=2),
            nn.Upsample(scale_factor=2, mode="bilinear"),
            nn.Conv2d(2, 1, 3),
        ),
        "bilinear, corners aligned": nn.Sequential(
            nn.Conv2d(1, 2, 3, stride=2),
            nn.Upsample(size=(29, 29), mode="bilinear", align_corners=True),
            nn.Conv2d(2, 1, 1),
        ),
    }


@pytest.mark.parametrize("case", sorted(_sequential_cases()))
def test_each_spatial_rule_matches_the_gradient_support_everywhere(case: str) -> None:
    model = _sequential_cases()[case]
    field = analytic_receptive_field(model, None, 24)
    positions = [(row, col) for row in range(len(field.rows)) for col in (0, len(field.cols) - 1)]
    supports = gradient_supports(model, positions, None, input_size=24)
    assert supports == [field.at(row, col) for row, col in positions]


class _Skip(nn.Module):
    """Two paths of different depth, added: the union of their regions."""

    def __init__(self) -> None:
        super().__init__()
        self.short = nn.Conv2d(1, 1, 3, padding=1)
        self.long = nn.Sequential(nn.Conv2d(1, 1, 5, padding=2), nn.Conv2d(1, 1, 5, padding=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.short(x) + self.long(x)


def test_merged_paths_take_the_larger_region() -> None:
    # long path: 5 + 4 = 9 pixels; short path: 3.
    assert analytic_receptive_field(_Skip(), None, 32).size == (9, 9)
    assert empirical_receptive_field(_Skip(), None, input_size=32, phases=1) == (9, 9)


class _Global(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.pool(self.conv(x))


class _SpatialCat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), x], dim=-1)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_Global(), "whole input"),
        (_SpatialCat(), "spatial axis"),
        (nn.Sequential(nn.ReflectionPad2d(2), nn.Conv2d(1, 1, 3)), "without a receptive-field"),
        (nn.Sequential(nn.Flatten()), "no Conv2d"),
    ],
)
def test_unsupported_models_are_refused(model: nn.Module, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarise(model, 16)


def test_unknown_layer_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no leaf layer"):
        analytic_receptive_field(UNet(TINY), "bottleneck", 32)


def test_summary_renders_as_csv_markdown_and_rich() -> None:
    rows = summarise(UNet(TINY), 32)
    csv_lines = summary_csv(rows).splitlines()
    assert csv_lines[0] == ",".join(SUMMARY_COLUMNS)
    assert len(csv_lines) == len(rows) + 1
    assert csv_lines[1] == "encoders.0.0,Conv2d,2x32x32,18,3"
    markdown = summary_markdown(rows).splitlines()
    assert markdown[2] == "| encoders.0.0 | Conv2d | 2x32x32 | 18 | 3 |"
    assert len(markdown) == len(rows) + 2
    table = summary_table(rows)
    assert table.row_count == len(rows)
    assert table.caption == f"{count_parameters(UNet(TINY)):,} parameters"


def test_summary_restores_training_mode() -> None:
    model = UNet(TINY).train()
    summarise(model, 32)
    assert model.training


def test_extents_are_zero_where_a_position_sees_only_padding() -> None:
    model = nn.Sequential(nn.Conv2d(1, 1, 1, padding=2))
    field = analytic_receptive_field(model, None, 8)
    assert field.rows.extent.tolist() == [0, 0] + [1] * 8 + [0, 0]
    np.testing.assert_array_equal(
        gradient_supports(model, [(0, 0), (5, 5)], None, input_size=8), [(0, 0), (1, 1)]
    )
