"""Tests for lvwall.experiment.tuning: the grid, the choice and the leak-free inner split."""

from __future__ import annotations

import math

import pytest

from cohorts import cohort
from lvwall.data.splits import kfold
from lvwall.experiment.tuning import (
    Candidate,
    candidate_label,
    choose_candidate,
    describe_kwargs,
    focal_tversky_grid,
    inner_split,
    short_kwargs,
)
from lvwall.train import SegmentationDataModule
from lvwall.train.config import TrainConfig


@pytest.mark.parametrize(
    ("pairs", "gammas", "expected"),
    [
        (
            [(0.3, 0.7)],
            [0.75],
            [{"alpha": 0.3, "beta": 0.7, "gamma": 0.75}],
        ),
        (
            [(0.3, 0.7), (0.7, 0.3)],
            [0.75, 1.0],
            [
                {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
                {"alpha": 0.3, "beta": 0.7, "gamma": 1.0},
                {"alpha": 0.7, "beta": 0.3, "gamma": 0.75},
                {"alpha": 0.7, "beta": 0.3, "gamma": 1.0},
            ],
        ),
    ],
)
def test_grid_is_every_pair_with_every_gamma(
    pairs: list[tuple[float, float]], gammas: list[float], expected: list[dict[str, float]]
) -> None:
    assert list(focal_tversky_grid(pairs, gammas)) == expected


@pytest.mark.parametrize(
    ("pairs", "gammas", "message"),
    [
        ([], [0.75], "at least one"),
        ([(0.3, 0.7)], [], "at least one"),
        ([(-0.1, 0.7)], [0.75], "alpha"),
        ([(0.0, 0.0)], [0.75], "alpha"),
        ([(0.3, 0.7)], [0.0], "gamma"),
    ],
)
def test_grid_rejects_bad_values(
    pairs: list[tuple[float, float]], gammas: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        focal_tversky_grid(pairs, gammas)


@pytest.mark.parametrize(
    ("kwargs", "label", "text", "short"),
    [
        ({}, "default", "defaults", ""),
        (
            {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
            "alpha0.3-beta0.7-gamma0.75",
            "α = 0.3, β = 0.7, γ = 0.75",
            "α=0.3 β=0.7 γ=0.75",
        ),
        (
            {"gamma": 1.0, "alpha": 0.5, "beta": 0.5},
            "alpha0.5-beta0.5-gamma1",
            "γ = 1, α = 0.5, β = 0.5",
            "γ=1 α=0.5 β=0.5",
        ),
    ],
)
def test_candidate_label_and_description(
    kwargs: dict[str, float], label: str, text: str, short: str
) -> None:
    assert candidate_label(kwargs) == label
    assert describe_kwargs(kwargs) == text
    assert short_kwargs(kwargs) == short


def _candidates(dices: list[float]) -> list[Candidate]:
    return [Candidate({"gamma": float(i + 1)}, dice, f"run{i}") for i, dice in enumerate(dices)]


@pytest.mark.parametrize(
    ("dices", "chosen_run"),
    [
        ([0.70, 0.82, 0.79], "run1"),
        ([0.80, 0.80, 0.79], "run0"),  # a tie keeps the first
        ([math.nan, 0.40], "run1"),  # a run that never validated ranks last
        ([math.nan, math.nan], "run0"),
        ([0.5], "run0"),
    ],
)
def test_choose_candidate_takes_the_best_inner_dice(dices: list[float], chosen_run: str) -> None:
    assert choose_candidate(_candidates(dices)).run == chosen_run


def test_choose_candidate_needs_candidates() -> None:
    with pytest.raises(ValueError, match="no candidates"):
        choose_candidate([])


@pytest.mark.parametrize("dice", [0.8125, math.nan])
def test_candidate_round_trips_through_a_dict(dice: float) -> None:
    candidate = Candidate({"alpha": 0.3, "beta": 0.7, "gamma": 0.75}, dice, "runs/x")
    back = Candidate.from_dict(candidate.to_dict())
    assert back.loss_kwargs == candidate.loss_kwargs
    assert back.run == candidate.run
    assert back.inner_val_dice == pytest.approx(dice, nan_ok=True)


COHORTS = [
    # patients, recordings per patient, MI share, outer folds, inner validation fraction
    (12, 1, 0.5, 3, 0.25),
    (20, 2, 0.4, 5, 0.2),
    (30, 3, 0.6, 5, 0.2),
    (9, 1, 0.5, 3, 0.5),
]


@pytest.mark.parametrize(("n_patients", "per_patient", "mi_share", "k", "fraction"), COHORTS)
def test_inner_split_never_holds_outer_test_recordings(
    n_patients: int, per_patient: int, mi_share: float, k: int, fraction: float
) -> None:
    recordings = cohort(n_patients, per_patient, mi_share)
    patient_of = {r.name: r.patient for r in recordings}
    for train_idx, test_idx in kfold(recordings, k=k, seed=1):
        outer_train = [recordings[i] for i in train_idx]
        outer_test = {recordings[i].name for i in test_idx}

        inner_train, inner_val = inner_split(outer_train, fraction, seed=1)

        assert inner_train and inner_val
        assert sorted(inner_train + inner_val) == sorted(r.name for r in outer_train)
        assert not (set(inner_train) | set(inner_val)) & outer_test
        assert not {patient_of[n] for n in inner_train} & {patient_of[n] for n in inner_val}
        assert not {patient_of[n] for n in inner_val} & {patient_of[n] for n in outer_test}


@pytest.mark.parametrize(("n_patients", "per_patient", "mi_share", "k", "fraction"), COHORTS)
def test_inner_split_is_the_split_training_holds_out(
    n_patients: int, per_patient: int, mi_share: float, k: int, fraction: float
) -> None:
    recordings = cohort(n_patients, per_patient, mi_share)
    train_idx, _ = kfold(recordings, k=k, seed=2)[0]
    outer_train = [recordings[i] for i in train_idx]
    config = TrainConfig(val_fraction=fraction, seed=2)

    held_out = SegmentationDataModule(outer_train, config, num_workers=0).split()

    assert inner_split(outer_train, fraction, seed=2) == (held_out["train"], held_out["val"])
