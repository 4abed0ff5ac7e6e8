"""``lvwall regional``: the six wall segments of one apical recording, their motion and flags."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lvwall.atomic import check_output_dir
from lvwall.commands._console import FrameProgress
from lvwall.commands._options import model_option, out_option, recording_view_option
from lvwall.commands._view import choose_view
from lvwall.data import VIEW_WALLS, discover, segment_names
from lvwall.errors import DataError
from lvwall.infer import (
    SegmentedRecording,
    load_segmentation_model,
    read_masks_npz,
    segment_recording,
)
from lvwall.measure import Measurements, measure_segmented, write_measurement_files
from lvwall.regional import (
    DEFAULT_SCORE,
    SCORES,
    RegionalAnalysis,
    Thresholds,
    analyse_cycle,
    write_regional,
)


class SeptalSide(str, Enum):
    left = "left"
    right = "right"


def command(
    recording: Path = typer.Argument(
        ...,
        help="A recording (video, GIF, DICOM, folder of frames) to segment, or a masks.npz "
        "written by `lvwall predict`.",
        show_default=False,
    ),
    out: Path = out_option("Folder for the results; they go to OUT/<name>/."),
    model: Path | None = model_option("Model for a recording"),
    view: str | None = recording_view_option("the recording"),
    septal_side: SeptalSide = typer.Option(
        SeptalSide.left,
        "--septal-side",
        help="Image side of the view's first wall: the septum in A4C, the inferior wall in "
        "A2C; left in the standard display (apex at the top).",
    ),
    start: int = typer.Option(
        1, "--start", min=1, help="First frame of the cycle (1-based; the reference frame)."
    ),
    end: int | None = typer.Option(
        None, "--end", min=2, help="Last frame of the cycle (1-based, inclusive) [default: last]."
    ),
    score: str | None = typer.Option(
        None,
        "--score",
        help="Motion score per segment: combined (displacement and thickening), displacement "
        "(the HMC-QU study's), inward or thickening [default: the thresholds file's, else "
        "combined].",
    ),
    thresholds: Path | None = typer.Option(
        None,
        "--thresholds",
        help="Thresholds of the same view from `lvwall regional-eval` (thresholds.json for "
        "A4C, thresholds_a2c.json for A2C): flag hypokinetic segments.",
    ),
) -> None:
    """Split the LV wall into the six segments of its apical view (A4C or A2C, --view) in
    every frame of one cardiac cycle, measure each segment's endocardial motion and
    thickening from the first frame, and write segment label maps (NPZ), motion curves (PNG,
    CSV), a segment diagram, an overlay and a per-segment table (CSV, printed).

    With --thresholds (of the same view), segments whose motion score falls below the learned
    threshold are flagged hypokinetic (possible MI).
    """

    console = Console(stderr=True)
    check_output_dir(out)
    learned = Thresholds.load(thresholds) if thresholds is not None else None
    chosen = score or (learned.score if learned else DEFAULT_SCORE)
    if chosen not in SCORES:
        raise typer.BadParameter(f"unknown score {chosen!r}; choose one of {sorted(SCORES)}")
    if learned is not None and learned.score != chosen:
        raise typer.BadParameter(
            f"{thresholds} holds thresholds for the score {learned.score!r}, not {chosen!r}"
        )

    if recording.suffix.lower() == ".npz":
        masks = read_masks_npz(recording)
    else:
        with FrameProgress(console, verb="segmenting") as progress:
            masks = _segment_one(recording, model, progress)
    cycle = masks.cycle(start, end, recording)
    call, warning = choose_view(cycle, view)
    chosen_view = call.view
    if learned is not None:
        learned = Thresholds.load(thresholds, chosen_view)
    if warning:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    first_wall = VIEW_WALLS[chosen_view][0]
    console.print(
        f"view: {call.describe()}; segments {', '.join(segment_names(chosen_view))}, "
        f"{first_wall} wall on the image {septal_side.value}",
        highlight=False,
        soft_wrap=True,
    )
    with console.status(f"splitting {len(cycle.masks)} frames into the six segments"):
        analysis = analyse_cycle(
            cycle.masks,
            septal_side=septal_side.value,
            score=chosen,
            thresholds=learned,
            source=str(recording),
            excluded=cycle.flagged,
            view=chosen_view,
        )
        reference = cycle.greys[0] if cycle.greys is not None else cycle.masks[0] * 0.5
        title = f"{cycle.name} ({chosen_view})"
        paths = write_regional(analysis, out / cycle.name, reference, title=title)
    with console.status("measuring volumes, EF and strain"):
        measurements = measure_segmented(cycle, septal_side=septal_side.value, view=call)
        write_measurement_files(measurements, out / cycle.name)
    _warn_held(console, analysis, cycle.frame_flags)
    _print_table(analysis, measurements, cycle.name)
    console.print(f"results: {paths['table'].parent}", highlight=False)


def _segment_one(
    path: Path, model_path: Path | None, progress: FrameProgress
) -> SegmentedRecording:
    """Segment the one recording at ``path`` with the model at ``model_path`` (the bundled
    one when ``None``); :class:`DataError` if ``path`` holds several or a single frame."""

    sources = discover([path])
    if len(sources) != 1:
        raise DataError(
            path, f"holds {len(sources)} recordings; regional analysis takes one at a time"
        )
    segmented = segment_recording(sources[0], load_segmentation_model(model_path), progress)
    if len(segmented.masks) < 2:
        raise DataError(path, "has 1 frame; motion needs a cycle of at least two")
    return segmented


def _warn_held(
    console: Console, analysis: RegionalAnalysis, frame_flags: list[tuple[str, ...]] | None
) -> None:
    """Say which frames add no motion of their own to the curves, and why."""
    flagged = set(analysis.excluded_frames)
    for index in analysis.excluded_frames:
        reasons = ", ".join(frame_flags[index]) if frame_flags else "flagged"
        console.print(
            f"[yellow]warning:[/] frame {index + 1} is flagged by quality control ({reasons}); "
            "its wall is left out and it holds the previous frame's segments",
            highlight=False,
        )
    unsplit = [index + 1 for index in analysis.held_frames if index not in flagged]
    if unsplit:
        console.print(
            f"[yellow]warning:[/] the predicted wall of frame(s) {', '.join(map(str, unsplit))} "
            "could not be split; they reuse the previous frame's segments",
            highlight=False,
        )
    if frame_flags is None:
        console.print(
            "note: masks read from a file carry no quality verdicts; segment the recording "
            "itself to leave flagged frames out",
            style="dim",
        )


def _print_table(analysis: RegionalAnalysis, measurements: Measurements, name: str) -> None:
    table = Table(title=f"lvwall regional: {name} ({analysis.view})")
    table.add_column("segment")
    for column in ("displacement", "inward", "thickening", "score", "strain"):
        table.add_column(column, justify="right")
    flags = analysis.flags
    if flags is not None:
        table.add_column("hypokinetic")
    for index, row in analysis.table().iterrows():
        cells = [
            f"{row['segment']} [dim]{row['title']}[/]",
            f"{row['max_displacement_pct_long_axis']:.1f}%",
            f"{row['max_inward_pct_long_axis']:.1f}%",
            f"{row['max_thickening_pct']:.0f}%",
            f"{analysis.scores[index]:.4f}",
            _percent(measurements.segment_strain[row["segment"]]),
        ]
        if flags is not None:
            cells.append("[bold red]yes[/]" if flags[index] else "no")
        table.add_row(*cells)
    Console().print(table)
    Console().print(
        "Largest motion over the cycle from its first frame; displacements in % of the LV "
        "long axis; longitudinal strain from ED to ES (measurements.json).",
        style="dim",
    )
    Console().print(
        f"EF {_percent(measurements.ef_percent)}, GLS {_percent(measurements.gls_percent)}"
        + "".join(f"; {key}: {reason}" for key, reason in measurements.missing.items()),
        highlight=False,
        soft_wrap=True,
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"
