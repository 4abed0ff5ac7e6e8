"""``lvwall experiment``: the whole study in one command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_dir
from lvwall.commands._console import ExperimentProgress, print_experiment_outcome
from lvwall.commands._options import out_option, seed_option, threads_option, view_option
from lvwall.errors import OutputError
from lvwall.experiment import DEFAULT_EXPERIMENT_PRESET, ExperimentConfig, run_experiment
from lvwall.threads import use_torch_threads
from lvwall.train import CONFIG_FILE


def command(
    out: Path = out_option("Experiment folder: runs, results.csv/json, figures and report.html."),
    data: list[Path] = typer.Option(
        None,
        "--data",
        help="Dataset folder (HMC-QU layout, a phantom from 'lvwall simulate', or CAMUS); "
        "repeat for several. Optional with --resume.",
    ),
    views: list[str] = view_option("Views to cross-validate on"),
    preset: str = typer.Option(
        None, "--preset", help="Budget: tiny (seconds), quick (CPU minutes; default), full (GPU)."
    ),
    folds: int = typer.Option(
        None, "--folds", help="Outer cross-validation folds (default: the preset's)."
    ),
    losses: str = typer.Option(
        None, "--losses", help="Losses to compare, comma-separated (default: dice,focal-tversky)."
    ),
    seed: int = seed_option("folds and training (default 0)", default=None),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted experiment in --out; finished folds stay."
    ),
    threads: int = threads_option(),
) -> None:
    """Cross-validate the U-Net with each loss on the same patient-wise folds, tune Focal
    Tversky on the training folds only, compare the losses recording by recording (Wilcoxon)
    and write a self-contained HTML report."""

    use_torch_threads(threads)
    check_output_dir(out)
    config = requested_config(out, resume, data, preset, folds, losses, seed, views)
    progress = ExperimentProgress(Console(stderr=True))
    outcome = run_experiment(config, out, resume=resume, progress=progress)
    print_experiment_outcome(outcome, Console())


def requested_config(
    out: Path,
    resume: bool,
    data: list[Path] | None,
    preset: str | None,
    folds: int | None,
    losses: str | None,
    seed: int | None,
    views: list[str] | None = None,
) -> ExperimentConfig:
    """The config the options ask for. With ``--resume`` and no options it is the saved one;
    options given with ``--resume`` replace saved values (and the runner refuses a change)."""

    saved_path = out / CONFIG_FILE
    if resume and not saved_path.is_file():
        raise OutputError(out, f"nothing to resume, there is no {CONFIG_FILE}")
    saved = ExperimentConfig.from_yaml(saved_path) if resume else None
    if saved is not None and all(
        not value for value in (data, preset, folds, losses, seed is not None, views)
    ):
        return saved
    if not data and saved is None:
        raise typer.BadParameter("give at least one --data folder", param_hint="--data")
    names = [name.strip() for name in losses.split(",") if name.strip()] if losses else None
    try:
        return ExperimentConfig.from_preset(
            list(data) if data else saved.data,
            preset or (saved.preset if saved else DEFAULT_EXPERIMENT_PRESET),
            losses=names or (saved.losses if saved else None),
            folds=folds or (saved.folds if saved else None),
            seed=seed if seed is not None else (saved.seed if saved else 0),
            views=views or (saved.train.views if saved else None),
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
