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

from lvwall.checkpoint import load_model
from lvwall.errors import ModelError
from lvwall.model import UNet


def average_models(paths: Sequence[str | Path]) -> tuple[UNet, dict[str, Any]]:
    """The uniform soup of the models in ``paths`` and the first model's metadata.

    Floating-point weights and batch-norm statistics are averaged; integer buffers (batch
    counts) are the first model's. Raises :class:`ValueError` for fewer than two paths and
    :class:`~lvwall.errors.ModelError` naming a file whose architecture or threshold differs
    from the first's.
    """
    if len(paths) < 2:
        raise ValueError(f"a soup needs at least two models, got {len(paths)}")
    soup, meta = load_model(paths[0])
    states = [soup.state_dict()]
    for path in paths[1:]:
        model, other_meta = load_model(path)
        if model.config != soup.config:
            raise ModelError(
                path, f"has architecture {model.config}, unlike {paths[0]} ({soup.config})"
            )
        if other_meta["threshold"] != meta["threshold"]:
            raise ModelError(
                path,
                f"has threshold {other_meta['threshold']}, unlike {paths[0]}'s {meta['threshold']}",
            )
        states.append(model.state_dict())
    soup.load_state_dict({key: _mean([state[key] for state in states]) for key in states[0]})
    meta = {**meta, "soup_of": [Path(path).name for path in paths], "epoch": None}
    return soup.eval(), meta


def _mean(tensors: list[torch.Tensor]) -> torch.Tensor:
    if not tensors[0].is_floating_point():
        return tensors[0]
    return torch.stack(tensors).mean(dim=0)
