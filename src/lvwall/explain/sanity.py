"""The model-parameter randomisation test (Adebayo et al., "Sanity checks for saliency maps",
NeurIPS 2018).

A saliency method that explains the *model* must give different maps when the model's
learned weights are replaced by random ones; a method whose maps survive randomisation
shows the input (edges) rather than what the network learned. Layers are re-initialised
with their own initialisers (``reset_parameters``), either *cascading* from the output down
to the input (each step keeps the earlier steps' randomisation) or *independently* one at a
time, and each randomised map is compared with the original by the Spearman rank correlation
of the absolute attributions (Adebayo et al. report it with and without absolute values),
over the pixels that either map attributes something to (see :func:`rank_correlation`).
The explained region stays the one the original model predicts, so every map explains the
same pixels.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from lvwall.explain.filters import block_names
from lvwall.explain.saliency import (
    AttributionSettings,
    Explanation,
    explain_frame,
    find_layer,
)
from lvwall.explain.targets import DEFAULT_SPLITTER
from lvwall.lookup import look_up
from lvwall.model import DEFAULT_THRESHOLD

#: A randomisation order: from layers ordered output-first to (step label, layers to
#: re-initialise at that step).
RandomisationOrder = Callable[[Sequence[str]], list[tuple[str, list[str]]]]


def _cascading(layers: Sequence[str]) -> list[tuple[str, list[str]]]:
    return [(layer, list(layers[: index + 1])) for index, layer in enumerate(layers)]


def _independent(layers: Sequence[str]) -> list[tuple[str, list[str]]]:
    return [(layer, [layer]) for layer in layers]


#: Randomisation orders by name (Adebayo et al. 2018, section 3.1).
RANDOMISATIONS: dict[str, RandomisationOrder] = {
    "cascading": _cascading,
    "independent": _independent,
}


@dataclass(frozen=True)
class SanityStep:
    """One randomised model: the step's label, the layers re-initialised and the result."""

    label: str
    randomised: tuple[str, ...]
    spearman: float
    attribution: np.ndarray


@dataclass(frozen=True)
class SanityReport:
    """The original explanation and one step per randomised model."""

    original: Explanation
    mode: str
    steps: list[SanityStep]


def rank_correlation(
    first: np.ndarray, second: np.ndarray, within: np.ndarray | None = None
) -> float:
    """Spearman's rank correlation of the absolute values of two maps.

    Only pixels in ``within`` (a boolean mask, e.g. the scan sector; default all) count, and
    of those only the ones that either map attributes something to: pixels where both maps
    are exactly zero carry no rank information, and in an echo frame they are mostly the
    blanked area outside the sector, whose shared zeros make any two maps look alike.
    NaN when fewer than two pixels remain or one map is constant on them.
    """
    first, second = np.abs(np.ravel(first)), np.abs(np.ravel(second))
    if first.shape != second.shape:
        raise ValueError(f"maps differ in size: {first.size} and {second.size} values")
    informative = (first != 0) | (second != 0)
    if within is not None:
        if np.size(within) != first.size:
            raise ValueError(f"within has {np.size(within)} values, the maps {first.size}")
        informative &= np.ravel(within).astype(bool)
    first, second = first[informative], second[informative]
    if first.size < 2 or np.ptp(first) == 0 or np.ptp(second) == 0:
        return float("nan")
    return float(spearmanr(first, second).statistic)


def randomised_copy(model: nn.Module, layers: Sequence[str], seed: int = 0) -> nn.Module:
    """A copy of ``model`` whose named layers are re-initialised by their own initialisers
    (weights, biases and normalisation statistics); the rest keeps its learned weights."""
    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in layers:
            for module in find_layer(clone, name).modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
                if hasattr(module, "reset_running_stats"):
                    module.reset_running_stats()
    return clone.eval()


def randomisation_test(
    model: nn.Module,
    frame: np.ndarray,
    method: str = "vanilla",
    target: str = "wall",
    mode: str = "cascading",
    layers: Sequence[str] | None = None,
    settings: AttributionSettings | None = None,
    *,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    splitter: str = DEFAULT_SPLITTER,
    within: np.ndarray | None = None,
) -> SanityReport:
    """Run the model-parameter randomisation test on one grey frame.

    ``layers`` are re-initialised from the first listed (default: the model's blocks from the
    output back to the input, :func:`lvwall.explain.filters.block_names` reversed). Maps are
    compared inside ``within`` (e.g. the scan sector), see :func:`rank_correlation`.
    """
    order = look_up(RANDOMISATIONS, mode, "randomisation")
    layers = list(layers) if layers is not None else block_names(model)[::-1]
    if not layers:
        raise ValueError("no layers to randomise")
    original = explain_frame(
        model, frame, method, target, settings=settings, threshold=threshold, splitter=splitter
    )
    steps = []
    for label, randomised in order(layers):
        random_model = randomised_copy(model, randomised, seed)
        explanation = explain_frame(
            random_model, frame, method, target, settings=settings, region=original.region
        )
        steps.append(
            SanityStep(
                label=label,
                randomised=tuple(randomised),
                spearman=rank_correlation(original.attribution, explanation.attribution, within),
                attribution=explanation.attribution,
            )
        )
    return SanityReport(original=original, mode=mode, steps=steps)
