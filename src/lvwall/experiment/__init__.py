"""The whole study in one call: cross-validated Dice vs Focal Tversky loss, with statistics,
figures and a self-contained HTML report (``lvwall experiment``, ``lvwall demo``).

* :mod:`~lvwall.experiment.presets`: the tiny / quick / full budgets;
* :mod:`~lvwall.experiment.config`: the experiment's config (``config.yaml``);
* :mod:`~lvwall.experiment.tuning`: the nested Focal Tversky search on the training folds;
* :mod:`~lvwall.experiment.runner`: folds, training, resume and evaluation;
* :mod:`~lvwall.experiment.stats`: mean ± SD, t-intervals, the paired Wilcoxon test, verdicts;
* :mod:`~lvwall.experiment.results`: the per-recording table and ``results.csv``/``.json``;
* :mod:`~lvwall.experiment.figures` and :mod:`~lvwall.experiment.gallery`: the figures;
* :mod:`~lvwall.experiment.report`: ``report.html``.
"""

from __future__ import annotations

from lvwall.experiment.config import DEFAULT_LOSSES, ExperimentConfig
from lvwall.experiment.evaluate import EvaluationResult, evaluate_model, predict_masks
from lvwall.experiment.figures import Case, case_panels
from lvwall.experiment.methods import format_duration
from lvwall.experiment.presets import (
    DEFAULT_EXPERIMENT_PRESET,
    EXPERIMENT_PRESETS,
    ExperimentPreset,
    experiment_preset,
)
from lvwall.experiment.report import format_value
from lvwall.experiment.results import ExperimentResults
from lvwall.experiment.runner import ExperimentOutcome, prepare_experiment, run_experiment, run_fold
from lvwall.experiment.stats import (
    METRIC_LABELS,
    PairedTest,
    Summary,
    format_p,
    loss_label,
    paired_wilcoxon,
    summarise,
    verdict,
)
from lvwall.experiment.tuning import choose_candidate, focal_tversky_grid, inner_split, short_kwargs

__all__ = [
    "DEFAULT_EXPERIMENT_PRESET",
    "DEFAULT_LOSSES",
    "EXPERIMENT_PRESETS",
    "METRIC_LABELS",
    "Case",
    "EvaluationResult",
    "ExperimentConfig",
    "ExperimentOutcome",
    "ExperimentPreset",
    "ExperimentResults",
    "PairedTest",
    "Summary",
    "case_panels",
    "choose_candidate",
    "evaluate_model",
    "experiment_preset",
    "focal_tversky_grid",
    "format_duration",
    "format_p",
    "format_value",
    "inner_split",
    "loss_label",
    "paired_wilcoxon",
    "predict_masks",
    "prepare_experiment",
    "run_experiment",
    "run_fold",
    "short_kwargs",
    "summarise",
    "verdict",
]
