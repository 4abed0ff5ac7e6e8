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
from lvwall.data import MODEL_SIZE
from lvwall.errors import ModelError

if TYPE_CHECKING:
    import onnx
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
#: ONNX operator sets an export may use: from the oldest with every operator a U-Net needs to
#: the newest that PyTorch's TorchScript exporter writes.
MIN_OPSET, MAX_OPSET = 13, 20


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
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be in {MIN_OPSET}..{MAX_OPSET}, got {opset}")
    if tolerance <= 0:
        raise ValueError(f"tolerance must be positive, got {tolerance}")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ValueError(f"the ONNX file needs the suffix .onnx, got {path.name}")
    # A copy, so that neither the caller's model nor its train/eval mode changes.
    wrapped = torch.nn.Sequential(copy.deepcopy(model), torch.nn.Sigmoid()).cpu().eval()
    example = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
    with atomic_path(path) as tmp:
        try:
            trace_to_onnx(wrapped, example, tmp, opset)
        except (RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ModelError(path, f"could not be exported to ONNX ({first_line})") from None
        _finish_graph(tmp, meta or {})
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
    from lvwall.model.checkpoint import load_model

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


def trace_to_onnx(model: nn.Module, example: Any, path: Path, opset: int = 17) -> None:
    """The ONNX graph of ``model`` as PyTorch traces it (dynamic batch axis), before the
    rewrite and metadata of :func:`export_onnx`; benchmarks compare the two."""
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


def _finish_graph(path: Path, meta: dict[str, Any]) -> None:
    """Split the skip connections' convolutions and store ``meta`` in the ONNX file."""
    import onnx

    model = onnx.load(str(path))
    try:
        value = json.dumps(meta)
    except TypeError as error:
        raise ValueError(f"meta must be JSON-serialisable: {error}") from None
    split_concatenated_convolutions(model)
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def split_concatenated_convolutions(model: onnx.ModelProto) -> int:
    """Rewrite every ``Conv(Concat(a, b, ...))`` over channels as ``Conv(a) + Conv(b) + ...``
    in place; return how many convolutions were split.

    A convolution is linear in its input channels, so each part takes its slice of the
    weights (the bias goes to the first) and the sum is the same function. Why: ONNX
    Runtime's CPU convolutions work in a blocked channel layout (NCHWc) that its Concat
    lacks, so each U-Net skip connection cost two layout conversions; split, the Add fuses
    into the last convolution (``benchmarks/bench_model.py`` times both forms: engines
    ``onnxrt`` and ``onnxrt-split``).
    """
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    inferred = onnx.shape_inference.infer_shapes(model).graph
    channels = {
        info.name: info.type.tensor_type.shape.dim[1].dim_value
        for info in [*inferred.input, *inferred.value_info]
        if len(info.type.tensor_type.shape.dim) > 1
    }
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {output.name for output in graph.output}
    replacements: dict[int, list[onnx.NodeProto]] = {}  # by id() of the replaced Conv
    merged_concats: set[int] = set()
    for concat in graph.node:
        conv = _splittable_conv(concat, consumers, initializers, channels, graph_outputs)
        if conv is None:
            continue
        weight = numpy_helper.to_array(initializers[conv.input[1]])
        sizes = [channels[name] for name in concat.input]
        parts = np.split(weight, np.cumsum(sizes)[:-1], axis=1)
        # Named after the convolution's output: node names may be empty, outputs are unique.
        prefix = conv.output[0]
        partial_outputs, nodes = [], []
        for index, (name, part) in enumerate(zip(concat.input, parts, strict=True)):
            weight_name = f"{prefix}_weight_part{index}"
            graph.initializer.append(numpy_helper.from_array(part.copy(), weight_name))
            inputs = [name, weight_name] + (list(conv.input[2:]) if index == 0 else [])
            output = f"{prefix}_part{index}"
            part_conv = helper.make_node("Conv", inputs, [output], name=output)
            part_conv.attribute.extend(conv.attribute)
            nodes.append(part_conv)
            partial_outputs.append(output)
        total = partial_outputs[0]
        for index, partial in enumerate(partial_outputs[1:], start=1):
            last = index == len(partial_outputs) - 1
            total_name = conv.output[0] if last else f"{prefix}_sum{index}"
            nodes.append(helper.make_node("Add", [total, partial], [total_name]))
            total = total_name
        merged_concats.add(id(concat))
        replacements[id(conv)] = nodes
    rewritten = [
        new
        for node in graph.node
        if id(node) not in merged_concats
        for new in replacements.get(id(node), [node])
    ]
    del graph.node[:]
    graph.node.extend(rewritten)
    read = {name for node in rewritten for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return len(replacements)


def _splittable_conv(
    concat: onnx.NodeProto,
    consumers: dict[str, list[onnx.NodeProto]],
    initializers: dict[str, onnx.TensorProto],
    channels: dict[str, int],
    graph_outputs: set[str],
) -> onnx.NodeProto | None:
    """The plain convolution that alone reads ``concat``'s channel concatenation, if any."""
    from onnx import helper

    if concat.op_type != "Concat" or concat.output[0] in graph_outputs:
        return None
    axis = next((helper.get_attribute_value(a) for a in concat.attribute if a.name == "axis"), 0)
    readers = consumers.get(concat.output[0], [])
    if axis != 1 or len(readers) != 1 or readers[0].op_type != "Conv":
        return None
    conv = readers[0]
    groups = next((helper.get_attribute_value(a) for a in conv.attribute if a.name == "group"), 1)
    known_sizes = all(channels.get(name, 0) > 0 for name in concat.input)
    if groups != 1 or conv.input[0] != concat.output[0] or conv.input[1] not in initializers:
        return None
    return conv if known_sizes else None


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
