"""Receptive fields of every layer, computed from the architecture and checked by gradients.

**Analytic rule.** Araujo, Norris & Sim ("Computing receptive fields of convolutional neural
networks", Distill 2019) give the receptive field of a chain of layers in closed form: with
``r`` the field and ``j`` the jump (input pixels between neighbouring positions), a layer of
kernel ``k``, stride ``s`` and dilation ``d`` makes ``r += (k - 1) d j`` and ``j *= s``. That
recursion assumes every position of a layer sees a region of the same size. Transposed
convolutions break the assumption: after a U-Net's 2x2 stride-2 up-convolution, output
positions ``2q`` and ``2q + 1`` both copy input position ``q``, so a following 3x3 window sees
two deep positions or three depending on where it sits (the ``seed`` U-Net's
``decoders.1.0`` sees 56 or 60 input pixels, where the recursion says 58).

So the same backward recursion (their eq. for the region ``[u, v]`` that one position sees)
is evaluated **for every position** along each axis, which is exact:

* convolution and pooling: output ``o`` reads input ``o s - p + m d`` for ``m < k``;
* transposed convolution: output ``o`` receives input ``i`` where ``o = i s - p + m d``;
* interpolation: output ``o`` reads the source pixels PyTorch's kernel reads (1 for nearest,
  2 for bilinear);
* point-wise layers (ReLU, normalisation at inference, drop-out) change nothing;
* where paths merge (concatenation over channels, addition), the region is the union of the
  incoming regions (Araujo et al., "Handling multi-path networks"): the first pixel is the
  minimum over paths and the last the maximum. For a U-Net the deep path contains the skip
  path's region, so a decoder layer's field is the maximum over the paths that reach it.

Positions whose window falls partly in the zero padding see a clipped region. A layer's
receptive field is the largest region any of its positions sees. The rules are applied to
the autograd graph of one forward pass, so every operation the model really runs is seen,
however its ``forward`` is written; operations whose output sees the whole input (adaptive
pooling, spatial means) have no local receptive field and are refused with a ``ValueError``,
as are spatial operations without a rule (the computed sizes are checked against every
layer's real output shape).

**Empirical check.** :func:`empirical_receptive_field` back-propagates single positions of a
layer to the input through :func:`gradient_probe`, a copy of the model with positive constant
weights, average pooling instead of max pooling (max pooling sends the gradient to one pixel
per window) and no normalisation, in float64. The bounding box of the non-zero input gradient
is the region that position sees.

One concept over 450 lines: the analytic rules and the gradient probe that checks them are
two views of one quantity, and the tests compare them layer by layer.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lvwall.data import MODEL_SIZE

Pair = tuple[int, int]
Node = Any  # a torch.autograd graph node; its Python type is created by C++

# "Sees no input pixel" (a position fed by padding only): the empty interval.
_NONE_FIRST = np.iinfo(np.int64).max
_NONE_LAST = np.iinfo(np.int64).min


@dataclass(frozen=True, eq=False)
class AxisSpan:
    """Along one axis, the first and last input pixel that each position of a layer sees."""

    first: np.ndarray
    last: np.ndarray

    @classmethod
    def identity(cls, length: int) -> AxisSpan:
        """The input itself: position ``i`` sees pixel ``i``."""
        positions = np.arange(length, dtype=np.int64)
        return cls(positions, positions.copy())

    def __len__(self) -> int:
        return len(self.first)

    @property
    def extent(self) -> np.ndarray:
        """Pixels seen by each position (0 where a position sees only padding)."""
        seen = self.last >= self.first
        return np.where(seen, self.last - self.first + 1, 0)

    def gather(self, sources: np.ndarray) -> AxisSpan:
        """The union of the spans at ``sources`` (positions x taps; -1 marks no source)."""
        valid = sources >= 0
        safe = np.where(valid, sources, 0)
        first = np.where(valid, self.first[safe], _NONE_FIRST).min(axis=1)
        last = np.where(valid, self.last[safe], _NONE_LAST).max(axis=1)
        return AxisSpan(first, last)


@dataclass(frozen=True, eq=False)
class ReceptiveField:
    """The input region seen by every position of a layer, per axis."""

    rows: AxisSpan
    cols: AxisSpan

    @property
    def size(self) -> Pair:
        """(height, width) of the largest region any position sees."""
        return int(self.rows.extent.max()), int(self.cols.extent.max())

    def at(self, row: int, col: int) -> Pair:
        """(height, width) of the region that position ``(row, col)`` sees."""
        return int(self.rows.extent[row]), int(self.cols.extent[col])

    @property
    def label(self) -> str:
        """``"60"`` for a square field, ``"60x44"`` otherwise."""
        height, width = self.size
        return str(height) if height == width else f"{height}x{width}"


AxisRule = Callable[[Node, AxisSpan, int], AxisSpan]


def _pair(values: Any, default: Any = None) -> Pair:
    values = tuple(values) if values else tuple(default)
    return (values[0], values[0]) if len(values) == 1 else (values[-2], values[-1])


def _window_sources(
    n_in: int, n_out: int, kernel: int, stride: int, padding: int, dilation: int
) -> np.ndarray:
    """Input positions ``o s - p + m d`` read by each output ``o``; -1 where outside."""
    sources = np.arange(n_out)[:, None] * stride - padding + np.arange(kernel)[None, :] * dilation
    return np.where((sources >= 0) & (sources < n_in), sources, -1)


def _window_output(
    n_in: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool = False
) -> int:
    span = n_in + 2 * padding - dilation * (kernel - 1) - 1
    n_out = -(-span // stride) + 1 if ceil_mode else span // stride + 1
    # PyTorch drops a last ceil-mode window that would start inside the right padding.
    if ceil_mode and (n_out - 1) * stride >= n_in + padding:
        n_out -= 1
    return n_out


def _convolution(node: Node, span: AxisSpan, axis: int) -> AxisSpan:
    kernel = _pair(node._saved_weight.shape)[axis]
    stride, padding = _pair(node._saved_stride)[axis], _pair(node._saved_padding)[axis]
    dilation = _pair(node._saved_dilation)[axis]
    n_in = len(span)
    if not node._saved_transposed:
        n_out = _window_output(n_in, kernel, stride, padding, dilation)
        return span.gather(_window_sources(n_in, n_out, kernel, stride, padding, dilation))
    output_padding = _pair(node._saved_output_padding)[axis]
    n_out = (n_in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    numerator = np.arange(n_out)[:, None] + padding - np.arange(kernel)[None, :] * dilation
    sources = numerator // stride
    valid = (numerator % stride == 0) & (sources >= 0) & (sources < n_in)
    return span.gather(np.where(valid, sources, -1))


def _pooling(node: Node, span: AxisSpan, axis: int) -> AxisSpan:
    kernel = _pair(node._saved_kernel_size)[axis]
    # ATen stores an empty stride for "same as the kernel".
    stride = _pair(node._saved_stride, default=node._saved_kernel_size)[axis]
    padding = _pair(node._saved_padding)[axis]
    dilation = _pair(getattr(node, "_saved_dilation", (1, 1)))[axis]
    n_in = len(span)
    n_out = _window_output(n_in, kernel, stride, padding, dilation, node._saved_ceil_mode)
    return span.gather(_window_sources(n_in, n_out, kernel, stride, padding, dilation))


def _source_scale(node: Node, axis: int, n_in: int, n_out: int) -> float:
    scale = (node._saved_scales_h, node._saved_scales_w)[axis]
    return 1.0 / scale if scale else n_in / n_out


def _nearest(offset: float) -> AxisRule:
    """PyTorch's nearest (``offset=0``) and nearest-exact (``offset=0.5``) source index."""

    def rule(node: Node, span: AxisSpan, axis: int) -> AxisSpan:
        n_in, n_out = len(span), _pair(node._saved_output_size)[axis]
        scale = _source_scale(node, axis, n_in, n_out)
        sources = np.minimum(np.floor((np.arange(n_out) + offset) * scale), n_in - 1)
        return span.gather(sources.astype(np.int64)[:, None])

    return rule


def _bilinear(node: Node, span: AxisSpan, axis: int) -> AxisSpan:
    n_in, n_out = len(span), _pair(node._saved_output_size)[axis]
    positions = np.arange(n_out, dtype=np.float64)
    if node._saved_align_corners:
        source = positions * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        scale = _source_scale(node, axis, n_in, n_out)
        source = np.maximum((positions + 0.5) * scale - 0.5, 0.0)
    lower = np.floor(source).astype(np.int64)
    # The upper tap has weight (source - lower): none when the source hits a pixel exactly.
    upper = np.where((source > lower) & (lower < n_in - 1), lower + 1, -1)
    return span.gather(np.stack([lower, upper], axis=1))


#: How each spatial operation maps positions, by autograd node name without its version
#: digit. Every other operation is point-wise (shapes are checked at every layer).
AXIS_RULES: dict[str, AxisRule] = {
    "ConvolutionBackward": _convolution,
    "MaxPool2DWithIndicesBackward": _pooling,
    "AvgPool2DBackward": _pooling,
    "UpsampleNearest2DBackward": _nearest(0.0),
    "UpsampleNearestExact2DBackward": _nearest(0.5),
    "UpsampleBilinear2DBackward": _bilinear,
}

#: Operations whose output sees the whole input: no local receptive field.
GLOBAL_OPERATIONS: frozenset[str] = frozenset(
    {
        "AdaptiveAvgPool2DBackward",
        "AdaptiveMaxPool2DBackward",
        "MeanBackward",
        "SumBackward",
        "AmaxBackward",
        "MaxBackward",
    }
)


def _operation(node: Node) -> str:
    return re.sub(r"\d+$", "", type(node).__name__)


def _merge(node: Node, fields: list[ReceptiveField]) -> ReceptiveField:
    # ATen saves cat's dim unsigned (-1 as 2**64 - 1); modulo 4 maps it onto a 4-D index.
    if _operation(node) == "CatBackward" and node._saved_dim % 4 in (2, 3):
        raise ValueError("the model concatenates feature maps along a spatial axis")
    lengths = {(len(f.rows), len(f.cols)) for f in fields}
    if len(lengths) > 1:
        raise ValueError(f"{_operation(node)} merges feature maps of sizes {sorted(lengths)}")

    def union(spans: list[AxisSpan]) -> AxisSpan:
        return AxisSpan(
            np.min([s.first for s in spans], axis=0), np.max([s.last for s in spans], axis=0)
        )

    return ReceptiveField(union([f.rows for f in fields]), union([f.cols for f in fields]))


def _apply(node: Node, inputs: list[ReceptiveField | None]) -> ReceptiveField | None:
    fields = [field for field in inputs if field is not None]
    if not fields:
        return None
    operation = _operation(node)
    if operation in GLOBAL_OPERATIONS:
        raise ValueError(f"the model runs {operation}, whose output sees the whole input")
    field = _merge(node, fields) if len(fields) > 1 else fields[0]
    rule = AXIS_RULES.get(operation)
    if rule is None:
        return field
    return ReceptiveField(rule(node, field.rows, 0), rule(node, field.cols, 1))


def _propagate(root: Node, image: torch.Tensor, fields: dict[Node, ReceptiveField | None]) -> None:
    """Fill ``fields`` for ``root`` and every node below it (iterative post-order walk).

    Nodes that do not lead back to ``image`` (parameters, constants) get ``None``.
    """
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if node in fields:
            continue
        children = [child for child, _ in node.next_functions if child is not None]
        if not children:
            is_input = getattr(node, "variable", None) is image
            fields[node] = (
                ReceptiveField(
                    AxisSpan.identity(image.shape[-2]), AxisSpan.identity(image.shape[-1])
                )
                if is_input
                else None
            )
        elif children_done:
            fields[node] = _apply(node, [fields[child] for child in children])
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children if child not in fields)


def _field_of(
    output: torch.Tensor, image: torch.Tensor, fields: dict[Node, ReceptiveField | None], name: str
) -> ReceptiveField | None:
    if output.grad_fn is None:
        return None
    _propagate(output.grad_fn, image, fields)
    field = fields[output.grad_fn]
    if field is not None and (len(field.rows), len(field.cols)) != tuple(output.shape[-2:]):
        raise ValueError(
            f"{name}: computed a {len(field.rows)}x{len(field.cols)} map for a "
            f"{output.shape[-2]}x{output.shape[-1]} output; the model runs a spatial "
            f"operation without a receptive-field rule (known: {sorted(AXIS_RULES)})"
        )
    return field


@dataclass(frozen=True, eq=False)
class LayerSummary:
    """One row of the model summary: a leaf module as it ran in one forward pass."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    parameters: int
    receptive_field: ReceptiveField


@dataclass(frozen=True)
class _Call:
    name: str
    module: nn.Module
    output: torch.Tensor


def _traced_forward(model: nn.Module, image: torch.Tensor) -> tuple[list[_Call], torch.Tensor]:
    """Run ``model`` once in eval mode with gradients on, recording every leaf module's output
    in call order (a module called twice is recorded as ``name`` and ``name#2``)."""
    calls: list[_Call] = []
    seen: dict[str, int] = {}

    def recorder(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.ndim == 4:
                seen[name] = seen.get(name, 0) + 1
                label = name if seen[name] == 1 else f"{name}#{seen[name]}"
                calls.append(_Call(label, module, output))

        return hook

    handles = [
        module.register_forward_hook(recorder(name))
        for name, module in model.named_modules()
        if name and next(module.children(), None) is None
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            output = model(image)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return calls, output


def model_input(model: nn.Module, size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``(1, C, size, size)`` input of ones, ``C`` being the first convolution's inputs."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None:
        raise ValueError("model has no Conv2d layer")
    return torch.ones((1, first.in_channels, size, size), dtype=dtype, requires_grad=True)


def summarise(model: nn.Module, input_size: int = MODEL_SIZE) -> list[LayerSummary]:
    """Every leaf layer: type, output shape, own parameters and analytic receptive field.

    Rows follow the order in which one forward pass on an ``input_size`` square calls the
    layers. The model's mode (train/eval) is restored afterwards.
    """
    image = model_input(model, input_size)
    calls, output = _traced_forward(model, image)
    fields: dict[Node, ReceptiveField | None] = {}
    # The output's field checks the whole graph, also the operations outside any module.
    _field_of(output, image, fields, "output")
    rows = []
    for call in calls:
        field = _field_of(call.output, image, fields, call.name)
        if field is not None:
            rows.append(
                LayerSummary(
                    name=call.name,
                    kind=type(call.module).__name__,
                    output_shape=tuple(call.output.shape),
                    parameters=sum(p.numel() for p in call.module.parameters(recurse=False)),
                    receptive_field=field,
                )
            )
    return rows


def analytic_receptive_field(
    model: nn.Module, layer: str | None = None, input_size: int = MODEL_SIZE
) -> ReceptiveField:
    """The analytic receptive field of one layer (first call), or of the model's output."""
    image = model_input(model, input_size)
    calls, output = _traced_forward(model, image)
    if layer is not None:
        matches = [call.output for call in calls if call.name == layer]
        if not matches:
            raise ValueError(f"model has no leaf layer {layer!r}; see summarise() for names")
        output = matches[0]
    field = _field_of(output, image, {}, layer or "output")
    if field is None:
        raise ValueError(f"{layer or 'the output'} does not depend on the model's input")
    return field


# --- empirical check ------------------------------------------------------------------------

_NORMALISATIONS = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.GroupNorm,
    nn.LayerNorm,
)


def _probe_swap(module: nn.Module) -> nn.Module | None:
    if isinstance(module, _NORMALISATIONS):
        return nn.Identity()
    if isinstance(module, nn.MaxPool2d):
        if module.dilation not in (1, (1, 1)):
            raise ValueError("cannot probe a dilated max-pool with an average pool")
        return nn.AvgPool2d(module.kernel_size, module.stride, module.padding, module.ceil_mode)
    return None


def gradient_probe(model: nn.Module) -> nn.Module:
    """A float64 eval-mode copy of ``model`` in which every pixel of a receptive field gets a
    non-zero gradient: positive constant weights, zero biases, average instead of max
    pooling, no normalisation. With a positive input every ReLU is then active."""
    probe = copy.deepcopy(model).double().eval()
    for parent in list(probe.modules()):
        for name, child in list(parent.named_children()):
            replacement = _probe_swap(child)
            if replacement is not None:
                setattr(parent, name, replacement)
    with torch.no_grad():
        for name, parameter in probe.named_parameters():
            if name.endswith("bias") or parameter.ndim < 2:
                parameter.zero_()
            else:
                # 1 / fan keeps activations of order one through many layers.
                parameter.fill_(1.0 / parameter[0].numel())
    return probe


def _support(gradient: torch.Tensor) -> Pair:
    support = gradient.abs().sum(dim=(0, 1)) > 0
    rows = torch.nonzero(support.any(dim=1)).flatten()
    cols = torch.nonzero(support.any(dim=0)).flatten()
    if rows.numel() == 0:
        return (0, 0)
    return int(rows[-1] - rows[0]) + 1, int(cols[-1] - cols[0]) + 1


def _probe_map(
    model: nn.Module, layer: str | None, input_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The probe's input and the map of ``layer`` (first call; the output for ``None``)."""
    probe = gradient_probe(model)
    image = model_input(probe, input_size, torch.float64)
    calls, output = _traced_forward(probe, image)
    if layer is None:
        return image, output
    matches = [call.output for call in calls if call.name == layer]
    if not matches:
        raise ValueError(f"model has no leaf layer {layer!r}; see summarise() for names")
    return image, matches[0]


def _supports(image: torch.Tensor, features: torch.Tensor, positions: Sequence[Pair]) -> list[Pair]:
    supports = []
    for row, col in positions:
        if not (0 <= row < features.shape[-2] and 0 <= col < features.shape[-1]):
            raise ValueError(
                f"position {(row, col)} is outside the {tuple(features.shape[-2:])} map"
            )
        (gradient,) = torch.autograd.grad(features[:, :, row, col].sum(), image, retain_graph=True)
        supports.append(_support(gradient))
    return supports


def gradient_supports(
    model: nn.Module,
    positions: Sequence[Pair],
    layer: str | None = None,
    input_size: int = 128,
) -> list[Pair]:
    """(height, width) of the input region whose pixels change each ``(row, col)`` position
    of ``layer`` (a leaf module name, first call; ``None`` for the model's output), by
    back-propagation through :func:`gradient_probe` on an ``input_size`` square."""
    image, features = _probe_map(model, layer, input_size)
    return _supports(image, features, positions)


def empirical_receptive_field(
    model: nn.Module, layer: str | None = None, input_size: int = 128, phases: int = 8
) -> Pair:
    """The largest gradient support over ``phases`` diagonal positions from the map's centre.

    Positions after transposed convolutions see regions that alternate in size with a period
    of at most the model's total stride, so ``phases`` of at least that stride finds the
    largest; ``input_size`` must leave room for it around the centre, or the border clips it.
    """
    if phases < 1:
        raise ValueError(f"phases must be at least 1, got {phases}")
    image, features = _probe_map(model, layer, input_size)
    height, width = features.shape[-2:]
    positions = [(height // 2 + i, width // 2 + i) for i in range(phases)]
    supports = _supports(image, features, positions)
    return max(h for h, _ in supports), max(w for _, w in supports)


# --- tables ---------------------------------------------------------------------------------

SUMMARY_COLUMNS = ("layer", "type", "output shape", "parameters", "receptive field")


def summary_rows(rows: list[LayerSummary]) -> Iterator[tuple[str, ...]]:
    """The summary as text cells, one tuple per layer (output shape without the batch)."""
    for row in rows:
        shape = "x".join(str(n) for n in row.output_shape[1:])
        yield row.name, row.kind, shape, str(row.parameters), row.receptive_field.label


def summary_table(rows: list[LayerSummary], title: str = "Model summary") -> Any:
    """A :class:`rich.table.Table` of the summary, with the parameter total as caption."""
    from rich.table import Table

    table = Table(title=title, caption=f"{sum(r.parameters for r in rows):,} parameters")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for cells in summary_rows(rows):
        table.add_row(*cells)
    return table


def summary_markdown(rows: list[LayerSummary]) -> str:
    """The summary as a GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in summary_rows(rows)]
    return "\n".join(lines) + "\n"


def summary_csv(rows: list[LayerSummary]) -> str:
    """The summary as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows(summary_rows(rows))
    return buffer.getvalue()
