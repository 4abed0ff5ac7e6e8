"""Hypokinesia thresholds, detection figures, patient-wise cross-validation, and patients
judged on both views' segments."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_curve

from lvwall.regional.mi import (
    PUBLISHED_HMCQU_MI_DETECTION,
    SCORES,
    DetectionMetrics,
    PatientEvaluation,
    cross_validate,
    evaluate_cycles,
    flag_hypokinetic,
    learn_threshold,
    learn_thresholds,
    segment_scores,
)
from lvwall.regional.motion import MotionCurves
from lvwall.regional.schematic import beating_wall


@pytest.mark.parametrize("planted", [0.2, 0.5, 0.7])
@pytest.mark.parametrize("seed", [0, 1])
def test_learner_recovers_a_planted_threshold(planted: float, seed: int) -> None:
    scores = np.random.default_rng(seed).uniform(0.0, 1.0, 400)
    threshold = learn_threshold(scores, scores < planted)
    below, above = scores[scores < planted].max(), scores[scores >= planted].min()
    assert threshold == pytest.approx((below + above) / 2)  # midway across the planted gap
    assert np.array_equal(flag_hypokinetic(scores, threshold), scores < planted)


@pytest.mark.parametrize(("planted", "flip"), [(0.3, 0.05), (0.6, 0.1)])
def test_learner_tolerates_label_noise(planted: float, flip: float) -> None:
    rng = np.random.default_rng(7)
    scores = rng.uniform(0.0, 1.0, 2000)
    labels = (scores < planted) ^ (rng.random(2000) < flip)
    assert learn_threshold(scores, labels) == pytest.approx(planted, abs=0.08)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_learned_threshold_reaches_the_best_youden_index_of_the_roc_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(300) < 0.4
    scores = rng.normal(np.where(labels, 0.3, 0.6), 0.15)
    flagged = flag_hypokinetic(scores, learn_threshold(scores, labels))
    sensitivity, specificity = flagged[labels].mean(), (~flagged[~labels]).mean()
    fpr, tpr, _ = roc_curve(labels, -scores)
    assert sensitivity + specificity - 1 == pytest.approx(np.max(tpr - fpr))


@pytest.mark.parametrize(
    ("labels", "expected"), [([False, False, False], -np.inf), ([True, True, True], np.inf)]
)
def test_one_class_labels_flag_nothing_or_everything(labels: list, expected: float) -> None:
    assert learn_threshold(np.array([0.1, 0.2, 0.3]), np.array(labels)) == expected


def test_a_segment_without_both_classes_takes_the_pooled_threshold() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.0, 1.0, (200, 6))
    labels = scores < 0.4
    labels[:, 2] = False  # no MI example for SEG14
    thresholds = learn_thresholds(scores, labels)
    assert np.allclose(np.delete(thresholds, 2), 0.4, atol=0.03)
    assert thresholds[2] == pytest.approx(learn_threshold(scores, labels))
    assert np.isfinite(thresholds[2])  # alone, SEG14's labels would flag nothing (-inf)


@pytest.mark.parametrize("seed", range(4))
def test_detection_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth, flagged = rng.random(50) < 0.5, rng.random(50) < 0.5
    metrics = DetectionMetrics.from_flags(truth, flagged)
    assert metrics.sensitivity == pytest.approx(recall_score(truth, flagged))
    assert metrics.specificity == pytest.approx(recall_score(~truth, ~flagged))
    assert metrics.precision == pytest.approx(precision_score(truth, flagged))
    assert metrics.f1 == pytest.approx(f1_score(truth, flagged))
    assert (metrics.n_positive, metrics.n_negative) == (truth.sum(), (~truth).sum())


def test_undefined_figures_are_nan() -> None:
    metrics = DetectionMetrics.from_flags(np.zeros(4, bool), np.zeros(4, bool))
    assert metrics.specificity == 1.0
    assert np.isnan(metrics.sensitivity) and np.isnan(metrics.precision)
    nothing = DetectionMetrics.from_flags(np.zeros(0, bool), np.zeros(0, bool))
    assert (nothing.n_positive, nothing.n_negative) == (0, 0)
    assert np.isnan([nothing.sensitivity, nothing.specificity, nothing.precision, nothing.f1]).all()


def _planted(n: int, seed: int, threshold: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    scores = np.random.default_rng(seed).uniform(0.0, 1.0, (n, 6))
    return scores, scores < threshold


def test_cross_validation_finds_planted_hypokinesia_out_of_fold() -> None:
    scores, labels = _planted(120, seed=1)
    groups = [f"P{i // 2}" for i in range(120)]  # two recordings per patient
    evaluation = cross_validate(scores, labels, groups, n_splits=5)
    assert evaluation.n_splits == 5
    for metrics in evaluation.segment_metrics.values():
        assert metrics.sensitivity > 0.9 and metrics.specificity > 0.9
    assert np.allclose(evaluation.thresholds, 0.35, atol=0.03)
    recording = evaluation.recording_metrics
    assert recording.n_positive == labels.any(axis=1).sum()
    table = evaluation.table()
    assert list(table.index)[-1] == "recording (any segment)"
    assert {"sensitivity", "specificity", "precision", "f1", "threshold"} <= set(table.columns)


def test_folds_are_drawn_by_patient() -> None:
    scores, labels = _planted(12, seed=2)
    evaluation = cross_validate(scores, labels, groups=["A"] * 6 + ["B"] * 6, n_splits=5)
    assert evaluation.n_splits == 2  # two patients make at most two patient-wise folds
    with pytest.raises(ValueError, match="two patients"):
        cross_validate(scores, labels, groups=["A"] * 12)


def test_summary_quotes_the_published_hmcqu_figures() -> None:
    scores, labels = _planted(30, seed=3)
    summary = cross_validate(scores, labels).summary()
    for value in PUBLISHED_HMCQU_MI_DETECTION.values():
        assert f"{100 * value:.2f}%" in summary
    assert "Degerli" in summary


def test_scores_come_from_the_registry_by_name() -> None:
    peak = np.linspace(0.0, 0.1, 6)  # per segment, as a fraction of the long axis
    over_cycle = np.array([[0.0], [1.0], [0.5]])
    motion = MotionCurves(
        displacement=100 * peak * over_cycle,
        inward=50 * peak * over_cycle,
        thickness=np.ones((3, 6)) * [[1.0], [1.2], [1.1]],
        long_axis=100.0,
    )
    assert np.allclose(segment_scores(motion, "displacement"), peak)
    assert np.allclose(segment_scores(motion, "inward"), peak / 2)
    assert np.allclose(segment_scores(motion, "thickening"), 0.2)
    assert np.allclose(segment_scores(motion, "combined"), np.sqrt(peak * 0.2))
    assert set(SCORES) == {"displacement", "inward", "thickening", "combined"}
    with pytest.raises(ValueError, match="unknown score"):
        segment_scores(motion, "speed")


@pytest.mark.parametrize("still", [(1,), (2, 3)])
def test_evaluating_labelled_cycles_flags_the_still_segments(still: tuple[int, ...]) -> None:
    cycles = []
    for index in range(10):
        factors, labels = np.ones(6), np.zeros(6, bool)
        if index % 2:
            factors[list(still)] = 0.0
            labels[list(still)] = True
        cycles.append((beating_wall(factors, n_frames=3), labels))
    evaluation = evaluate_cycles(cycles, n_splits=5)
    recording = evaluation.recording_metrics
    assert (recording.n_positive, recording.n_negative) == (5, 5)
    assert recording.sensitivity == 1.0 and recording.specificity == 1.0
    assert np.array_equal(evaluation.flags, evaluation.truth)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: learn_threshold(np.zeros(3), np.zeros(2, bool)), "as many labels"),
        (lambda: learn_threshold(np.array([np.nan, 1.0]), np.array([1, 0])), "finite"),
        (lambda: learn_thresholds(np.zeros((3, 5)), np.zeros((3, 5))), "shape"),
        (lambda: cross_validate(np.zeros((3, 6)), np.zeros((3, 6)), ["a", "b"]), "one row"),
    ],
)
def test_bad_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def _view(view: str, patients: list[str], truth: list[list[bool]], flags: list[list[bool]]):
    """A cross-validated evaluation of ``view`` whose out-of-fold flags are set by hand."""
    scores, labels = _planted(len(patients), seed=4)
    evaluation = cross_validate(scores, labels, patients, n_splits=2, view=view)
    return replace(evaluation, truth=np.array(truth, bool), flags=np.array(flags, bool))


def _row(*mi: int) -> list[bool]:
    return [index in mi for index in range(6)]


def test_a_patient_is_mi_when_any_segment_of_either_view_is() -> None:
    """Table: per patient, which A4C and A2C segments are MI / flagged."""
    a4c = _view(
        "A4C",
        ["P1", "P2", "P3", "P4", "P5"],
        truth=[_row(4), _row(), _row(), _row(), _row()],
        flags=[_row(4), _row(), _row(1), _row(), _row()],
    )
    a2c = _view(
        "A2C",
        ["P1", "P2", "P3", "P4", "P6"],
        truth=[_row(), _row(0), _row(), _row(), _row(2)],
        flags=[_row(), _row(), _row(), _row(), _row(2)],
    )
    evaluation = PatientEvaluation({"A4C": a4c, "A2C": a2c})
    table = evaluation.patients()
    assert list(table.index) == ["P1", "P2", "P3", "P4"]  # P5 and P6 lack a view
    assert evaluation.incomplete == 2
    assert list(table["mi"]) == [True, True, False, False]
    assert list(table["flagged"]) == [True, False, True, False]
    metrics = evaluation.patient_metrics
    assert (metrics.sensitivity, metrics.specificity) == (0.5, 0.5)
    assert evaluation.n_segments == 12
    assert a4c.view == "A4C" and a4c.groups[:2] == ("P1", "P2")


@pytest.mark.parametrize(
    ("views", "message"),
    [
        (lambda: {}, "at least one view"),
        (lambda: {"A2C": cross_validate(*_planted(6, seed=5), n_splits=2)}, "is of view A4C"),
        (
            lambda: {"A4C": replace(cross_validate(*_planted(6, seed=5), n_splits=2), groups=())},
            "one patient per recording",
        ),
    ],
)
def test_patient_evaluation_refuses_inconsistent_views(views, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PatientEvaluation(views())


def test_no_patient_in_both_views_gives_undefined_patient_figures() -> None:
    a4c = _view("A4C", ["P1", "P2", "P3", "P4"], [_row(4)] * 4, [_row()] * 4)
    a2c = _view("A2C", ["Q1", "Q2", "Q3", "Q4"], [_row(1)] * 4, [_row()] * 4)
    evaluation = PatientEvaluation({"A4C": a4c, "A2C": a2c})
    assert evaluation.patients().empty and evaluation.incomplete == 8
    assert np.isnan(evaluation.table().loc["patient (any of 12 segments)", "sensitivity"])
    assert "(0 patients with every view; 8 patients with one view only" in evaluation.summary()
