"""What the commands show on the terminal, with Rich: progress bars and summary tables.

Pipelines report progress through small protocols (:class:`lvwall.infer.PredictProgress`,
:class:`lvwall.experiment.runner.RunProgress`); the classes here are their terminal side.
Not a command: ``lvwall.cli`` skips modules whose names start with an underscore.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table

from lvwall.data import Recording
from lvwall.experiment import (
    METRIC_LABELS,
    ExperimentOutcome,
    format_duration,
    format_p,
    format_value,
    loss_label,
    short_kwargs,
)


class FrameProgress:
    """A progress bar per recording, in frames; the bar of the last recording is replaced
    by the next one's."""

    def __init__(self, console: Console, verb: str = "") -> None:
        prefix = f"{verb} " if verb else ""
        self.bar = Progress(
            TextColumn(prefix + "{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task: int | None = None

    def __enter__(self) -> FrameProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def start(self, recording: Recording) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(recording.name, total=recording.n_frames)

    def advance(self) -> None:
        if self.task is not None:
            self.bar.advance(self.task)


class ExperimentProgress:
    """Prints, before each training run, where the experiment stands: fold, loss, candidate,
    runs done out of all and an ETA from the runs trained so far. Lightning's own progress
    bar then shows the epochs of the run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total_runs = 0
        self.done = 0
        self.trained_seconds: list[float] = []

    def plan(self, total_runs: int) -> None:
        self.total_runs = total_runs

    def skip(self, runs: int = 1) -> None:
        self.done += runs

    def start(self, fold: int, n_folds: int, loss: str, loss_kwargs: dict[str, float]) -> None:
        remaining = self.total_runs - self.done
        eta = (
            format_duration(remaining * sum(self.trained_seconds) / len(self.trained_seconds))
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

    def stage(self, description: str) -> None:
        self.console.print(f"{description}…")


def print_experiment_outcome(outcome: ExperimentOutcome, console: Console) -> None:
    """The summary table, the verdicts and where the report is."""

    results = outcome.results
    table = Table(title=f"{results.n_recordings} recordings, mean ± SD (95% CIs in the report)")
    table.add_column("metric", no_wrap=True)
    for loss in results.losses:
        table.add_column(loss_label(loss), justify="right")
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
