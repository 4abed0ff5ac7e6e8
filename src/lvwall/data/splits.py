"""Patient-wise, label-stratified splits of recordings (never of frames).

Frames of one recording, and recordings of one patient, are near-duplicates; a split that
puts them on both sides leaks and inflates validation scores. Degerli et al. (IEEE Access
9:34442, 2021) evaluate HMC-QU with 5-fold cross-validation over recordings; here folds are
drawn over patients (all their recordings, views and copies on one side) and stratified by the
MI label and the views each patient has, with scikit-learn's StratifiedGroupKFold.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from lvwall.data.records import LabelledRecording

Fold = tuple[list[int], list[int]]


def _labels_and_groups(
    recordings: Sequence[LabelledRecording],
) -> tuple[np.ndarray, np.ndarray]:
    """Stratification classes and patient groups: a recording's class combines its ``label``
    with the views its patient has, so that patients with both views and those with one are
    spread evenly over the folds."""
    groups = np.array([recording.patient for recording in recordings])
    views: dict[str, set[str]] = {}
    for recording in recordings:
        views.setdefault(recording.patient, set()).add(recording.view)
    strata = [
        f"{recording.label}|{'+'.join(sorted(views[recording.patient]))}"
        for recording in recordings
    ]
    _, labels = np.unique(np.array(strata), return_inverse=True)
    return labels, groups


def kfold(recordings: Sequence[LabelledRecording], k: int = 5, seed: int = 0) -> list[Fold]:
    """Split into ``k`` (train, validation) folds of indices into ``recordings``.

    Every patient's recordings land in one validation fold, every index is validated exactly
    once, each fold keeps roughly the overall share of each ``label`` and of patients with
    each set of views, and the same ``seed`` gives the same folds.
    """
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got k={k}")
    labels, groups = _labels_and_groups(recordings)
    n_patients = len(set(groups.tolist()))
    if k > n_patients:
        raise ValueError(f"cannot make {k} patient-wise folds from {n_patients} patients")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    placeholder = np.zeros((len(recordings), 1))
    with warnings.catch_warnings():
        # A class rarer than k (few MI patients, few with one view) cannot be spread over every
        # fold; the folds stay patient-wise and as balanced as the classes allow.
        warnings.filterwarnings("ignore", message=".*least populated class.*")
        return [
            (sorted(train.tolist()), sorted(validation.tolist()))
            for train, validation in splitter.split(placeholder, labels, groups)
        ]


def train_val_split(
    recordings: Sequence[LabelledRecording], val_fraction: float = 0.2, seed: int = 0
) -> Fold:
    """One patient-wise, label-stratified split with about ``val_fraction`` of the patients
    held out; both sides are non-empty.

    It is one fold of :func:`kfold` with ``k = round(1 / val_fraction)`` (capped at the
    number of patients); for a fraction above one half the roles of the sides are swapped.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    n_patients = len({recording.patient for recording in recordings})
    if n_patients < 2:
        raise ValueError(f"a patient-wise split needs at least 2 patients, got {n_patients}")
    held_out_share = min(val_fraction, 1.0 - val_fraction)
    k = min(max(round(1.0 / held_out_share), 2), n_patients)
    train, validation = kfold(recordings, k=k, seed=seed)[0]
    return (train, validation) if val_fraction <= 0.5 else (validation, train)
