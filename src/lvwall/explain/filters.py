"""What the network learned: first-layer kernels and per-block feature maps of one frame.

The first layer's kernels are the only weights that can be read as images (Zeiler & Fergus,
"Visualizing and understanding convolutional networks", ECCV 2014); deeper layers are shown
through their activations on a real frame, keeping the most active channels of each block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lvwall.explain.saliency import find_layer, frame_tensor


def first_convolution(model: nn.Module) -> nn.Conv2d:
    """The first :class:`torch.nn.Conv2d` of ``model`` in registration order (the input layer
    of a sequentially built network such as :class:`lvwall.model.UNet`)."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise ValueError("model has no Conv2d layer")
    return conv


def grey_kernels(conv: nn.Conv2d) -> np.ndarray:
    """The kernels ``(out_channels, kh, kw)`` as they act on a grey frame.

    A grey echo given to a 3-channel (RGB) model is replicated to every channel, so each
    output channel applies the sum of its per-channel kernels; for a 1-channel model this is
    the kernel itself.
    """
    if conv.groups != 1:
        raise ValueError(f"expected an ungrouped convolution, got groups={conv.groups}")
    return conv.weight.detach().sum(dim=1).float().cpu().numpy()


def block_names(model: nn.Module) -> list[str]:
    """The model's building blocks: its direct children, with module lists expanded
    (``encoders.0``, ``encoders.1``, ``bottleneck``, ``ups.0``, ... for a U-Net).

    Parameter-free modules (pooling, activation) are left out.
    """
    names = []
    for name, child in model.named_children():
        items = child.named_children() if isinstance(child, nn.ModuleList) else [("", child)]
        for item_name, item in items:
            if any(True for _ in item.parameters()):
                names.append(f"{name}.{item_name}" if item_name else name)
    return names


@dataclass(frozen=True)
class FeatureMaps:
    """The most active channels of one layer for one frame.

    ``maps`` is ``(k, h, w)`` float32; ``channels`` their indices, by decreasing
    ``activation`` (the channel's mean activation over the map).
    """

    layer: str
    channels: np.ndarray
    activation: np.ndarray
    maps: np.ndarray


def _top_channels(name: str, output: torch.Tensor, top_k: int) -> FeatureMaps:
    maps = output.detach()[0].float().cpu()
    mean = maps.mean(dim=(1, 2))
    order = torch.argsort(mean, descending=True)[:top_k]
    return FeatureMaps(name, order.numpy(), mean[order].numpy(), maps[order].numpy())


def feature_maps(
    model: nn.Module,
    frame: np.ndarray,
    layers: Sequence[str] | None = None,
    top_k: int = 8,
) -> list[FeatureMaps]:
    """The ``top_k`` most active channels of each layer (default :func:`block_names`) for a
    grey (H, W) frame, captured with forward hooks in one pass of the eval-mode model."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    names = list(layers) if layers is not None else block_names(model)
    captured: dict[str, torch.Tensor] = {}

    def capture(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.ndim == 4:
                captured.setdefault(name, output)

        return hook

    handles = [find_layer(model, name).register_forward_hook(capture(name)) for name in names]
    model.eval()
    try:
        with torch.no_grad():
            model(frame_tensor(model, frame))
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in names if name not in captured]
    if missing:
        raise ValueError(f"layers {missing} produced no (B, C, H, W) feature map")
    return [_top_channels(name, captured[name], top_k) for name in names]
