"""Run a cross-validated comparison of losses, resumably, and collect its results.

The experiment folder::

    config.yaml               the exact ExperimentConfig (written first)
    folds.json                the outer folds, by recording name
    runs/fold-K/<loss>/<candidate>/   one lvwall.train.fit run per candidate
    runs/fold-K/<loss>/result.json    marker: chosen candidate + test-fold metrics
    results.csv, results.json, report.html, figures/*.png

Each fold and loss ends with an atomically written ``result.json``; ``resume=True`` skips
those, reuses finished candidate runs (``metrics.json`` present), continues interrupted ones
from their ``last.ckpt`` and restarts the rest. Outer folds come from
:func:`lvwall.data.splits.kfold` (patient-wise, MI-stratified); every loss sees the same
folds, seed and budget; candidates and checkpoints are chosen on the inner split of
:mod:`lvwall.experiment.tuning`, never on the test fold.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from lightning.fabric.utilities.warnings import PossibleUserWarning
from rich.console import Console
from rich.progress_bar import ProgressBar
from rich.table import Table

from lvwall import __version__
from lvwall.atomic import atomic_path, write_text
from lvwall.checkpoint import load_model
from lvwall.data.records import LabelledRecording
from lvwall.data.registry import detect_format, load_labelled
from lvwall.data.splits import kfold
from lvwall.errors import DataError, LvwallError
from lvwall.evaluate import evaluate_model
from lvwall.experiment.config import ExperimentConfig
from lvwall.experiment.gallery import study_gallery
from lvwall.experiment.presets import experiment_preset
from lvwall.experiment.report import REPORT_FILE, ReportContext, format_value, write_report
from lvwall.experiment.results import CSV_FILE, JSON_FILE, ExperimentResults
from lvwall.experiment.stats import LOSS_LABELS, METRIC_LABELS, format_p
from lvwall.experiment.tuning import (
    Candidate,
    candidate_label,
    choose_candidate,
    describe_kwargs,
    inner_split,
    short_kwargs,
)
from lvwall.metrics import METRIC_NAMES
from lvwall.model import UNet
from lvwall.train import BEST_CHECKPOINT, HISTORY_FILE, LAST_CHECKPOINT, SUMMARY_FILE, fit

CONFIG_FILE = "config.yaml"
FOLDS_FILE = "folds.json"
RUNS_DIR = "runs"
RESULT_FILE = "result.json"
#: Files and folders an experiment writes; a fresh experiment refuses a folder holding any.
OWN_OUTPUTS: tuple[str, ...] = (
    CONFIG_FILE,
    FOLDS_FILE,
    RUNS_DIR,
    CSV_FILE,
    JSON_FILE,
    REPORT_FILE,
)


@dataclass(frozen=True)
class ExperimentPlan:
    """A prepared experiment: its config, folder, recordings and outer folds (indices into
    ``recordings``; fold ``k`` is numbered ``k + 1`` in names and reports)."""

    config: ExperimentConfig
    out_dir: Path
    recordings: list[LabelledRecording]
    folds: list[tuple[list[int], list[int]]]

    def split(self, fold: int) -> tuple[list[LabelledRecording], list[LabelledRecording]]:
        """The outer (training, test) recordings of fold index ``fold``."""
        if not 0 <= fold < len(self.folds):
            raise ValueError(f"fold must be in 0..{len(self.folds) - 1}, got {fold}")
        train, test = self.folds[fold]
        return [self.recordings[i] for i in train], [self.recordings[i] for i in test]

    def loss_dir(self, fold: int, loss: str) -> Path:
        return self.out_dir / RUNS_DIR / f"fold-{fold + 1}" / loss

    @property
    def n_runs(self) -> int:
        """Training runs in the whole experiment."""
        per_fold = sum(len(self.config.candidates(loss)) for loss in self.config.losses)
        return per_fold * len(self.folds)

    def folds_record(self) -> dict[str, Any]:
        """The outer folds by recording name, as written to ``folds.json``."""
        return {
            "seed": self.config.seed,
            "folds": [
                {
                    "fold": k + 1,
                    "train": [self.recordings[i].name for i in train],
                    "test": [self.recordings[i].name for i in test],
                }
                for k, (train, test) in enumerate(self.folds)
            ],
        }


@dataclass(frozen=True)
class FoldResult:
    """One loss on one fold: the candidates tried, the chosen one, and its test metrics
    (index: recording; ``n_frames`` and :data:`lvwall.metrics.METRIC_NAMES`)."""

    fold: int
    loss: str
    chosen: Candidate
    candidates: list[Candidate]
    metrics: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        rows = {
            str(name): {key: _json_number(value) for key, value in row.items()}
            for name, row in self.metrics.to_dict(orient="index").items()
        }
        return {
            "fold": self.fold,
            "loss": self.loss,
            "chosen": self.chosen.to_dict(),
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "recordings": rows,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FoldResult:
        metrics = pd.DataFrame.from_dict(values["recordings"], orient="index").astype(float)
        metrics.index.name = "recording"
        metrics["n_frames"] = metrics["n_frames"].astype(int)
        return cls(
            fold=int(values["fold"]),
            loss=str(values["loss"]),
            chosen=Candidate.from_dict(values["chosen"]),
            candidates=[Candidate.from_dict(c) for c in values["candidates"]],
            metrics=metrics,
        )

    def save(self, path: Path) -> Path:
        return write_text(path, json.dumps(self.to_dict(), indent=2, allow_nan=False))

    @classmethod
    def load(cls, path: Path) -> FoldResult:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(path, f"is not a readable fold result ({error})") from None


class RunProgress:
    """Prints, before each training run, where the experiment stands: fold, loss, candidate,
    runs done out of all and an ETA from the runs trained so far. Lightning's own progress
    bar then shows the epochs of the run."""

    def __init__(self, total_runs: int, console: Console | None = None) -> None:
        self.total_runs = total_runs
        self.console = console or Console(stderr=True)
        self.done = 0
        self.trained_seconds: list[float] = []

    def skip(self, runs: int = 1) -> None:
        """Count runs that a resumed experiment already has."""
        self.done += runs

    def start(self, fold: int, n_folds: int, loss: str, loss_kwargs: dict[str, float]) -> None:
        remaining = self.total_runs - self.done
        eta = (
            _clock(remaining * sum(self.trained_seconds) / len(self.trained_seconds))
            if self.trained_seconds
            else "–"
        )
        line = Table.grid(padding=(0, 1))
        line.add_row(
            f"[bold]fold {fold + 1}/{n_folds}[/] [cyan]{loss}[/] {short_kwargs(loss_kwargs)}",
            ProgressBar(total=self.total_runs, completed=self.done, width=12),
            f"run {self.done + 1}/{self.total_runs} · ETA {eta}",
        )
        self.console.print(line)

    def finish(self, seconds: float) -> None:
        self.done += 1
        self.trained_seconds.append(seconds)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _json_number(value.item())
    return value


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence what Lightning repeats on every one of many short runs: its device banners,
    performance hints, the warning that the run folder is not empty (fit writes its config
    there first) and its own deprecation notices. Other warnings still show."""
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PossibleUserWarning)
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=r".*Checkpoint directory .* is not empty.*")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="lightning")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def prepare_experiment(
    config: ExperimentConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    recordings: Sequence[LabelledRecording] | None = None,
) -> ExperimentPlan:
    """Check the folder, load the data, draw the outer folds and save config and folds.

    A fresh experiment refuses a folder that already holds experiment outputs; ``resume``
    requires the saved ``config.yaml`` and ``folds.json`` to match. ``recordings`` skips
    loading ``config.data``. Raises :class:`LvwallError` (or :class:`DataError`) with one
    sentence naming the folder or file.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    _check_out_dir(out_dir, config, resume)
    if recordings is None:
        recordings = load_labelled(config.data, size=config.train.image_size, progress=True)
    recordings = list(recordings)
    n_patients = len({recording.patient for recording in recordings})
    if n_patients < config.folds:
        raise DataError(
            config.data[0],
            f"holds {n_patients} patients, too few for {config.folds}-fold cross-validation",
        )
    try:
        folds = [
            (list(train), list(test))
            for train, test in kfold(recordings, config.folds, config.seed)
        ]
    except ValueError as error:
        raise DataError(
            config.data[0],
            f"cannot be split into {config.folds} patient-wise folds stratified by MI ({error})",
        ) from None
    plan = ExperimentPlan(config, out_dir, recordings, folds)
    for k in range(len(folds)):
        train, _ = plan.split(k)
        try:
            inner_split(train, config.train.val_fraction, config.seed)
        except ValueError as error:
            raise DataError(
                config.data[0],
                f"training fold {k + 1} cannot be split patient-wise for validation ({error}); "
                "use fewer folds, another val_fraction or more recordings",
            ) from None
    folds_path = out_dir / FOLDS_FILE
    if resume:
        saved = json.loads(folds_path.read_text(encoding="utf-8")) if folds_path.is_file() else None
        if saved != plan.folds_record():
            raise LvwallError(
                f"{folds_path}: --resume must continue on the same data, but the folds drawn "
                "now differ from the saved ones (did the data change?)"
            )
    else:
        config.to_yaml(out_dir / CONFIG_FILE)
        write_text(folds_path, json.dumps(plan.folds_record(), indent=2))
    return plan


def _check_out_dir(out_dir: Path, config: ExperimentConfig, resume: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise LvwallError(f"{out_dir}: the output path exists and is not a folder")
    config_path = out_dir / CONFIG_FILE
    if resume:
        if not config_path.is_file():
            raise LvwallError(f"{out_dir}: nothing to resume, there is no {CONFIG_FILE}")
        changed = ExperimentConfig.from_yaml(config_path).differences(config)
        if changed:
            raise LvwallError(
                f"{config_path}: --resume must continue the same experiment, but "
                f"{', '.join(changed)} differ from the saved config"
            )
        return
    present = [name for name in OWN_OUTPUTS if (out_dir / name).exists()]
    if present:
        raise LvwallError(
            f"{out_dir}: the folder already holds an experiment ({', '.join(present)}); "
            "pick a new --out or continue it with --resume"
        )


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
    summary_path = run_dir / SUMMARY_FILE
    if summary_path.is_file():
        if progress is not None:
            progress.skip()
        return Candidate(loss_kwargs, _best_val_dice(summary_path), relative)
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


def _best_val_dice(summary_path: Path) -> float:
    try:
        value = json.loads(summary_path.read_text(encoding="utf-8"))["best_val_dice"]
    except (OSError, ValueError, KeyError) as error:
        raise DataError(summary_path, f"is not a readable run summary ({error})") from None
    return math.nan if value is None else float(value)


def cpu_threads(requested: int | None = None) -> int:
    """PyTorch CPU threads for an experiment: ``requested``, else one less than the cores.

    A core is left free because PyTorch's OpenMP threads meet at a barrier in every
    operator: when another process preempts one thread, all of them wait. On a busy 2-core
    machine the quick demo trained about 6x slower with 2 threads than with 1.
    """
    if requested is not None and requested < 1:
        raise ValueError(f"threads must be at least 1, got {requested}")
    return requested or max(1, (os.cpu_count() or 1) - 1)


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
    with quiet_lightning():
        return [run_fold_loss(plan, fold, loss, progress) for loss in plan.config.losses]


def collect_results(plan: ExperimentPlan, fold_results: Sequence[FoldResult]) -> ExperimentResults:
    """The results table (one row per recording and loss) with its summaries and tests."""
    by_name = {recording.name: recording for recording in plan.recordings}
    rows = []
    for result in fold_results:
        for name, metrics in result.metrics.iterrows():
            recording = by_name[str(name)]
            rows.append(
                {
                    "recording": recording.name,
                    "patient": recording.patient,
                    "mi": int(recording.label),
                    "fold": result.fold,
                    "loss": result.loss,
                    **metrics.to_dict(),
                }
            )
    table = pd.DataFrame(rows)
    table["n_frames"] = table["n_frames"].astype(int)
    hyperparameters = {
        loss: [
            {
                "fold": result.fold,
                "chosen": dict(result.chosen.loss_kwargs),
                "inner_val_dice": _json_number(result.chosen.inner_val_dice),
                "run": result.chosen.run,
                "candidates": [candidate.to_dict() for candidate in result.candidates],
            }
            for result in fold_results
            if result.loss == loss
        ]
        for loss in plan.config.losses
    }
    return ExperimentResults.from_table(table, plan.config.losses, hyperparameters)


@dataclass(frozen=True)
class ExperimentOutcome:
    """Where a finished experiment wrote its results, and the results themselves."""

    out_dir: Path
    results: ExperimentResults
    report: Path
    results_csv: Path
    results_json: Path


def describe_dataset(paths: Sequence[str]) -> str:
    """A phrase naming the data, e.g. ``synthetic phantom (phantom)``."""
    names = {"hmcqu": "HMC-QU layout", "camus": "CAMUS"}
    parts = []
    for path in map(Path, paths):
        # The phantom writes the HMC-QU layout plus its own ground truth folder.
        if (path / "phantom_truth").is_dir():
            kind = "synthetic phantom"
        else:
            try:
                kind = names[detect_format(path)]
            except DataError:
                kind = "data"
        parts.append(f"{kind} ({path.name})")
    return "; ".join(parts)


def _histories(
    plan: ExperimentPlan, fold_results: Sequence[FoldResult]
) -> dict[str, dict[int, pd.DataFrame]]:
    histories: dict[str, dict[int, pd.DataFrame]] = {loss: {} for loss in plan.config.losses}
    for result in fold_results:
        path = plan.out_dir / result.chosen.run / HISTORY_FILE
        if path.is_file():
            histories[result.loss][result.fold] = pd.read_csv(path)
    return histories


def _training_seconds(plan: ExperimentPlan, fold_results: Sequence[FoldResult]) -> float:
    total = 0.0
    for result in fold_results:
        for candidate in result.candidates:
            path = plan.out_dir / candidate.run / SUMMARY_FILE
            with contextlib.suppress(OSError, ValueError, KeyError):
                total += float(json.loads(path.read_text(encoding="utf-8"))["seconds"])
    return total


def _settings(plan: ExperimentPlan, training_seconds: float, device: str) -> list[tuple[str, str]]:
    """The methods table: budget, splits, model, training and timing."""
    config, train = plan.config, plan.config.train
    overrides = ", ".join(f"{key} {value}" for key, value in train.model_overrides.items())
    model = train.preset + (f" ({overrides})" if overrides else "")
    searched = [
        f"{loss}: " + "; ".join(describe_kwargs(k) for k in config.candidates(loss))
        for loss in config.losses
        if len(config.candidates(loss)) > 1
    ]
    epochs = f"{train.epochs} epoch{'s' if train.epochs != 1 else ''}"
    stopping = (
        f"early stopping after {train.patience} epochs without a better inner Dice"
        if train.patience is not None
        else "no early stopping"
    )
    return [
        ("Experiment preset", f"{config.preset}: {experiment_preset(config.preset).description}"),
        ("Outer folds", f"{config.folds} (patient-wise, stratified by MI), seed {config.seed}"),
        ("Inner validation", f"{train.val_fraction:.0%} of the training fold's patients"),
        ("Model", f"U-Net preset {model}, input {train.image_size}x{train.image_size}"),
        (
            "Training",
            f"{epochs}, batch {train.batch_size}, "
            f"{train.frames_per_epoch or 'all'} frames per epoch, AdamW lr {train.lr:g}, "
            f"{train.schedule} schedule, augmentation '{train.augment}', {stopping}",
        ),
        ("Searched", "; ".join(searched) or "nothing"),
        ("Training time", f"{_clock(training_seconds)} over {plan.n_runs} runs on {device}"),
        ("Software", f"lvwall {__version__}"),
    ]


def finish_experiment(
    plan: ExperimentPlan, fold_results: Sequence[FoldResult], console: Console | None = None
) -> ExperimentOutcome:
    """Write ``results.csv``, ``results.json``, ``figures/`` and ``report.html``."""

    console = console or Console(stderr=True)
    results = collect_results(plan, fold_results)
    device = evaluation_device()
    training_seconds = _training_seconds(plan, fold_results)
    csv_path, json_path = results.write(
        plan.out_dir,
        config=plan.config.to_dict(),
        folds=plan.folds_record()["folds"],
        training_seconds=round(training_seconds, 1),
    )
    chosen = {(r.fold, r.loss): r.chosen for r in fold_results}

    @cache
    def model_for(fold: int, loss: str) -> UNet:
        return load_fold_model(plan, chosen[(fold, loss)])

    console.print("Drawing the report's figures…")
    gallery = study_gallery(
        results,
        {recording.name: recording for recording in plan.recordings},
        model_for,
        _histories(plan, fold_results),
    )
    for stem, figure in zip(gallery.stems, gallery.figures, strict=True):
        with atomic_path(plan.out_dir / "figures" / f"{stem}.png") as tmp:
            tmp.write_bytes(figure.png)
    losses = " vs ".join(LOSS_LABELS.get(loss, loss) for loss in plan.config.losses)
    context = ReportContext(
        title=f"LV-wall segmentation: {losses}",
        dataset=describe_dataset(plan.config.data),
        settings=_settings(plan, training_seconds, device),
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
    console: Console | None = None,
) -> ExperimentOutcome:
    """Prepare, train every fold and loss (skipping finished ones on ``resume``), and write
    the results and the report. See the module docstring for the folder layout."""
    plan = prepare_experiment(config, out_dir, resume=resume, recordings=recordings)
    progress = RunProgress(plan.n_runs, console)
    fold_results = [
        result for fold in range(len(plan.folds)) for result in run_fold(plan, fold, progress)
    ]
    return finish_experiment(plan, fold_results, console)


def print_outcome(outcome: ExperimentOutcome, console: Console) -> None:
    """The summary table, the verdicts and where the report is."""

    results = outcome.results
    table = Table(title=f"{results.n_recordings} recordings, mean ± SD (95% CIs in the report)")
    table.add_column("metric", no_wrap=True)
    for loss in results.losses:
        table.add_column(LOSS_LABELS.get(loss, loss), justify="right")
    for comparison in results.comparisons:
        named = len(results.comparisons) > 1
        table.add_column(f"p ({comparison.loss})" if named else "p", justify="right")
    for metric in results.metrics:
        cells = []
        for loss in results.losses:
            s = results.summaries[loss][metric]
            cells.append(f"{format_value(metric, s.mean)} ± {format_value(metric, s.std)}")
        cells += [format_p(c.tests[metric].p_value) for c in results.comparisons]
        table.add_row(METRIC_LABELS.get(metric, metric), *cells)
    console.print(table)
    for sentence in results.verdicts:
        console.print(f"[bold]{sentence}[/]")
    console.print(f"Report: [link=file://{outcome.report}]{outcome.report}[/]")
    console.print(f"Results: {outcome.results_csv}, {outcome.results_json}")
