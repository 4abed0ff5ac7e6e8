"""Named U-Net presets, so that checkpoints, the CLI and configs refer to variants by name."""

from __future__ import annotations

import dataclasses
from typing import Any

from lvwall.lookup import look_up
from lvwall.model.unet import UNet, UNetConfig

#: Presets by name. Inputs are 224x224 HMC-QU frames (any side divisible by ``2**(depth-1)``).
#: Speeds: ``benchmarks/bench_model.py``; batch norm keeps the narrow CPU presets trainable.
PRESETS: dict[str, UNetConfig] = {
    # The study's network (Degerli et al. 2021): 3 levels 224 -> 112 -> 56, widths 64-128-256,
    # four 256-channel convolutions at 56x56, RGB input, no normalisation: 3,043,009 parameters.
    "seed": UNetConfig(in_channels=3, widths=(64, 128, 256), bottleneck_convs=4),
    # The study's 3 levels at an eighth of its width on grey input: the fastest preset, but its
    # receptive field (44 px) sees only part of the wall.
    "fast": UNetConfig(in_channels=1, widths=(8, 16, 32), norm="batch"),
    # One more level (down to 28x28) doubles the receptive field to about 90 px (seed: about
    # 60) for 40% more MACs.
    "fast4": UNetConfig(in_channels=1, widths=(8, 16, 32, 64), norm="batch"),
    # fast4 with a fifth level (down to 14x14, 128 wide): 4x the parameters and about twice the
    # receptive field for 15% more time, as each level costs the same MACs.
    "fast5": UNetConfig(in_channels=1, widths=(8, 16, 32, 64, 128), norm="batch"),
    # fast5's parameters spread over six levels (down to 7x7) with only 4 channels at full
    # resolution, where most of a narrow U-Net's time goes: a third of fast5's MACs, 1.8x its
    # frames/s in ONNX Runtime on a 2-core AVX2 CPU, and cross-validated Dice level with
    # fast5's trained the same way (docs/results.md). The bundled model's preset.
    "fast6": UNetConfig(in_channels=1, widths=(4, 8, 16, 32, 64, 128), norm="batch"),
    # fast4 at twice the width, for when the narrow presets lose Dice.
    "medium4": UNetConfig(in_channels=1, widths=(16, 32, 64, 128), norm="batch"),
}

#: The preset that :func:`build_model` (and ``lvwall train``) uses when none is named: the
#: bundled model's, so that a new model is trained like the one lvwall ships.
DEFAULT_PRESET: str = "fast6"


def register_preset(name: str, config: UNetConfig, *, replace: bool = False) -> None:
    """Add ``config`` to :data:`PRESETS` under ``name``; re-using a name needs ``replace=True``."""
    if not isinstance(config, UNetConfig):
        raise ValueError(f"config must be a UNetConfig, got {type(config).__name__}")
    if not name or not isinstance(name, str):
        raise ValueError(f"a preset needs a non-empty name, got {name!r}")
    if name in PRESETS and not replace:
        raise ValueError(f"preset {name!r} already exists; pass replace=True to overwrite it")
    PRESETS[name] = config


def resolve_config(
    preset_or_config: str | UNetConfig = DEFAULT_PRESET, **overrides: Any
) -> UNetConfig:
    """The config of a preset name (or a config itself) with ``overrides`` applied."""
    if isinstance(preset_or_config, UNetConfig):
        config = preset_or_config
    else:
        config = look_up(PRESETS, preset_or_config, "U-Net preset")
    if not overrides:
        return config
    return UNetConfig.from_dict({**dataclasses.asdict(config), **overrides})


def build_model(preset_or_config: str | UNetConfig = DEFAULT_PRESET, **overrides: Any) -> UNet:
    """A freshly initialised :class:`UNet` from a preset name or a config.

    ``overrides`` replace config fields, e.g. ``build_model("seed", in_channels=1)``.
    """
    return UNet(resolve_config(preset_or_config, **overrides))
