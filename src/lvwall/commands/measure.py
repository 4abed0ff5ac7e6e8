"""``lvwall measure``: LV volumes, EF, GLS and segmental strain of A4C recordings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lvwall.atomic import check_output_dir
from lvwall.commands._console import FrameProgress
from lvwall.commands._options import model_option, out_option, spacing_option
from lvwall.data import discover
from lvwall.errors import LvwallError
from lvwall.infer import (
    SegmentedRecording,
    load_segmentation_model,
    read_masks_npz,
    segment_recording,
)
from lvwall.measure import Measurements, measure_segmented, write_measurements


def command(
    inputs: list[Path] = typer.Argument(
        ...,
        help="Recordings (videos, GIFs, DICOM files, folders of frames, or folders of these) "
        "to segment, or masks.npz files written by `lvwall predict`.",
        show_default=False,
    ),
    out: Path = out_option("Folder for the results; each recording's go to OUT/<name>/."),
    model: Path | None = model_option("Model for recordings"),
    spacing: float | None = spacing_option(),
) -> None:
    """Measure LV volumes (method of discs and area-length), ejection fraction, global
    longitudinal strain and the six A4C segments' strain from the wall masks of every
    frame, each with an interval from the segmentation's uncertainty.

    Writes OUT/<name>/measurements.json, measurements.csv (one row per frame) and
    measurements.png. ED and ES are the largest and smallest cavity of the first complete
    cycle; numbers that cannot be trusted (no complete cycle, a wall that cannot be split)
    are written as null with the reason. Every input is processed even when others fail;
    the exit code is 1 if any failed.
    """

    console = Console(stderr=True)
    check_output_dir(out)
    npz_inputs = [path for path in inputs if path.suffix.lower() == ".npz"]
    sources = discover([path for path in inputs if path.suffix.lower() != ".npz"])
    jobs: list[tuple[Path, Callable[[], SegmentedRecording]]] = [
        (path, lambda path=path: read_masks_npz(path)) for path in npz_inputs
    ]
    if sources:
        segmentation_model = load_segmentation_model(model)
        console.print(f"model: {segmentation_model.description}", highlight=False)
        progress = FrameProgress(console, verb="segmenting")
        jobs += [
            (
                source.path,
                lambda source=source: segment_recording(source, segmentation_model, progress),
            )
            for source in sources
        ]
        with progress:
            outcomes = [_measure(path, read, out, spacing, console) for path, read in jobs]
    else:
        outcomes = [_measure(path, read, out, spacing, console) for path, read in jobs]
    _print_summary(outcomes)
    if not outcomes or not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


@dataclass(frozen=True)
class _Outcome:
    path: Path
    measurements: Measurements | None = None
    folder: Path | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.measurements is not None


def _measure(
    path: Path,
    read: Callable[[], SegmentedRecording],
    out: Path,
    spacing: float | None,
    console: Console,
) -> _Outcome:
    try:
        recording = read()
        with console.status(f"measuring {recording.name}"):
            measurements = measure_segmented(recording, spacing_mm=spacing)
            paths = write_measurements(measurements, out / recording.name)
    except LvwallError as error:
        return _Outcome(path, error=str(error))
    return _Outcome(path, measurements, paths["json"].parent)


def _print_summary(outcomes: list[_Outcome]) -> None:
    table = Table(title="lvwall measure")
    table.add_column("input", overflow="fold")
    for column in ("ED", "ES", "EDV", "ESV", "EF %", "GLS %"):
        table.add_column(column, justify="right")
    table.add_column("result", overflow="fold")
    for outcome in outcomes:
        result = outcome.measurements
        if result is None:
            table.add_row(str(outcome.path), *[""] * 6, f"[red]failed:[/] {outcome.error}")
            continue
        unit = result.scale.volume_unit
        cells = [
            _cell(None if result.ed_index is None else result.ed_index + 1, "{}"),
            _cell(None if result.es_index is None else result.es_index + 1, "{}"),
            _cell(result.edv, "{:.4g} " + unit),
            _cell(result.esv, "{:.4g} " + unit),
            _cell(result.ef_percent, "{:.1f}"),
            _cell(result.gls_percent, "{:.1f}"),
        ]
        status = f"[green]{outcome.folder}[/]"
        numbers = {key: reason for key, reason in result.missing.items() if key != "intervals"}
        if numbers:
            status += f"\n[yellow]missing:[/] {next(iter(numbers.values()))}"
        table.add_row(str(outcome.path), *cells, status)
    if not outcomes:
        table.add_row("(none)", *[""] * 6, "[red]no recordings found in the inputs[/]")
    Console().print(table)


def _cell(value: float | None, template: str) -> str:
    return "[dim]n/a[/]" if value is None else template.format(value)
