"""Load and save trained models without ever unpickling arbitrary objects.

Two formats load:

* a Lightning checkpoint (``best.ckpt``, ``last.ckpt``) written by :mod:`lvwall.train`, read
  with ``torch.load(weights_only=True)``: its ``hyper_parameters`` and ``lvwall`` entries
  hold only plain types (dicts, lists, strings, numbers);
* the slim model file written by :func:`save_model`: safetensors weights with the model
  configuration and metadata as JSON in the safetensors header. This is the format for
  shipping a model (no optimiser state, a fraction of the size, no pickle at all).

Both give back the same ``(UNet, meta)`` pair. ``meta`` has ``model_config``,
``train_config`` (or ``None``), ``threshold``, ``image_size``, ``metrics`` (validation
metrics of the saved epoch where known), ``epoch``, ``train_seconds`` (of a Lightning
checkpoint: training time up to it, over every attempt) and ``format``.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lvwall.atomic import atomic_path
from lvwall.data import MODEL_SIZE
from lvwall.errors import ModelError

if TYPE_CHECKING:
    import torch

    from lvwall.model import UNet

#: Key of our entry in a Lightning checkpoint and in the safetensors header metadata.
META_KEY = "lvwall"
#: Probability above which a pixel is wall, unless a model's metadata says otherwise.
DEFAULT_THRESHOLD = 0.5
#: The prefix Lightning gives the U-Net's weights (the module attribute is ``model``).
STATE_PREFIX = "model."

_ZIP_MAGIC = b"PK\x03\x04"


def save_model(path: str | Path, model: UNet, meta: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as a slim safetensors file with ``meta`` as JSON; return the path.

    ``meta`` must be JSON-serialisable; ``model_config`` is always taken from the model.
    The file is written atomically.
    """
    from safetensors.torch import save_file

    meta = {**_default_meta(), **(meta or {}), "model_config": model.config.to_dict()}
    meta["format"] = "lvwall-model"
    try:
        header = json.dumps(meta)
    except TypeError as error:
        raise ValueError(f"meta must be JSON-serialisable: {error}") from None
    # Clones because safetensors refuses tensors that share storage.
    tensors = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: header})
    return path


def check_model_path(path: Path) -> None:
    """:class:`ModelError` naming ``path`` unless it is a file: a folder, a missing path and
    a special file (a FIFO, a device) each said as what they are."""
    if path.is_file():
        return
    if path.is_dir():
        raise ModelError(path, "is a folder, not a model file")
    if path.exists():
        raise ModelError(path, "is not a regular file, so not a model file")
    raise ModelError(path, "the model file does not exist")


def load_model(path: str | Path) -> tuple[UNet, dict[str, Any]]:
    """Load a Lightning checkpoint or a slim model file as an eval-mode U-Net on the CPU.

    Raises :class:`ModelError` naming ``path`` when the file is missing, is neither format,
    holds no lvwall model, or holds weights that do not fit its model configuration.
    """
    path = Path(path)
    check_model_path(path)
    with path.open("rb") as handle:
        magic = handle.read(len(_ZIP_MAGIC))
    if magic == _ZIP_MAGIC:
        state, meta = _read_lightning(path)
    else:
        state, meta = _read_safetensors(path)
    model = _build(path, meta["model_config"], state)
    return model, meta


def _default_meta() -> dict[str, Any]:
    return {
        "train_config": None,
        "threshold": DEFAULT_THRESHOLD,
        "image_size": MODEL_SIZE,
        "metrics": {},
        "epoch": None,
    }


def _read_lightning(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        what = f" ({found.group(1)})" if found else ""
        raise ModelError(
            path,
            f"holds Python objects besides weights and plain data{what}, which lvwall "
            "refuses to unpickle",
        ) from None
    except (RuntimeError, EOFError, OSError) as error:
        first_sentence = str(error).split(". ")[0].strip()
        raise ModelError(path, f"is truncated or corrupt ({first_sentence})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ModelError(path, "is a PyTorch file but not a Lightning checkpoint (no state_dict)")
    hyper = checkpoint.get("hyper_parameters") or {}
    if "model_config" not in hyper:
        raise ModelError(path, "is a Lightning checkpoint without an lvwall model configuration")
    state = {
        key.removeprefix(STATE_PREFIX): value
        for key, value in checkpoint["state_dict"].items()
        if key.startswith(STATE_PREFIX)
    }
    extra = checkpoint.get(META_KEY) or {}
    train_config = hyper.get("train_config")
    meta = {
        **_default_meta(),
        "model_config": hyper["model_config"],
        "train_config": train_config,
        "threshold": extra.get("threshold", DEFAULT_THRESHOLD),
        "image_size": (train_config or {}).get("image_size", MODEL_SIZE),
        "metrics": extra.get("metrics", {}),
        "train_seconds": extra.get("train_seconds"),
        "epoch": checkpoint.get("epoch"),
        "format": "lightning-checkpoint",
    }
    return state, meta


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelError(
            path, f"is neither an lvwall model file nor a Lightning checkpoint ({error})"
        ) from None
    if META_KEY not in header:
        raise ModelError(path, "is a safetensors file without lvwall model metadata")
    try:
        meta = json.loads(header[META_KEY])
    except json.JSONDecodeError as error:
        raise ModelError(path, f"has unreadable lvwall metadata ({error})") from None
    if not isinstance(meta, dict) or "model_config" not in meta:
        raise ModelError(path, "has lvwall metadata without a model configuration")
    return state, {**_default_meta(), **meta}


def _build(path: Path, model_config: dict[str, Any], state: dict[str, torch.Tensor]) -> UNet:
    """The U-Net of ``model_config`` with the weights ``state``. The configuration is first
    built on PyTorch's meta device, which allocates nothing, and checked against the weights:
    a file whose configuration asks for a model larger than the weights it holds (absurd
    widths, say) is refused before any memory is taken."""
    import torch

    from lvwall.model import UNet, UNetConfig

    try:
        config = UNetConfig.from_dict(model_config)
        with torch.device("meta"):
            skeleton = UNet(config)
    except (TypeError, ValueError, KeyError) as error:
        raise ModelError(
            path, f"has a model configuration this lvwall cannot build ({error})"
        ) from None
    problem = _state_mismatch(skeleton.state_dict(), state)
    if problem:
        raise ModelError(path, f"holds weights that do not fit its model configuration ({problem})")
    model = UNet(config)
    model.load_state_dict(state, strict=True)
    return model.eval()


def _state_mismatch(expected: dict[str, torch.Tensor], given: dict[str, torch.Tensor]) -> str:
    """One phrase on how ``given`` fails to fit ``expected``; empty when it fits."""
    missing = sorted(set(expected) - set(given))
    if missing:
        return f"{len(missing)} missing, e.g. {missing[0]}"
    unexpected = sorted(set(given) - set(expected))
    if unexpected:
        return f"{len(unexpected)} unexpected, e.g. {unexpected[0]}"
    for key, value in expected.items():
        if tuple(given[key].shape) != tuple(value.shape):
            return f"{key} has shape {tuple(given[key].shape)}, expected {tuple(value.shape)}"
    return ""
