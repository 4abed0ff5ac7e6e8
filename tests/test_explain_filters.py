"""First-layer kernels and per-block feature maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lvwall.explain.filters import block_names, feature_maps, first_convolution, grey_kernels
from lvwall.model import UNet, UNetConfig
from tiny_models import noise_frame, seeded_unet

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> UNet:
    return seeded_unet((4, 6, 8)).eval()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return noise_frame(32)


def test_first_convolution_is_the_input_layer(model: UNet) -> None:
    assert first_convolution(model) is model.encoders[0][0]


@pytest.mark.parametrize(("in_channels", "widths"), [(1, (4, 8)), (3, (5, 8))])
def test_grey_kernels_sum_the_input_channels(in_channels: int, widths: tuple[int, ...]) -> None:
    """A grey frame replicated to C channels meets the sum of the C per-channel kernels:
    convolving with the summed kernel gives the network's own first-layer response."""
    torch.manual_seed(1)
    rgb = UNet(UNetConfig(in_channels=in_channels, widths=widths))
    conv = first_convolution(rgb)
    kernels = grey_kernels(conv)
    assert kernels.shape == (widths[0], 3, 3)
    grey = torch.rand(1, 1, 12, 12)
    expected = conv(grey.expand(-1, in_channels, -1, -1)) - conv.bias[None, :, None, None]
    summed = nn.functional.conv2d(grey, torch.as_tensor(kernels)[:, None], padding=1)
    torch.testing.assert_close(summed, expected, rtol=1e-5, atol=1e-6)


def test_grouped_convolutions_are_refused() -> None:
    with pytest.raises(ValueError, match="groups"):
        grey_kernels(nn.Conv2d(2, 2, 3, groups=2))


def test_a_model_without_convolutions_is_refused() -> None:
    with pytest.raises(ValueError, match="Conv2d"):
        first_convolution(nn.Sequential(nn.Linear(2, 2)))


@pytest.mark.parametrize(
    ("widths", "expected"),
    [
        ((4, 8), ["encoders.0", "bottleneck", "ups.0", "decoders.0", "head"]),
        (
            (4, 6, 8),
            [
                "encoders.0",
                "encoders.1",
                "bottleneck",
                "ups.0",
                "ups.1",
                "decoders.0",
                "decoders.1",
                "head",
            ],
        ),
    ],
)
def test_block_names_list_the_parameterised_blocks(
    widths: tuple[int, ...], expected: list[str]
) -> None:
    assert block_names(UNet(UNetConfig(widths=widths))) == expected


def _output_of(model: nn.Module, name: str, frame: np.ndarray) -> torch.Tensor:
    outputs: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        outputs.append(output.detach())

    handle = model.get_submodule(name).register_forward_hook(keep)
    with torch.no_grad():
        model(torch.as_tensor(frame)[None, None])
    handle.remove()
    return outputs[0]


@pytest.mark.parametrize("top_k", [1, 3, 100])
def test_feature_maps_keep_the_most_active_channels(
    model: UNet, frame: np.ndarray, top_k: int
) -> None:
    layers = feature_maps(model, frame, ["encoders.1", "decoders.1"], top_k=top_k)
    assert [layer.layer for layer in layers] == ["encoders.1", "decoders.1"]
    captured = {name: _output_of(model, name, frame)[0] for name in ("encoders.1", "decoders.1")}
    for layer in layers:
        maps = captured[layer.layer]
        means = maps.mean(dim=(1, 2)).numpy()
        kept = min(top_k, maps.shape[0])
        assert len(layer.channels) == kept
        np.testing.assert_allclose(layer.activation, np.sort(means)[::-1][:kept], rtol=1e-6)
        np.testing.assert_allclose(layer.maps, maps[layer.channels].numpy(), rtol=1e-6)


def test_default_layers_are_the_blocks(model: UNet, frame: np.ndarray) -> None:
    layers = feature_maps(model, frame)
    assert [layer.layer for layer in layers] == block_names(model)
    assert layers[0].maps.shape[1:] == (32, 32)
    assert layers[2].maps.shape[1:] == (8, 8)  # the bottleneck, two poolings down


class _WithIdleLayer(UNet):
    """A U-Net with a layer that its forward pass never runs."""

    def __init__(self) -> None:
        super().__init__(UNetConfig(widths=(4, 8)))
        self.idle = nn.Conv2d(1, 1, 1)


@pytest.mark.parametrize(
    ("model", "layers", "top_k", "message"),
    [
        (UNet(UNetConfig(widths=(4, 8))), ["nope"], 2, "no layer"),
        (UNet(UNetConfig(widths=(4, 8))), None, 0, "top_k"),
        (_WithIdleLayer(), ["idle"], 2, "idle"),
    ],
)
def test_bad_requests_are_value_errors(
    model: UNet, frame: np.ndarray, layers: list[str] | None, top_k: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        feature_maps(model, frame, layers, top_k=top_k)
