"""Uniform model soups: one U-Net whose weights are the mean of several fine-tuned ones.

Wortsman et al., "Model soups: averaging weights of multiple fine-tuned models improves
accuracy without increasing inference time", ICML 2022. Averaging works for models fine-tuned
from one starting point (the same ``lvwall train --init`` checkpoint with different ``--seed``),
which stay in one basin of the loss; models trained from different starting points average
to noise. The soup runs at the speed of one model, unlike an ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel

from lvwall.errors import ModelError
from lvwall.model import UNet, load_model


def average_models(paths: Sequence[str | Path]) -> tuple[UNet, dict[str, Any]]:
    """The uniform soup of the models in ``paths`` and the first model's metadata.

    PyTorch's weight averaging (``torch.optim.swa_utils.AveragedModel``, with buffers) takes
    the mean of the weights and batch-norm statistics; integer buffers (batch counts) stay
    the first model's. Raises :class:`ValueError` for fewer than two paths and
    :class:`~lvwall.errors.ModelError` naming a file whose architecture or threshold differs
    from the first's, or that holds a weight or statistic that is not finite (NaN or
    infinity: every weight of the soup would be NaN). The soup itself is checked too (finite
    weights can overflow in the sum).
    """
    if len(paths) < 2:
        raise ValueError(f"a soup needs at least two models, got {len(paths)}")
    first, meta = load_model(paths[0])
    _check_finite(first, paths[0])
    averaged = AveragedModel(first, use_buffers=True)
    averaged.update_parameters(first)
    for path in paths[1:]:
        model, other_meta = load_model(path)
        _check_finite(model, path)
        if model.config != first.config:
            raise ModelError(
                path, f"has architecture {model.config}, unlike {paths[0]} ({first.config})"
            )
        if other_meta["threshold"] != meta["threshold"]:
            raise ModelError(
                path,
                f"has threshold {other_meta['threshold']}, unlike {paths[0]}'s {meta['threshold']}",
            )
        averaged.update_parameters(model)
    meta = {**meta, "soup_of": [Path(path).name for path in paths], "epoch": None}
    _check_finite(averaged.module, paths[-1], "the soup of these models would hold")
    return averaged.module.eval(), meta


def _check_finite(model: torch.nn.Module, path: str | Path, holds: str = "holds") -> None:
    """:class:`ModelError` naming ``path`` and the first tensor that is not finite."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelError(
                path,
                f"{holds} weights that are not finite (NaN or infinity, first in {name}); "
                "a soup with them would be NaN, so nothing was written",
            )
