"""Nested hyper-parameter search: candidates are compared on an inner split of the training fold.

For each outer fold, every candidate loss setting (for Focal Tversky, a grid of
``(alpha, beta, gamma)``; Abraham & Khan, ISBI 2019) is trained on the outer training
recordings with an inner, patient-wise validation split of those same recordings
(:func:`inner_split`, the split :func:`lvwall.train.fit` holds out for checkpoint selection
and early stopping). The candidate with the best inner-validation Dice is chosen
(:func:`choose_candidate`), and its model is the fold's model. The outer test fold is
touched only to score that chosen model, so its recordings never steer a choice (Varma &
Simon, BMC Bioinformatics 7:91, 2006, on the bias of selecting on the test folds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lvwall.data import LabelledRecording, train_val_split

#: Greek letters for the loss keyword arguments in text.
_SYMBOLS: dict[str, str] = {"alpha": "α", "beta": "β", "gamma": "γ"}


def focal_tversky_grid(
    alpha_beta: Sequence[tuple[float, float]], gammas: Sequence[float]
) -> tuple[dict[str, float], ...]:
    """Every ``(alpha, beta)`` pair with every ``gamma``, as Focal Tversky loss keywords.

    ``alpha`` weighs false positives and ``beta`` false negatives, as in
    :class:`lvwall.train.losses.FocalTverskyLoss`. Raises :class:`ValueError` for an empty grid or
    values the loss would refuse.
    """
    if not alpha_beta or not gammas:
        raise ValueError("the grid needs at least one (alpha, beta) pair and one gamma")
    for alpha, beta in alpha_beta:
        if alpha < 0 or beta < 0 or alpha + beta == 0:
            raise ValueError(f"need alpha, beta >= 0 and alpha + beta > 0, got {alpha}, {beta}")
    if any(not gamma > 0 for gamma in gammas):
        raise ValueError(f"every gamma must be > 0, got {list(gammas)}")
    return tuple(
        {"alpha": float(alpha), "beta": float(beta), "gamma": float(gamma)}
        for alpha, beta in alpha_beta
        for gamma in gammas
    )


def candidate_label(loss_kwargs: dict[str, float]) -> str:
    """A folder name for a candidate: ``alpha0.3-beta0.7-gamma0.75``; ``default`` for none."""
    if not loss_kwargs:
        return "default"
    return "-".join(f"{key}{value:g}" for key, value in sorted(loss_kwargs.items()))


def describe_kwargs(loss_kwargs: dict[str, float]) -> str:
    """``α = 0.3, β = 0.7, γ = 0.75`` (in the loss's argument order); ``defaults`` for none."""
    if not loss_kwargs:
        return "defaults"
    return ", ".join(f"{_SYMBOLS.get(key, key)} = {value:g}" for key, value in loss_kwargs.items())


def short_kwargs(loss_kwargs: dict[str, float]) -> str:
    """``α=0.3 β=0.7 γ=0.75`` for progress lines; empty for none."""
    return " ".join(f"{_SYMBOLS.get(key, key)}={value:g}" for key, value in loss_kwargs.items())


def inner_split(
    train_recordings: Sequence[LabelledRecording], val_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Recording names of the inner (train, validation) split of an outer training fold.

    The same patient-wise, MI-stratified split :func:`lvwall.train.fit` makes of the
    recordings it is given (:func:`lvwall.data.splits.train_val_split`).
    """
    train_idx, val_idx = train_val_split(train_recordings, val_fraction, seed)
    return (
        [train_recordings[i].name for i in train_idx],
        [train_recordings[i].name for i in val_idx],
    )


@dataclass(frozen=True)
class Candidate:
    """One trained candidate: its loss keywords, best inner-validation Dice and run folder
    (relative to the experiment folder)."""

    loss_kwargs: dict[str, float]
    inner_val_dice: float
    run: str

    def to_dict(self) -> dict[str, object]:
        dice = None if math.isnan(self.inner_val_dice) else self.inner_val_dice
        return {"loss_kwargs": dict(self.loss_kwargs), "inner_val_dice": dice, "run": self.run}

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Candidate:
        dice = values["inner_val_dice"]
        return cls(
            loss_kwargs={str(k): float(v) for k, v in dict(values["loss_kwargs"]).items()},
            inner_val_dice=math.nan if dice is None else float(dice),
            run=str(values["run"]),
        )


def choose_candidate(candidates: Sequence[Candidate]) -> Candidate:
    """The candidate with the highest inner-validation Dice; the first on a tie.

    A NaN Dice (a run that never validated) ranks below any number. Raises
    :class:`ValueError` for no candidates.
    """
    if not candidates:
        raise ValueError("no candidates to choose from")

    def rank(candidate: Candidate) -> float:
        return -math.inf if math.isnan(candidate.inner_val_dice) else candidate.inner_val_dice

    best = candidates[0]
    for candidate in candidates[1:]:
        if rank(candidate) > rank(best):
            best = candidate
    return best
