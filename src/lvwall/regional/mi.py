"""Hypokinesia flags per segment and MI detection, with thresholds learned by cross-validation.

A segment is flagged hypokinetic when its motion score falls below a threshold learned on
labelled recordings of its view (HMC-QU's per-segment MI labels in ``A4C.xlsx`` and
``A2C.xlsx``, or a phantom's truth). Each threshold maximises Youden's J = sensitivity +
specificity - 1 (Youden, Cancer 3(1), 1950) on the training folds; figures are out-of-fold,
with folds split by patient. A recording is MI when any of its segments is flagged, as in the
HMC-QU study (Degerli et al., "Early Detection of Myocardial Infarction in Low-Quality
Echocardiography", IEEE Access 9, 2021), whose published A4C recording-level figures
:data:`PUBLISHED_HMCQU_MI_DETECTION` are quoted for comparison. With both apical views of a
patient, the patient is MI when any of their twelve segments (six per view, AHA 17-segment
model, Cerqueira et al., Circulation 105(4), 2002) is: :class:`PatientEvaluation`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_curve
from sklearn.model_selection import StratifiedGroupKFold

from lvwall.data import SEGMENT_NAMES, check_view, segment_names
from lvwall.lookup import look_up
from lvwall.regional.motion import MotionCurves, wall_motion
from lvwall.wall import split_sequence

#: Recording-level MI detection on HMC-QU A4C published by Degerli et al. (2021).
PUBLISHED_HMCQU_MI_DETECTION: dict[str, float] = {
    "sensitivity": 0.8597,
    "specificity": 0.7403,
    "precision": 0.8685,
}


def _combined(motion: MotionCurves) -> np.ndarray:
    # Geometric mean: dimensionless, needs no weights, and stays low when either the
    # boundary or the thickness barely moves.
    return np.sqrt(
        np.clip(motion.max_displacement, 0, None) * np.clip(motion.max_thickening, 0, None)
    )


#: Motion scores by name; each maps a cycle's curves to one score per segment (6,), lower
#: meaning less motion. "displacement" is the HMC-QU study's feature (Kiranyaz et al., 2020);
#: "combined" (the default) also needs the segment to thicken, which keeps a segment that is
#: merely carried along by its neighbours from passing as normal.
SCORES: dict[str, Callable[[MotionCurves], np.ndarray]] = {
    "displacement": lambda motion: motion.max_displacement,
    "inward": lambda motion: motion.max_inward,
    "thickening": lambda motion: motion.max_thickening,
    "combined": _combined,
}


#: The score used when none is named.
DEFAULT_SCORE = "combined"
#: The colour scale of each score in the segment diagrams, the same for every recording so
#: that a colour means one amount of motion: from no motion to about the most a healthy
#: segment shows (displacement and inward motion as fractions of the long axis, about 10 to
#: 20 % in normal systole; thickening as a fraction of the ED thickness, 30 to 60 % in
#: normal systole; combined, their geometric mean). Larger scores take the top colour.
SCORE_RANGES: dict[str, tuple[float, float]] = {
    "displacement": (0.0, 0.25),
    "inward": (0.0, 0.25),
    "thickening": (0.0, 0.6),
    "combined": (0.0, 0.35),
}


def segment_scores(motion: MotionCurves, score: str = DEFAULT_SCORE) -> np.ndarray:
    """The named motion score (see :data:`SCORES`) of each segment, shape (6,)."""
    return np.asarray(look_up(SCORES, score, "score")(motion), dtype=float)


def learn_threshold(scores: np.ndarray, hypokinetic: np.ndarray) -> float:
    """The score below which a segment is flagged, maximising Youden's J on these labels.

    The cut lies midway between the highest flagged score and the next score above it.
    With no hypokinetic example nothing is flagged (-inf); with only hypokinetic examples
    everything is (+inf).
    """
    scores = np.asarray(scores, dtype=float).ravel()
    hypokinetic = np.asarray(hypokinetic, dtype=bool).ravel()
    if scores.shape != hypokinetic.shape or scores.size == 0:
        raise ValueError(f"need as many labels as scores, got {scores.size} and {hypokinetic.size}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    if not hypokinetic.any():
        return -np.inf
    if hypokinetic.all():
        return np.inf
    false_positive_rate, true_positive_rate, cuts = roc_curve(
        hypokinetic, -scores, drop_intermediate=False
    )
    highest_flagged = -cuts[int(np.argmax(true_positive_rate - false_positive_rate))]
    if not np.isfinite(highest_flagged):
        return -np.inf
    above = scores[scores > highest_flagged]
    if above.size == 0:
        return np.inf
    return float((highest_flagged + above.min()) / 2.0)


def learn_thresholds(scores: np.ndarray, hypokinetic: np.ndarray) -> np.ndarray:
    """One threshold per segment (6,) from scores and labels of shape (N, 6).

    Segments move differently (basal more than apical), so each gets its own threshold;
    a segment whose labels are all one class falls back to the threshold learned on all
    segments pooled.
    """
    scores, hypokinetic = _check_table(scores, "scores"), _check_table(hypokinetic, "labels")
    pooled = learn_threshold(scores, hypokinetic)
    return np.array(
        [
            learn_threshold(scores[:, k], hypokinetic[:, k])
            if 0 < hypokinetic[:, k].sum() < len(hypokinetic)
            else pooled
            for k in range(len(SEGMENT_NAMES))
        ]
    )


def flag_hypokinetic(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Flags (same shape as ``scores``): True where a segment's score is below its threshold."""
    return np.asarray(scores, dtype=float) < np.asarray(thresholds, dtype=float)


@dataclass(frozen=True)
class DetectionMetrics:
    """Sensitivity, specificity, precision and F1 of binary flags; NaN where undefined."""

    sensitivity: float
    specificity: float
    precision: float
    f1: float
    n_positive: int
    n_negative: int

    @classmethod
    def from_flags(cls, truth: np.ndarray, flagged: np.ndarray) -> DetectionMetrics:
        truth, flagged = np.asarray(truth, bool).ravel(), np.asarray(flagged, bool).ravel()
        if truth.shape != flagged.shape:
            raise ValueError(f"truth and flags differ in size: {truth.size} vs {flagged.size}")
        if truth.size == 0:  # nothing to judge (e.g. no patient with both views)
            return cls(*(float("nan"),) * 4, n_positive=0, n_negative=0)
        (tn, fp), (fn, tp) = confusion_matrix(truth, flagged, labels=[False, True])
        return cls(
            sensitivity=_ratio(tp, tp + fn),
            specificity=_ratio(tn, tn + fp),
            precision=_ratio(tp, tp + fp),
            f1=_ratio(2 * tp, 2 * tp + fp + fn),
            n_positive=int(tp + fn),
            n_negative=int(tn + fp),
        )


@dataclass(frozen=True)
class MIEvaluation:
    """Out-of-fold hypokinesia flags and their figures, and thresholds fitted on all data,
    for the recordings of one view.

    ``truth`` and ``flags`` are bool (N, 6); ``scores`` float (N, 6), columns in the segment
    order of ``view``; ``thresholds`` (6,) are learned on every recording, for use on new
    ones. ``groups`` (N,) are the recordings' patients, as the folds drew them.
    """

    score: str
    scores: np.ndarray
    truth: np.ndarray
    flags: np.ndarray
    thresholds: np.ndarray
    n_splits: int
    view: str = "A4C"
    groups: tuple[str, ...] = ()

    @property
    def segment_metrics(self) -> dict[str, DetectionMetrics]:
        return {
            name: DetectionMetrics.from_flags(self.truth[:, k], self.flags[:, k])
            for k, name in enumerate(segment_names(self.view))
        }

    @property
    def recording_metrics(self) -> DetectionMetrics:
        """Recording MI = any segment flagged, against any segment labelled MI."""
        return DetectionMetrics.from_flags(self.truth.any(axis=1), self.flags.any(axis=1))

    def table(self) -> pd.DataFrame:
        """One row per segment and one for recordings: figures, counts, thresholds."""
        rows = {**self.segment_metrics, "recording (any segment)": self.recording_metrics}
        frame = pd.DataFrame.from_dict({k: vars(v) for k, v in rows.items()}, orient="index")
        frame["threshold"] = [*self.thresholds, np.nan]
        return frame

    def summary(self) -> str:
        """A paragraph with the recording-level figures; for A4C beside the published HMC-QU
        ones."""
        ours = self.recording_metrics
        figures = (
            f"Recording-level MI detection ({len(self.truth)} recordings, score "
            f"'{self.score}', {self.n_splits}-fold patient-wise cross-validation): sensitivity "
            f"{_percent(ours.sensitivity)}, specificity {_percent(ours.specificity)}, precision "
            f"{_percent(ours.precision)}, F1 {_percent(ours.f1)}."
        )
        if self.view != "A4C":
            return f"{self.view}: {figures}"
        published = ", ".join(
            f"{k} {100 * v:.2f}%" for k, v in PUBLISHED_HMCQU_MI_DETECTION.items()
        )
        return (
            f"{figures} Published on HMC-QU A4C (Degerli et al., IEEE Access 2021): "
            f"{published}; figures on other data, such as the phantom, are not comparable with "
            "these."
        )


@dataclass(frozen=True)
class PatientEvaluation:
    """MI detection per patient over the segments of several views (A4C and A2C: twelve).

    Built from each view's out-of-fold :class:`MIEvaluation`, whose ``groups`` are patient
    IDs: a patient is MI when any segment of any of their recordings is labelled MI, and
    flagged when any is flagged out-of-fold. Each view's thresholds are its own, learned on
    its own recordings. Only patients with a recording in every view are judged, each on all
    its segments; :attr:`incomplete` counts the others.
    """

    views: dict[str, MIEvaluation]

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError("need the evaluation of at least one view")
        for view, evaluation in self.views.items():
            if evaluation.view != check_view(view):
                raise ValueError(f"the evaluation keyed {view!r} is of view {evaluation.view}")
            if len(evaluation.groups) != len(evaluation.truth):
                raise ValueError(f"the {view} evaluation needs one patient per recording")

    @property
    def n_segments(self) -> int:
        return sum(len(segment_names(view)) for view in self.views)

    def _per_view(self) -> pd.DataFrame:
        """Per patient (rows) and view: MI truth and flag, any over their recordings."""
        columns = {}
        for view, evaluation in self.views.items():
            groups = list(evaluation.groups)
            for what, values in (("mi", evaluation.truth), ("flagged", evaluation.flags)):
                columns[(view, what)] = (
                    pd.Series(values.any(axis=1), index=groups).groupby(level=0).any()
                )
        return pd.DataFrame(columns)

    def patients(self) -> pd.DataFrame:
        """One row per patient seen in every view (index: patient ID): ``mi`` and ``flagged``
        over all segments, then ``<view>_mi`` and ``<view>_flagged`` per view."""
        per_view = self._per_view().dropna()
        table = pd.DataFrame(
            {
                "mi": per_view.xs("mi", axis=1, level=1).any(axis=1).astype(bool),
                "flagged": per_view.xs("flagged", axis=1, level=1).any(axis=1).astype(bool),
            }
        )
        for (view, what), values in per_view.items():
            table[f"{view}_{what}"] = values.astype(bool)
        table.index.name = "patient"
        return table.sort_index()

    @property
    def incomplete(self) -> int:
        """Patients with recordings in some views only, left out of the patient figures."""
        return int(self._per_view().isna().any(axis=1).sum())

    @property
    def patient_metrics(self) -> DetectionMetrics:
        patients = self.patients()
        return DetectionMetrics.from_flags(patients["mi"], patients["flagged"])

    def table(self) -> pd.DataFrame:
        """Every view's segments and recordings, then the patients: figures, counts and
        thresholds, with the view of each row."""
        parts = []
        for view, evaluation in self.views.items():
            part = evaluation.table().rename(
                index={"recording (any segment)": f"{view} recording (any segment)"}
            )
            part.insert(0, "view", view)
            parts.append(part)
        row = f"patient (any of {self.n_segments} segments)"
        patients = pd.DataFrame.from_dict({row: vars(self.patient_metrics)}, orient="index")
        patients.insert(0, "view", "+".join(self.views))
        patients["threshold"] = np.nan
        return pd.concat([*parts, patients])

    def summary(self) -> str:
        """Each view's paragraph, then one with the patient-level figures."""
        ours = self.patient_metrics
        left_out = (
            f"; {self.incomplete} patients with one view only are left out"
            if self.incomplete
            else ""
        )
        patient = (
            f"Patient-level MI detection over the {self.n_segments} segments of "
            f"{' and '.join(self.views)} ({ours.n_positive + ours.n_negative} patients with "
            f"every view{left_out}; thresholds per view, flags out-of-fold): sensitivity "
            f"{_percent(ours.sensitivity)}, specificity {_percent(ours.specificity)}, precision "
            f"{_percent(ours.precision)}, F1 {_percent(ours.f1)}."
        )
        return "\n\n".join([*(e.summary() for e in self.views.values()), patient])


def cross_validate(
    scores: np.ndarray,
    hypokinetic: np.ndarray,
    groups: Sequence[str] | None = None,
    n_splits: int = 5,
    score: str = DEFAULT_SCORE,
    seed: int = 0,
    view: str = "A4C",
) -> MIEvaluation:
    """Learn thresholds on training folds and flag the held-out recordings.

    ``scores`` and ``hypokinetic`` are (N, 6), columns in the segment order of ``view``;
    ``groups`` (patient IDs, N) keep a patient's recordings in one fold (each recording is
    its own patient when omitted). Folds are stratified by recording MI; ``n_splits`` shrinks
    to the number of patients if needed.
    """
    view = check_view(view)
    scores, hypokinetic = _check_table(scores, "scores"), _check_table(hypokinetic, "labels")
    groups = np.asarray(groups if groups is not None else np.arange(len(scores)).astype(str))
    if len(groups) != len(scores) or len(scores) != len(hypokinetic):
        raise ValueError("scores, labels and groups need one row per recording")
    n_splits = min(n_splits, len(np.unique(groups)))
    if n_splits < 2:
        raise ValueError("cross-validation needs recordings of at least two patients")
    recording_mi = hypokinetic.any(axis=1)
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    flags = np.zeros_like(hypokinetic)
    with warnings.catch_warnings():
        # Small sets have fewer MI patients than folds; the folds are still patient-wise.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for train, test in folds.split(scores, recording_mi, groups):
            thresholds = learn_thresholds(scores[train], hypokinetic[train])
            flags[test] = flag_hypokinetic(scores[test], thresholds)
    return MIEvaluation(
        score=score,
        scores=scores,
        truth=hypokinetic,
        flags=flags,
        thresholds=learn_thresholds(scores, hypokinetic),
        n_splits=n_splits,
        view=view,
        groups=tuple(str(group) for group in groups),
    )


def evaluate_cycles(
    cycles: Sequence[tuple[np.ndarray, Sequence[bool]]],
    groups: Sequence[str] | None = None,
    septal_side: str = "left",
    score: str = DEFAULT_SCORE,
    n_splits: int = 5,
    view: str = "A4C",
) -> MIEvaluation:
    """Split, measure and cross-validate labelled cycles: pairs of (masks (T, H, W), segment_mi).

    All cycles are of ``view``; ``segment_mi`` holds six booleans in its segment order, as in
    :class:`lvwall.data.records.EchoRecord`, and ``septal_side`` is the image side of its
    first wall. Works on the phantom (truth known) and on HMC-QU's masks or predictions.
    """
    scores = np.stack(
        [
            segment_scores(
                wall_motion(split_sequence(masks, septal_side, source=f"cycle {index + 1}")),
                score,
            )
            for index, (masks, _) in enumerate(cycles)
        ]
    )
    hypokinetic = np.array([list(labels) for _, labels in cycles], dtype=bool)
    return cross_validate(scores, hypokinetic, groups, n_splits=n_splits, score=score, view=view)


def _check_table(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[1] != len(SEGMENT_NAMES) or len(values) == 0:
        raise ValueError(f"{what} need shape (N, {len(SEGMENT_NAMES)}), got {values.shape}")
    return values


def _ratio(numerator: int, denominator: int) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def _percent(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{100 * value:.2f}%"
