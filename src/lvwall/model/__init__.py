"""The U-Net of the HMC-QU study and its named presets."""

from lvwall.model.registry import (
    DEFAULT_PRESET,
    PRESETS,
    build_model,
    register_preset,
    resolve_config,
)
from lvwall.model.unet import NORM_LAYERS, UNet, UNetConfig, conv_block, count_parameters

__all__ = [
    "DEFAULT_PRESET",
    "NORM_LAYERS",
    "PRESETS",
    "UNet",
    "UNetConfig",
    "build_model",
    "conv_block",
    "count_parameters",
    "register_preset",
    "resolve_config",
]
