"""Tests for lvwall.data.splits: patient-wise, stratified, deterministic folds."""

from __future__ import annotations

import numpy as np
import pytest

from cohorts import cohort
from lvwall.data.records import LabelledRecording
from lvwall.data.splits import kfold, train_val_split


def _patients(recordings: list[LabelledRecording], indices: list[int]) -> set[str]:
    return {recordings[i].patient for i in indices}


def _mi_share(recordings: list[LabelledRecording], indices: list[int]) -> float:
    return float(np.mean([recordings[i].label for i in indices]))


COHORTS = [
    # patients, recordings per patient, MI share, k
    (40, 1, 0.5, 5),
    (30, 3, 0.3, 5),
    (12, 2, 0.5, 3),
    (6, 2, 0.5, 6),
    (162, 1, 93 / 162, 5),  # HMC-QU A4C: 162 recordings, 93 MI
]


@pytest.mark.parametrize(("n_patients", "per_patient", "mi_share", "k"), COHORTS)
def test_kfold_is_patient_wise_and_covers_every_index_once(
    n_patients: int, per_patient: int, mi_share: float, k: int
) -> None:
    recordings = cohort(n_patients, per_patient, mi_share)
    folds = kfold(recordings, k=k, seed=0)

    assert len(folds) == k
    validated = [i for _, validation in folds for i in validation]
    assert sorted(validated) == list(range(len(recordings)))
    for train, validation in folds:
        assert train and validation
        assert sorted(train + validation) == list(range(len(recordings)))
        assert not _patients(recordings, train) & _patients(recordings, validation)


@pytest.mark.parametrize(("n_patients", "per_patient", "mi_share", "k"), COHORTS[:2] + COHORTS[4:])
def test_kfold_keeps_the_label_share_in_each_fold(
    n_patients: int, per_patient: int, mi_share: float, k: int
) -> None:
    recordings = cohort(n_patients, per_patient, mi_share)
    overall = _mi_share(recordings, list(range(len(recordings))))
    for _, validation in kfold(recordings, k=k, seed=3):
        # Whole patients move together, so a fold can be off by about one patient per class.
        tolerance = 1.5 * per_patient / len(validation)
        assert abs(_mi_share(recordings, validation) - overall) <= tolerance


def test_kfold_is_deterministic_by_seed() -> None:
    recordings = cohort(40, 2, 0.4)
    assert kfold(recordings, seed=7) == kfold(recordings, seed=7)
    assert kfold(recordings, seed=7) != kfold(recordings, seed=8)


@pytest.mark.parametrize(("k", "problem"), [(1, "k >= 2"), (0, "k >= 2"), (7, "6 patients")])
def test_kfold_rejects_impossible_fold_counts(k: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        kfold(cohort(6, 2, 0.5), k=k)


@pytest.mark.filterwarnings("ignore:The least populated class")  # 3 patients, 3 folds
@pytest.mark.parametrize(
    ("n_patients", "val_fraction", "expected_val_patients"),
    [(50, 0.2, 10), (30, 0.5, 15), (40, 0.25, 10), (3, 0.2, 1), (20, 0.8, 16), (2, 0.5, 1)],
)
def test_train_val_split_holds_out_about_the_fraction_of_patients(
    n_patients: int, val_fraction: float, expected_val_patients: int
) -> None:
    recordings = cohort(n_patients, 2, 0.5)
    train, validation = train_val_split(recordings, val_fraction=val_fraction, seed=1)

    assert train and validation
    assert sorted(train + validation) == list(range(len(recordings)))
    assert not _patients(recordings, train) & _patients(recordings, validation)
    assert abs(len(_patients(recordings, validation)) - expected_val_patients) <= 1


def test_train_val_split_is_deterministic_by_seed() -> None:
    recordings = cohort(50, 1, 0.5)
    assert train_val_split(recordings, seed=4) == train_val_split(recordings, seed=4)
    assert train_val_split(recordings, seed=4) != train_val_split(recordings, seed=5)


@pytest.mark.parametrize(
    ("n_patients", "val_fraction", "problem"),
    [(10, 0.0, "between 0 and 1"), (10, 1.0, "between 0 and 1"), (1, 0.2, "at least 2")],
)
def test_train_val_split_rejects_bad_arguments(
    n_patients: int, val_fraction: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        train_val_split(cohort(n_patients, 3, 0.0), val_fraction=val_fraction)


def _two_view_cohort() -> list[LabelledRecording]:
    """30 patients with A4C and A2C and 10 with A4C alone, plus second A4C copies of 12."""
    empty = np.zeros((1, 2, 2), np.float32)
    recordings = []
    for patient in range(40):
        views = ("A4C", "A2C") if patient < 30 else ("A4C",)
        copies = [(view, "") for view in views] + ([("A4C", "@copy")] if patient % 3 == 0 else [])
        recordings += [
            LabelledRecording(
                name=f"P{patient:03d}_{view}{copy}",
                patient=f"P{patient:03d}",
                frames=empty,
                masks=empty.astype(np.uint8),
                view=view,
            )
            for view, copy in copies
        ]
    return recordings


def test_kfold_keeps_a_patients_views_and_copies_together_and_spreads_view_sets() -> None:
    recordings = _two_view_cohort()
    for train, validation in kfold(recordings, k=5, seed=0):
        assert not _patients(recordings, train) & _patients(recordings, validation)
        held_out = _patients(recordings, validation)
        one_view = {p for p in held_out if int(p[1:]) >= 30}
        # 10 of 40 patients have one view: 2 of every 8 held out, give or take one.
        assert abs(len(one_view) - len(held_out) / 4) <= 1


@pytest.mark.shared_data
def test_real_two_folder_splits_never_share_a_patient(camus_2view_dir, camus_dev_dir) -> None:
    from lvwall.data.registry import load_labelled

    recordings = load_labelled([camus_2view_dir, camus_dev_dir], size=16, progress=False)
    assert len({r.patient for r in recordings}) == 309
    for train, validation in [*kfold(recordings, k=5, seed=0), train_val_split(recordings)]:
        assert not _patients(recordings, train) & _patients(recordings, validation)


def test_a_class_rarer_than_the_folds_gives_no_library_warning() -> None:
    import warnings

    recordings = cohort(12, 1, 1 / 12)  # one MI patient, five folds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = kfold(recordings, k=5, seed=0)
    assert sorted(i for _, validation in folds for i in validation) == list(range(12))
