"""The default model shipped inside the package, used when no ``--model`` is given.

It lives in ``lvwall/assets/`` as two files made from one trained checkpoint by
:func:`bundle_model`: the slim safetensors model (for PyTorch, on a GPU, and for the
explanation tools) and its verified ONNX export (for ONNX Runtime on a CPU).
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

from lvwall.atomic import atomic_path
from lvwall.errors import ModelError

#: The package folder the bundled model is installed into.
ASSETS_DIR: Path = Path(__file__).resolve().parents[1] / "assets"
#: File names of the bundled model's two forms.
WEIGHTS_NAME, ONNX_NAME = "lvwall-default.safetensors", "lvwall-default.onnx"


class BundledModel(NamedTuple):
    """Paths of the bundled model: safetensors weights and the ONNX export of the same."""

    weights: Path
    onnx: Path


def is_bundled(path: str | Path | None) -> bool:
    """Whether ``path`` is one of the bundled model's files (``None``: the bundled model):
    the model the quality score was fitted for."""
    if path is None:
        return True
    try:
        bundled = default_model_paths()
    except ModelError:
        return False
    return Path(path).resolve() in {file.resolve() for file in bundled}


def default_model_paths(assets_dir: str | Path | None = None) -> BundledModel:
    """The bundled model's files (in :data:`ASSETS_DIR` unless ``assets_dir`` is given);
    :class:`ModelError`, saying how to make them, if either is missing."""
    assets_dir = Path(ASSETS_DIR if assets_dir is None else assets_dir)
    paths = BundledModel(assets_dir / WEIGHTS_NAME, assets_dir / ONNX_NAME)
    missing = [path for path in paths if not path.is_file()]
    if missing:
        raise ModelError(
            missing[0],
            "the bundled default model is not installed; train one with `lvwall train` and "
            "pass its checkpoint with --model, or make it the default with "
            "`lvwall export CHECKPOINT --install-default`",
        )
    return paths


def bundle_model(
    checkpoint: str | Path, assets_dir: str | Path | None = None
) -> tuple[BundledModel, Path | None]:
    """Install a trained checkpoint as the default model: slim weights plus checked ONNX.

    Both files are written atomically; the ONNX file only if it reproduces PyTorch (see
    :func:`lvwall.model.export.export_onnx`). The files they replace are kept in a new
    ``replaced-<UTC time>/`` folder beside them, which is returned (``None`` when there was
    nothing to replace).
    """
    from lvwall.model.checkpoint import load_model, save_model
    from lvwall.model.export import export_checkpoint

    assets_dir = Path(ASSETS_DIR if assets_dir is None else assets_dir)
    paths = BundledModel(assets_dir / WEIGHTS_NAME, assets_dir / ONNX_NAME)
    model, meta = load_model(checkpoint)
    with tempfile.TemporaryDirectory(prefix="lvwall-bundle-") as folder:
        # Exported and checked first, so that a model that fails leaves the bundle as it was.
        staged = export_checkpoint(checkpoint, Path(folder) / ONNX_NAME).path
        backup = _keep_replaced(paths)
        with atomic_path(paths.onnx) as tmp:
            shutil.copyfile(staged, tmp)
    save_model(paths.weights, model, meta)
    return paths, backup


def _keep_replaced(paths: BundledModel) -> Path | None:
    existing = [path for path in paths if path.is_file()]
    if not existing:
        return None
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    backup = existing[0].parent / f"replaced-{stamp}"
    backup.mkdir()
    for path in existing:
        shutil.copy2(path, backup / path.name)
    return backup
