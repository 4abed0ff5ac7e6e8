"""The 2D U-Net of the HMC-QU study (Degerli et al., IEEE Access 2021).

The architecture is Ronneberger et al.'s U-Net (MICCAI 2015): blocks of 3x3 convolutions
(padding 1) and ReLU, 2x2 max-pooling going down, 2x2 stride-2 transposed convolutions going
up, skip connections by concatenation, and a 1x1 convolution to one logit channel.

Layers are named for the explanation tools: ``encoders[i]`` is the block at level ``i``
(level 0 has full resolution), ``pools[i]`` follows it, ``bottleneck`` is the deepest block,
and ``ups[i]``/``decoders[i]`` run in forward order from the deepest level up, so
``decoders[-1]`` works at full resolution; ``head`` is the 1x1 convolution. Every block is an
:class:`torch.nn.Sequential` of ``Conv2d``, optional normalisation and ``ReLU`` (not in-place,
so that hooks and attribution methods see each activation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lvwall.lookup import from_settings, look_up

#: Groups used by ``norm="group"``. Wu & He (ECCV 2018) use 32; 8 also fits the narrow CPU
#: presets. Every width must be a multiple of it.
GROUP_NORM_GROUPS: int = 8

#: Normalisation layers by name; each maps a channel count to a module.
NORM_LAYERS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm2d,
    "instance": lambda channels: nn.InstanceNorm2d(channels, affine=True),
    "group": lambda channels: nn.GroupNorm(GROUP_NORM_GROUPS, channels),
}


@dataclass(frozen=True)
class UNetConfig:
    """Hyper-parameters of :class:`UNet`.

    Attributes:
        in_channels: input channels; a 3-channel model also accepts grey (1-channel) input.
        widths: channels per level, from full resolution down; the last is the bottleneck's.
            ``depth = len(widths)`` levels, so inputs need sides divisible by ``2**(depth-1)``.
        norm: normalisation after each convolution: a key of :data:`NORM_LAYERS` or ``None``.
        dropout: channel drop-out probability at the end of the bottleneck, where Ronneberger
            et al. (2015) put drop-out ("at the end of the contracting path").
        bottleneck_convs: 3x3 convolutions in the bottleneck block. The study's network has
            four 256-channel convolutions at its deepest (56x56) level; that is what makes its
            3,043,009 parameters.
    """

    in_channels: int = 1
    widths: tuple[int, ...] = (64, 128, 256)
    norm: str | None = None
    dropout: float = 0.0
    bottleneck_convs: int = 2

    def __post_init__(self) -> None:
        # JSON and YAML give lists; a frozen dataclass keeps a tuple so configs stay hashable.
        object.__setattr__(self, "widths", tuple(self.widths))
        if not isinstance(self.in_channels, int) or self.in_channels < 1:
            raise ValueError(f"in_channels must be a positive integer, got {self.in_channels!r}")
        if len(self.widths) < 2:
            raise ValueError(f"widths needs at least 2 levels, got {self.widths}")
        if not all(isinstance(w, int) and w >= 1 for w in self.widths):
            raise ValueError(f"widths must be positive integers, got {self.widths}")
        if self.norm is not None:
            look_up(NORM_LAYERS, self.norm, "norm")
        if self.norm == "group" and any(w % GROUP_NORM_GROUPS for w in self.widths):
            raise ValueError(
                f"norm='group' needs widths divisible by {GROUP_NORM_GROUPS}, got {self.widths}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.bottleneck_convs, int) or self.bottleneck_convs < 1:
            raise ValueError(
                f"bottleneck_convs must be a positive integer, got {self.bottleneck_convs!r}"
            )

    @property
    def depth(self) -> int:
        """Resolution levels, the bottleneck's included."""
        return len(self.widths)

    @property
    def size_divisor(self) -> int:
        """Input height and width must be multiples of this."""
        return 2 ** (self.depth - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists, not tuples), safe for JSON, YAML and checkpoints."""
        data = dataclasses.asdict(self)
        data["widths"] = list(self.widths)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UNetConfig:
        """Inverse of :meth:`to_dict`; unknown keys are a ValueError, missing ones take defaults."""
        return from_settings(cls, data, "UNetConfig keys")


def conv_block(
    in_channels: int, out_channels: int, n_convs: int, norm: str | None
) -> nn.Sequential:
    """``n_convs`` x (3x3 conv, padding 1 -> optional norm -> ReLU), the U-Net's unit."""
    layers: list[nn.Module] = []
    for index in range(n_convs):
        # A normalisation layer's shift makes the convolution's bias redundant.
        layers.append(
            nn.Conv2d(
                in_channels if index == 0 else out_channels,
                out_channels,
                kernel_size=3,
                padding=1,
                bias=norm is None,
            )
        )
        if norm is not None:
            layers.append(NORM_LAYERS[norm](out_channels))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """U-Net returning one logit channel, ``(B, 1, H, W)``.

    The study fed RGB frames to a 3-channel network; a grey (1-channel) echo given to a
    3-channel model is replicated to 3 channels, which is what an RGB rendering of a grey
    frame holds.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        *encoder_widths, bottleneck_width = config.widths
        self.encoders = nn.ModuleList()
        self.pools = nn.ModuleList()
        channels = config.in_channels
        for width in encoder_widths:
            self.encoders.append(conv_block(channels, width, 2, config.norm))
            self.pools.append(nn.MaxPool2d(kernel_size=2, stride=2))
            channels = width
        self.bottleneck = conv_block(
            channels, bottleneck_width, config.bottleneck_convs, config.norm
        )
        if config.dropout > 0:
            self.bottleneck.append(nn.Dropout2d(config.dropout))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        channels = bottleneck_width
        for width in reversed(encoder_widths):
            self.ups.append(nn.ConvTranspose2d(channels, width, kernel_size=2, stride=2))
            self.decoders.append(conv_block(2 * width, width, 2, config.norm))
            channels = width
        self.head = nn.Conv2d(channels, 1, kernel_size=1)
        self.apply(_he_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, 1, H, W)`` for images ``(B, C, H, W)``."""
        return self.head(self.features(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last decoder's features ``(B, widths[0], H, W)``, which :attr:`head` turns into
        the wall's logits; training may put other heads on them (auxiliary structures)."""
        return self.decoder_features(x, keep=1)[0]

    def decoder_features(self, x: torch.Tensor, keep: int | None = None) -> list[torch.Tensor]:
        """The finest ``keep`` decoder levels' features (every level by default), coarsest
        first: level ``i`` from the last has ``widths[i]`` channels at ``1 / 2**i`` of the
        input's size (deep supervision puts training-only heads on them).

        Levels not kept, and each skip connection once used, are released as the decoder goes
        on, so that inference holds no more than one level's features beside the next.
        """
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be at least 1 decoder level, got {keep}")
        x = self._prepare_input(x)
        skips = []
        for encoder, pool in zip(self.encoders, self.pools, strict=True):
            x = encoder(x)
            skips.append(x)
            x = pool(x)
        x = self.bottleneck(x)
        levels = []
        for up, decoder in zip(self.ups, self.decoders, strict=True):
            x = decoder(torch.cat([up(x), skips.pop()], dim=1))
            levels.append(x)
            if keep is not None:
                levels = levels[-keep:]
        return levels

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Wall probabilities ``(B, 1, H, W)``: the sigmoid of :meth:`forward`."""
        return torch.sigmoid(self(x))

    def _prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        # While tracing (ONNX export) shapes are tensors and the checks would only be baked in.
        if not torch.jit.is_tracing():
            self._check_input_shape(tuple(x.shape))
        if self.config.in_channels > 1:
            # Without a branch on the input, so that traced graphs take grey and RGB alike.
            x = x.expand(-1, self.config.in_channels, -1, -1)
        return x

    def _check_input_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {shape}")
        channels, height, width = shape[1:]
        expected = self.config.in_channels
        if channels not in (1, expected):
            grey = " (or 1, grey)" if expected > 1 else ""
            raise ValueError(f"expected {expected}{grey} input channels, got {channels}")
        divisor = self.config.size_divisor
        if height % divisor or width % divisor:
            raise ValueError(
                f"height and width must be multiples of {divisor} for a {self.config.depth}-level "
                f"U-Net, got {height}x{width}"
            )


def _he_init(module: nn.Module) -> None:
    """He et al. (ICCV 2015) normal initialisation, as Ronneberger et al. (2015) prescribe:
    without it the 14 un-normalised ReLU convolutions of ``seed`` shrink activations layer by
    layer under PyTorch's default initialisation."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
