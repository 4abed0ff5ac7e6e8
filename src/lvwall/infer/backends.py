"""How the network runs: predictors (PyTorch, ONNX Runtime) and loading a model file.

:data:`BACKENDS` names the ways to run a model; :func:`load_segmentation_model` loads a
``.ckpt``/``.safetensors``/``.onnx`` file (or the bundled model) into a
:class:`SegmentationModel`, a predictor with the threshold and input size it was trained for.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from lvwall.data import MODEL_SIZE
from lvwall.errors import ModelError
from lvwall.lookup import look_up
from lvwall.model import DEFAULT_THRESHOLD, check_model_path
from lvwall.threads import cpu_threads

if TYPE_CHECKING:
    import torch
    from torch import nn

WEIGHT_SUFFIXES, ONNX_SUFFIX = frozenset({".ckpt", ".safetensors"}), ".onnx"


class Predictor(Protocol):
    """Runs the network: grey frames (B, 1, H, W) float32 in [0, 1] -> wall probabilities."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Wall probabilities (B, 1, H, W) float32 for ``batch`` (B, 1, H, W) float32."""
        ...


def check_batch(batch: np.ndarray) -> np.ndarray:
    """``batch`` as contiguous float32 (B, 1, H, W); :class:`ValueError` for another shape."""
    if batch.ndim != 4 or batch.shape[1] != 1:
        raise ValueError(f"expected a batch of grey frames (B, 1, H, W), got {batch.shape}")
    return np.ascontiguousarray(batch, dtype=np.float32)


class TorchPredictor:
    """Runs a U-Net with PyTorch on ``device``, in ``dtype``; ``model`` is moved and cast in
    place. bfloat16 about doubles CPU speed on processors with AVX512-BF16 or AMX, at about
    two to three significant digits of probability."""

    def __init__(
        self,
        model: nn.Module,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
    ) -> None:
        import torch

        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        # Channels-last lets oneDNN (CPU) and cuDNN (GPU) pick their fastest convolutions.
        self.model = model.to(self.device, self.dtype).to(memory_format=torch.channels_last).eval()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        import torch

        images = torch.from_numpy(check_batch(batch)).to(self.device, self.dtype)
        with torch.inference_mode():
            logits = self.model(images.contiguous(memory_format=torch.channels_last))
            return torch.sigmoid(logits.float()).cpu().numpy()


class OnnxPredictor:
    """Runs an exported model (:func:`lvwall.model.export.export_onnx`) with ONNX Runtime on
    the CPU.

    All graph optimisations are on; ``threads`` intra-op threads (default:
    :func:`lvwall.threads.cpu_threads`) and one inter-op thread, as the U-Net is one chain of
    operators.
    """

    def __init__(self, onnx_path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        from lvwall.model import read_onnx_meta

        path = Path(onnx_path)
        self.meta = read_onnx_meta(path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = cpu_threads(threads)
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime's errors share no base class but Exception
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ModelError(path, f"cannot be loaded by ONNX Runtime ({first_line})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = inputs[0].shape if len(inputs) == 1 else []
        fits = len(outputs) == 1 and len(shape) == 4 and shape[1] == 1
        if not fits or isinstance(shape[0], int) or not isinstance(shape[2], int):
            raise ModelError(
                path,
                f"is an ONNX model with inputs {[i.shape for i in inputs]}, not a segmentation "
                "model taking grey frames (any batch, 1, height, width) as `lvwall export` "
                "writes them",
            )
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        self.image_size = int(shape[2])

    def predict(self, batch: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run(
            [self.output_name], {self.input_name: check_batch(batch)}
        )
        return probabilities


@dataclass(frozen=True)
class SegmentationModel:
    """A ready predictor with the threshold and input size it was trained for."""

    predictor: Predictor
    threshold: float
    image_size: int
    description: str


def load_segmentation_model(
    model_path: str | Path | None = None, backend: str = "auto", *, threads: int | None = None
) -> SegmentationModel:
    """A model from a ``.ckpt``/``.safetensors``/``.onnx`` file, or the bundled default.

    ``backend`` is a key of :data:`BACKENDS` or ``"auto"``: PyTorch on a CUDA GPU when one is
    available and the model is not an ONNX file, otherwise ONNX Runtime on the CPU (a PyTorch
    model is exported on the fly).
    """
    cpu_threads(threads)  # checks the count before anything loads
    path = None if model_path is None else Path(model_path)
    if backend == "auto":
        is_onnx = path is not None and path.suffix.lower() == ONNX_SUFFIX
        backend = "torch" if _cuda_available() and not is_onnx else "onnx"
    load = look_up(BACKENDS, backend, "backend")
    if path is not None:
        _check_model_file(path)
    return load(path, threads)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _check_model_file(path: Path) -> None:
    check_model_path(path)
    if path.suffix.lower() not in WEIGHT_SUFFIXES | {ONNX_SUFFIX}:
        raise ModelError(
            path,
            f"is not a model file lvwall knows (suffix {path.suffix or 'none'}; expected "
            ".ckpt, .safetensors or .onnx)",
        )


#: The input sides a model may record: a 2-level U-Net's least, and 4x the usual 224.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 1024


def recorded_threshold(path: Path, value: object) -> float:
    """The threshold a model file records (``None``: :data:`DEFAULT_THRESHOLD`), checked:
    :class:`ModelError` naming ``path`` unless it is a number strictly between 0 and 1."""
    if value is None:
        return DEFAULT_THRESHOLD
    try:
        threshold = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        threshold = math.nan
    if not 0.0 < threshold < 1.0:
        raise ModelError(
            path, f"records the threshold {value!r}, not a number between 0 and 1 (exclusive)"
        )
    return threshold


def recorded_image_size(path: Path, value: object) -> int:
    """The input side a model file records, checked: :class:`ModelError` naming ``path``
    unless it is a whole number from :data:`MIN_IMAGE_SIZE` to :data:`MAX_IMAGE_SIZE`."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    size = int(number) if math.isfinite(number) and number.is_integer() else 0
    if not MIN_IMAGE_SIZE <= size <= MAX_IMAGE_SIZE:
        raise ModelError(
            path,
            f"records the input size {value!r}, not a whole number of pixels from "
            f"{MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}",
        )
    return size


def _load_onnx(path: Path | None, threads: int | None) -> SegmentationModel:
    from lvwall.model import default_model_paths

    if path is None:
        path = default_model_paths().onnx
        description = "bundled default model"
    else:
        description = str(path)
    if path.suffix.lower() != ONNX_SUFFIX:
        return _export_and_load(path, threads)
    predictor = OnnxPredictor(path, threads)
    threshold = recorded_threshold(path, predictor.meta.get("threshold"))
    size = recorded_image_size(path, predictor.image_size)
    return SegmentationModel(predictor, threshold, size, f"{description} (ONNX Runtime)")


def _export_and_load(path: Path, threads: int | None) -> SegmentationModel:
    """Export a PyTorch model to a temporary ONNX file and load it into ONNX Runtime."""
    from lvwall.model import export_checkpoint

    with tempfile.TemporaryDirectory(prefix="lvwall-onnx-") as folder:
        onnx_path = Path(folder) / "model.onnx"
        export_checkpoint(path, onnx_path)
        # The session holds the graph in memory, so the file can go with the folder.
        predictor = OnnxPredictor(onnx_path, threads)
    threshold = recorded_threshold(path, predictor.meta.get("threshold"))
    size = recorded_image_size(path, predictor.image_size)
    return SegmentationModel(predictor, threshold, size, f"{path} (ONNX Runtime, exported now)")


def _torch_loader(precision: str) -> Callable[[Path | None, int | None], SegmentationModel]:
    def load(path: Path | None, threads: int | None) -> SegmentationModel:
        import torch

        from lvwall.model import default_model_paths, load_model
        from lvwall.threads import use_torch_threads

        if path is not None and not runs_on(path, "torch"):
            raise ModelError(
                path,
                "is an ONNX model, which only the onnx backend runs; use --backend onnx or "
                "give a .ckpt or .safetensors model",
            )
        weights = path or default_model_paths().weights
        network, meta = load_model(weights)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":
            use_torch_threads(threads)
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        predictor = TorchPredictor(network, device, dtype)
        size = recorded_image_size(weights, meta.get("image_size") or MODEL_SIZE)
        threshold = recorded_threshold(weights, meta.get("threshold"))
        name = "bundled default model" if path is None else str(path)
        return SegmentationModel(
            predictor, threshold, size, f"{name} (PyTorch {precision} on {device})"
        )

    return load


def runs_on(path: Path, backend: str) -> bool:
    """Whether ``backend`` (a name of :data:`BACKENDS`) can run the model file ``path``: an
    ONNX file runs on the ``onnx`` backend only, a PyTorch file on every backend (the ``onnx``
    one exports it first)."""
    look_up(BACKENDS, backend, "backend")
    return backend == "onnx" or path.suffix.lower() != ONNX_SUFFIX


#: How the network runs, by ``--backend``; each loads a model path (``None``: the bundled one).
BACKENDS: dict[str, Callable[[Path | None, int | None], SegmentationModel]] = {
    "onnx": _load_onnx,
    "torch": _torch_loader("fp32"),
    "torch-bf16": _torch_loader("bf16"),
}
