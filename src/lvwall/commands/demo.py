"""``lvwall demo``: simulate a small phantom dataset and run the whole study on it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_dir
from lvwall.commands._console import ExperimentProgress, print_experiment_outcome
from lvwall.commands._options import out_option, seed_option, threads_option
from lvwall.data import write_dataset
from lvwall.errors import OutputError
from lvwall.experiment import ExperimentConfig, experiment_preset, run_experiment
from lvwall.threads import use_torch_threads

#: Where ``lvwall demo`` writes the phantom inside its folder.
PHANTOM_DIR = "phantom"


def command(
    out: Path = out_option(
        "Demo folder: the phantom data, runs and report.html.",
        required=False,
        default=Path("lvwall-demo"),
    ),
    preset: str = typer.Option(
        "quick",
        "--preset",
        help="Budget: tiny (seconds), quick (about 10 CPU minutes), full (GPU).",
    ),
    recordings: int = typer.Option(
        None, "--recordings", min=2, help="Phantom recordings to simulate (default: the preset's)."
    ),
    seed: int = seed_option("the phantom, folds and training"),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted demo in --out, reusing its phantom."
    ),
    threads: int = threads_option(),
) -> None:
    """Simulate a small synthetic A4C phantom and run the whole study on it: cross-validated
    Dice vs Focal Tversky loss, statistics, figures and a self-contained HTML report."""

    use_torch_threads(threads)
    check_output_dir(out)
    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        budget = experiment_preset(preset)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--preset") from None
    phantom = out / PHANTOM_DIR
    if phantom.exists() and not resume:
        raise OutputError(
            out, "the folder already holds a demo; continue it with --resume or pick a new --out"
        )
    if not (resume and phantom.is_dir()):
        n_recordings = recordings or budget.demo_recordings
        console.print(f"Simulating {n_recordings} phantom recordings into {phantom}")
        write_dataset(phantom, n_recordings, seed, workers=min(2, os.cpu_count() or 1))
    config = ExperimentConfig.from_preset([phantom], preset, seed=seed)
    outcome = run_experiment(config, out, resume=resume, progress=ExperimentProgress(console))
    print_experiment_outcome(outcome, Console())
    minutes, seconds = divmod(round(time.perf_counter() - started), 60)
    console.print(f"Demo finished in {minutes} min {seconds} s. Open {outcome.report}")
