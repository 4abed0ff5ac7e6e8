"""``lvwall predict``: segment the LV wall in any A4C recording."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from lvwall.atomic import check_output_dir
from lvwall.commands._console import FrameProgress
from lvwall.commands._options import model_option, out_option, threads_option
from lvwall.data import Recording, discover
from lvwall.errors import LvwallError
from lvwall.infer import (
    SUMMARY_FILE,
    Outcome,
    PredictOptions,
    load_segmentation_model,
    predict_sources,
    readable_text,
    share,
)
from lvwall.model import is_bundled
from lvwall.quality import UNCALIBRATED_NOTE


class Backend(str, Enum):
    auto = "auto"
    onnx = "onnx"
    torch = "torch"
    torch_bf16 = "torch-bf16"


class OutputFormat(str, Enum):
    npz = "npz"
    png = "png"


def command(
    inputs: list[Path] = typer.Argument(
        ...,
        help="Videos (AVI/MP4/GIF), DICOM files, images, folders of frame images, or folders "
        "of any of these.",
        show_default=False,
    ),
    out: Path = out_option("Folder the results are written to."),
    model: Path | None = model_option(),
    backend: Backend = typer.Option(
        Backend.auto,
        help="How the network runs: auto = PyTorch on a CUDA GPU (an .onnx model: ONNX "
        "Runtime), else ONNX Runtime on the CPU; torch-bf16 = PyTorch in bfloat16 (fastest "
        "on CPUs with AVX512-BF16 or AMX).",
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.npz,
        "--format",
        help="npz: per recording OUT/<name>/ with masks.npz, an overlay video and "
        "wall_area.csv; png: per image OUT/<name>.png, 0 = background, 255 = wall.",
    ),
    tta: bool = typer.Option(
        False, "--tta", help="Also segment the mirrored frame and average (twice the time)."
    ),
    smooth: bool = typer.Option(
        False, "--smooth", help="Average wall probabilities over 3 neighbouring frames."
    ),
    largest_component: bool = typer.Option(
        False, "--largest-component", help="Keep only the largest connected piece of wall."
    ),
    sector: bool = typer.Option(
        True,
        "--sector/--no-sector",
        help="Blank scanner overlays (text, ECG) outside the ultrasound sector first.",
    ),
    quality: bool = typer.Option(
        True,
        "--quality/--no-quality",
        help="Score every frame and run the anatomical checks (quality.csv; flagged frames "
        "marked in the overlay).",
    ),
    threshold: float | None = typer.Option(
        None, min=0.01, max=0.99, help="Wall probability threshold; default: the model's own."
    ),
    batch_size: int = typer.Option(8, min=1, help="Frames per model call."),
    threads: int | None = threads_option(),
    skip_existing: bool = typer.Option(
        False,
        "--skip-existing",
        help="Skip recordings whose complete outputs are already in OUT and record this very "
        "input, unchanged (to finish an interrupted batch); others are redone, saying why.",
    ),
    num_parts: int = typer.Option(
        1, "--num-parts", min=1, help="Split the inputs into this many parts (one per machine)."
    ),
    part_id: int = typer.Option(
        0, "--part-id", min=0, help="Which part (0-based) of --num-parts this run processes."
    ),
) -> None:
    """Segment the LV wall in recordings and write masks, overlays and wall areas.

    Every input is processed even when others fail; the summary lists each with its
    output or the reason it failed (also in OUT/summary.csv), and the exit code is 1 if any
    failed.

    Large batches: --skip-existing finishes an interrupted run without redoing what is done;
    --num-parts N --part-id K processes the K-th of N deterministic shares of the inputs, so
    that N machines (e.g. a SLURM array) split one batch into one OUT without coordination.
    """

    if part_id >= num_parts:
        raise typer.BadParameter(
            f"--part-id must be below --num-parts ({num_parts}), got {part_id}",
            param_hint="--part-id",
        )
    console = Console(stderr=True)
    check_output_dir(out)
    options = PredictOptions(
        batch_size=batch_size,
        tta="flip" if tta else None,
        smoothing="mean3" if smooth else None,
        mask_filter="largest" if largest_component else None,
        threshold=threshold,
        sector=sector,
        quality=quality,
    )
    segmentation_model = load_segmentation_model(model, backend.value, threads=threads)
    console.print(f"model: {shown(segmentation_model.description)}", highlight=False)
    if quality and not is_bundled(model):
        console.print(f"note: {UNCALIBRATED_NOTE}", highlight=False)
    found = discover(
        inputs,
        image_folders_as_recordings=output_format is not OutputFormat.png,
        skip_folder=out,
    )
    if not found:
        others = f" (and the {len(inputs) - 1} other inputs)" if len(inputs) > 1 else ""
        raise LvwallError(f"{inputs[0]}{others}: holds no video, DICOM or image file to segment")
    sources = share(found, num_parts, part_id)
    if num_parts > 1:
        console.print(
            f"part {part_id} of {num_parts}: {len(sources)} of {len(found)} inputs",
            highlight=False,
        )
    with FrameProgress(console) as progress:
        outcomes = predict_sources(
            sources,
            segmentation_model,
            options,
            out,
            output_format=output_format.value,
            skip_existing=skip_existing,
            progress=_LiteralNames(progress),
        )
    _print_summary(outcomes)
    if outcomes:
        console.print(f"summary: {shown(out / SUMMARY_FILE)}", highlight=False)
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


def shown(text: object) -> str:
    """A path or name as Rich shows it literally: markup such as ``[bold red]`` or ``[/]``
    escaped, and the bytes of an undecodable name as ``\\xNN``."""
    return escape(readable_text(str(text)))


class _LiteralNames:
    """The progress bar, given each recording's name as it reads (its bar's label is markup)."""

    def __init__(self, progress: FrameProgress) -> None:
        self.progress = progress

    def start(self, recording: Recording) -> None:
        self.progress.start(dataclasses.replace(recording, name=shown(recording.name)))

    def advance(self) -> None:
        self.progress.advance()


#: Up to this many inputs the summary has one line per input; beyond, counts and the
#: failures only (the full list is summary.csv).
LISTED_INPUTS = 20


def _print_summary(outcomes: list[Outcome]) -> None:
    """One plain line per input (and its reader's warnings), or for a big batch the counts and
    each failure or warning: lines, not a table, so that nothing is cut in an 80-column
    terminal or a log."""
    console = Console(highlight=False, soft_wrap=True)
    listed = (
        outcomes
        if len(outcomes) <= LISTED_INPUTS
        else [o for o in outcomes if not o.ok or o.warnings]
    )
    for outcome in listed:
        fps = outcome.n_frames / outcome.seconds if outcome.ok and outcome.seconds > 0 else None
        details = [f"{outcome.n_frames} frames"]
        details += [f"{fps:.1f} frames/s"] if fps else []
        details += [_flagged_cell(outcome)] if outcome.qualities else []
        console.print(
            f"{shown(outcome.source.path)}: {_result_cell(outcome)}"
            + ("" if not outcome.ok else f" ({', '.join(details)})")
        )
        for warning in outcome.warnings:
            console.print(f"  [yellow]warning:[/] {shown(warning)}")
    if len(outcomes) > LISTED_INPUTS:
        written = sum(o.ok and not o.skipped for o in outcomes)
        skipped = sum(o.ok and o.skipped for o in outcomes)
        failed = sum(not o.ok for o in outcomes)
        with_flags = sum(o.ok and o.n_flagged > 0 for o in outcomes)
        console.print(
            f"{len(outcomes)} inputs: {written} written, {skipped} skipped (complete), "
            f"{failed} failed; {with_flags} with frames flagged by quality control"
        )


def _result_cell(outcome: Outcome) -> str:
    if not outcome.ok:
        return f"[red]failed:[/] {shown(outcome.reason)}"
    if outcome.skipped:
        return f"[dim]skipped, complete:[/] {shown(outcome.output)}"
    redone = f" [yellow]({shown(outcome.redone)})[/]" if outcome.redone else ""
    return f"[green]{shown(outcome.output)}[/]{redone}"


def _flagged_cell(outcome: Outcome) -> str:
    """ "N of M frames flagged" by quality control (empty where it did not run)."""
    if not outcome.qualities:
        return ""
    text = f"{outcome.n_flagged} of {len(outcome.qualities)} frames flagged"
    return f"[yellow]{text}[/]" if outcome.n_flagged else text
