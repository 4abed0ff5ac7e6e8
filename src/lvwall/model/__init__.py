"""The U-Net of the HMC-QU study and its named presets."""

from lvwall.model.bundled import ASSETS_DIR, bundle_model, default_model_paths, is_bundled
from lvwall.model.checkpoint import (
    DEFAULT_THRESHOLD,
    META_KEY,
    check_model_path,
    load_model,
    save_model,
)
from lvwall.model.export import MAX_OPSET, MIN_OPSET, export_checkpoint, export_onnx, read_onnx_meta
from lvwall.model.registry import (
    DEFAULT_PRESET,
    PRESETS,
    build_model,
    register_preset,
    resolve_config,
)
from lvwall.model.unet import NORM_LAYERS, UNet, UNetConfig, conv_block, count_parameters

__all__ = [
    "ASSETS_DIR",
    "DEFAULT_PRESET",
    "DEFAULT_THRESHOLD",
    "MAX_OPSET",
    "META_KEY",
    "MIN_OPSET",
    "NORM_LAYERS",
    "PRESETS",
    "UNet",
    "UNetConfig",
    "build_model",
    "bundle_model",
    "conv_block",
    "count_parameters",
    "check_model_path",
    "default_model_paths",
    "is_bundled",
    "export_checkpoint",
    "export_onnx",
    "load_model",
    "read_onnx_meta",
    "register_preset",
    "resolve_config",
    "save_model",
]
