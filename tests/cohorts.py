"""Synthetic cohorts of labelled recordings for the split tests: only names, patients and MI
labels matter there, so every recording holds one blank frame."""

from __future__ import annotations

import numpy as np

from lvwall.data.records import LabelledRecording


def cohort(n_patients: int, per_patient: int, mi_share: float) -> list[LabelledRecording]:
    """``per_patient`` recordings for each patient; the first ``mi_share`` of patients are MI."""
    blank = np.zeros((1, 4, 4), np.float32)
    n_mi = round(n_patients * mi_share)
    return [
        LabelledRecording(
            name=f"P{patient:03d}_{view}",
            patient=f"P{patient:03d}",
            frames=blank,
            masks=blank.astype(np.uint8),
            label=int(patient < n_mi),
        )
        for patient in range(n_patients)
        for view in range(per_patient)
    ]
