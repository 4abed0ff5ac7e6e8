"""Run a cross-validated comparison of losses, resumably: the orchestration.

Each fold and loss ends with an atomically written ``result.json``; ``resume=True`` skips
those, reuses finished candidate runs (``metrics.json`` present), continues interrupted ones
from their ``last.ckpt`` and restarts the rest. Every loss sees the same folds, seed and
budget (:mod:`lvwall.experiment.plan`); candidates and checkpoints are chosen on the inner
split of :mod:`lvwall.experiment.tuning`, never on the test fold. Progress goes to a
:class:`RunProgress` (a Rich display in the CLI).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import torch

from lvwall.atomic import atomic_path
from lvwall.data import LabelledRecording
from lvwall.experiment.config import ExperimentConfig
from lvwall.experiment.evaluate import evaluate_model
from lvwall.experiment.fold_results import (
    FoldResult,
    collect_results,
    fold_histories,
    training_seconds,
)
from lvwall.experiment.gallery import study_gallery
from lvwall.experiment.methods import describe_dataset, methods_table
from lvwall.experiment.plan import RESULT_FILE, ExperimentPlan, prepare_experiment
from lvwall.experiment.report import REPORT_FILE, ReportContext, write_report
from lvwall.experiment.results import ExperimentResults
from lvwall.experiment.stats import loss_label
from lvwall.experiment.tuning import Candidate, candidate_label, choose_candidate
from lvwall.metrics import METRIC_NAMES
from lvwall.model import UNet, load_model
from lvwall.train import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    LAST_CHECKPOINT,
    SUMMARY_FILE,
    fit,
    read_summary,
    summary_best_val_dice,
)


class RunProgress(Protocol):
    """Hears where an experiment stands (the CLI shows it with Rich)."""

    def plan(self, total_runs: int) -> None:
        """The experiment will train ``total_runs`` runs in all."""

    def skip(self, runs: int = 1) -> None:
        """``runs`` runs are already done (a resumed experiment)."""

    def start(self, fold: int, n_folds: int, loss: str, loss_kwargs: dict[str, float]) -> None:
        """A training run starts on fold index ``fold``."""

    def finish(self, seconds: float) -> None:
        """The run started last took ``seconds``."""

    def stage(self, description: str) -> None:
        """A step other than training starts, e.g. drawing the report's figures."""


def train_candidate(
    plan: ExperimentPlan,
    fold: int,
    loss: str,
    loss_kwargs: dict[str, float],
    progress: RunProgress | None = None,
) -> Candidate:
    """Train (or reuse) one candidate on the outer training recordings of ``fold``.

    :func:`lvwall.train.fit` holds out the inner validation split of those recordings for
    checkpoint selection; the candidate's score is its best inner-validation Dice.
    """
    run_dir = plan.loss_dir(fold, loss) / candidate_label(loss_kwargs)
    relative = run_dir.relative_to(plan.out_dir).as_posix()
    if (run_dir / SUMMARY_FILE).is_file():
        if progress is not None:
            progress.skip()
        return Candidate(loss_kwargs, summary_best_val_dice(read_summary(run_dir)), relative)
    resume = (run_dir / LAST_CHECKPOINT).is_file()
    if run_dir.exists() and not resume:
        # Interrupted before its first checkpoint: nothing in it is worth keeping.
        shutil.rmtree(run_dir)
    train_recordings, _ = plan.split(fold)
    if progress is not None:
        progress.start(fold, len(plan.folds), loss, loss_kwargs)
    started = time.perf_counter()
    result = fit(
        plan.config.run_config(loss, loss_kwargs),
        run_dir,
        resume=resume,
        recordings=train_recordings,
    )
    if progress is not None:
        progress.finish(time.perf_counter() - started)
    return Candidate(loss_kwargs, result.best_val_dice, relative)


def evaluation_device() -> str:
    """Where models are evaluated: the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_fold_model(plan: ExperimentPlan, candidate: Candidate) -> UNet:
    """The best checkpoint (by inner-validation Dice) of a candidate's run."""
    model, _ = load_model(plan.out_dir / candidate.run / BEST_CHECKPOINT)
    return model


def run_fold_loss(
    plan: ExperimentPlan, fold: int, loss: str, progress: RunProgress | None = None
) -> FoldResult:
    """Train every candidate of ``loss`` on fold ``fold``, choose one on the inner split and
    score it on the test fold; skipped when the fold's ``result.json`` exists."""
    marker = plan.loss_dir(fold, loss) / RESULT_FILE
    if marker.is_file():
        if progress is not None:
            progress.skip(len(plan.config.candidates(loss)))
        return FoldResult.load(marker)
    candidates = [
        train_candidate(plan, fold, loss, kwargs, progress)
        for kwargs in plan.config.candidates(loss)
    ]
    chosen = choose_candidate(candidates)
    _, test_recordings = plan.split(fold)
    evaluation = evaluate_model(
        load_fold_model(plan, chosen), test_recordings, device=evaluation_device()
    )
    columns = [
        "n_frames",
        *[name for name in METRIC_NAMES if name in evaluation.metrics.recordings],
    ]
    result = FoldResult(fold + 1, loss, chosen, candidates, evaluation.metrics.recordings[columns])
    result.save(marker)
    return result


def run_fold(
    plan: ExperimentPlan, fold: int, progress: RunProgress | None = None
) -> list[FoldResult]:
    """Every loss of the experiment on fold index ``fold``."""
    return [run_fold_loss(plan, fold, loss, progress) for loss in plan.config.losses]


@dataclass(frozen=True)
class ExperimentOutcome:
    """Where a finished experiment wrote its results, and the results themselves."""

    out_dir: Path
    results: ExperimentResults
    report: Path
    results_csv: Path
    results_json: Path


def finish_experiment(
    plan: ExperimentPlan, fold_results: Sequence[FoldResult], progress: RunProgress | None = None
) -> ExperimentOutcome:
    """Write ``results.csv``, ``results.json``, ``figures/`` and ``report.html``."""
    results = collect_results(plan, fold_results)
    device = evaluation_device()
    seconds = training_seconds(plan, fold_results)
    csv_path, json_path = results.write(
        plan.out_dir,
        config=plan.config.to_dict(),
        folds=plan.folds_record()["folds"],
        training_seconds=round(seconds, 1),
    )
    chosen = {(r.fold, r.loss): r.chosen for r in fold_results}

    @cache
    def model_for(fold: int, loss: str) -> UNet:
        return load_fold_model(plan, chosen[(fold, loss)])

    if progress is not None:
        progress.stage("Drawing the report's figures")
    gallery = study_gallery(
        results,
        {recording.name: recording for recording in plan.recordings},
        model_for,
        fold_histories(plan, fold_results),
    )
    for stem, figure in zip(gallery.stems, gallery.figures, strict=True):
        with atomic_path(plan.out_dir / "figures" / f"{stem}.png") as tmp:
            tmp.write_bytes(figure.png)
    losses = " vs ".join(loss_label(loss) for loss in plan.config.losses)
    context = ReportContext(
        title=f"LV-wall segmentation: {losses}",
        dataset=describe_dataset(plan.config.data),
        settings=methods_table(plan, seconds, device),
        notes=gallery.notes,
        config_yaml=(plan.out_dir / CONFIG_FILE).read_text(encoding="utf-8"),
    )
    report = write_report(plan.out_dir / REPORT_FILE, results, gallery.figures, context)
    return ExperimentOutcome(plan.out_dir, results, report, csv_path, json_path)


def run_experiment(
    config: ExperimentConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    recordings: Sequence[LabelledRecording] | None = None,
    progress: RunProgress | None = None,
) -> ExperimentOutcome:
    """Prepare, train every fold and loss (skipping finished ones on ``resume``), and write
    the results and the report (:mod:`lvwall.experiment.plan` shows the folder)."""
    plan = prepare_experiment(config, out_dir, resume=resume, recordings=recordings)
    if progress is not None:
        progress.plan(plan.n_runs)
    fold_results = [
        result for fold in range(len(plan.folds)) for result in run_fold(plan, fold, progress)
    ]
    return finish_experiment(plan, fold_results, progress)
