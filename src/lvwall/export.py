"""Export a U-Net to ONNX for fast CPU inference with ONNX Runtime, checked against PyTorch.

The exported graph takes grey frames ``image`` (batch, 1, size, size) float32 in [0, 1],
with a dynamic batch axis, and returns wall probabilities ``probability`` of the same shape
(the sigmoid is part of the graph, so the file is usable without lvwall). The model's
metadata (threshold, image size, model configuration) is stored as JSON under the ``lvwall``
key of the ONNX metadata properties.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lvwall.atomic import atomic_path
from lvwall.data.records import MODEL_SIZE
from lvwall.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

#: Names of the graph's input and output.
INPUT_NAME, OUTPUT_NAME = "image", "probability"
#: Key of the lvwall metadata in the ONNX model's metadata properties.
META_KEY = "lvwall"
#: The entries of a model's metadata that travel with its ONNX export.
ONNX_META_KEYS = ("threshold", "image_size", "model_config")
#: Largest difference in probability between ONNX Runtime and PyTorch an export may show.
DEFAULT_TOLERANCE = 1e-4
#: Batch sizes the export is checked with: one, and another to prove the batch axis dynamic.
CHECK_BATCH_SIZES = (1, 3)


@dataclass(frozen=True)
class ExportReport:
    """Where the ONNX file went and how closely ONNX Runtime reproduces PyTorch."""

    path: Path
    opset: int
    size: int
    max_abs_diff: float


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    size: int = MODEL_SIZE,
    opset: int = 17,
    meta: dict[str, Any] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ExportReport:
    """Export ``model`` (logits out) to ONNX (probabilities out) at ``path``, atomically.

    The file is written only if ONNX Runtime's probabilities on random frames of
    :data:`CHECK_BATCH_SIZES` differ from PyTorch's by at most ``tolerance``; otherwise a
    :class:`ModelError` says by how much. ``model`` itself is left untouched.
    """
    import torch

    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be positive, got {tolerance}")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ValueError(f"the ONNX file needs the suffix .onnx, got {path.name}")
    # A copy, so that neither the caller's model nor its train/eval mode changes.
    wrapped = torch.nn.Sequential(copy.deepcopy(model), torch.nn.Sigmoid()).cpu().eval()
    example = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    with atomic_path(path) as tmp:
        _trace_to_onnx(wrapped, example, tmp, opset)
        _store_meta(tmp, meta or {})
        max_abs_diff = _compare_with_torch(wrapped, tmp, size)
        if not max_abs_diff <= tolerance:
            raise ModelError(
                path,
                f"the ONNX export differs from PyTorch by {max_abs_diff:.3g} in probability, "
                f"more than the tolerance {tolerance:g}, so it was not written",
            )
    return ExportReport(path=path, opset=opset, size=size, max_abs_diff=max_abs_diff)


def export_checkpoint(checkpoint: str | Path, path: str | Path, *, opset: int = 17) -> ExportReport:
    """Export a trained model file (``.ckpt`` or ``.safetensors``) with its threshold, input
    size and configuration as ONNX metadata."""
    from lvwall.checkpoint import load_model

    model, meta = load_model(checkpoint)
    onnx_meta = {key: meta[key] for key in ONNX_META_KEYS if key in meta}
    return export_onnx(model, path, size=int(meta["image_size"]), opset=opset, meta=onnx_meta)


def read_onnx_meta(path: str | Path) -> dict[str, Any]:
    """The lvwall metadata stored in an exported ONNX file (empty for other ONNX files)."""
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, OSError) as error:
        raise ModelError(path, f"cannot be read as an ONNX model ({error})") from None
    for prop in model.metadata_props:
        if prop.key == META_KEY:
            try:
                meta = json.loads(prop.value)
            except json.JSONDecodeError:
                raise ModelError(path, "has unreadable lvwall metadata") from None
            return meta if isinstance(meta, dict) else {}
    return {}


def _trace_to_onnx(model: nn.Module, example: Any, path: Path, opset: int) -> None:
    import torch

    # The TorchScript exporter: it honours opset 17 directly and exports a U-Net in well under
    # a second, where the torch.export-based one takes seconds and converts from opset 18.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )


def _store_meta(path: Path, meta: dict[str, Any]) -> None:
    import onnx

    model = onnx.load(str(path))
    try:
        value = json.dumps(meta)
    except TypeError as error:
        raise ValueError(f"meta must be JSON-serialisable: {error}") from None
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _compare_with_torch(model: nn.Module, path: Path, size: int) -> float:
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(1)
    worst = 0.0
    for batch in CHECK_BATCH_SIZES:
        images = torch.rand(batch, 1, size, size, generator=generator)
        with torch.inference_mode():
            expected = model(images).numpy()
        (actual,) = session.run([OUTPUT_NAME], {INPUT_NAME: images.numpy()})
        worst = max(worst, float(np.abs(actual - expected).max()))
    return worst
