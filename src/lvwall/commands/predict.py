"""``lvwall predict``: segment the LV wall in any A4C recording."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from lvwall.infer import Outcome


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
    out: Path = typer.Option(..., "--out", "-o", help="Folder the results are written to."),
    model: Path | None = typer.Option(
        None,
        "--model",
        "-m",
        help="A trained model (.ckpt, .safetensors or .onnx); default: the bundled model.",
    ),
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
    threshold: float | None = typer.Option(
        None, min=0.01, max=0.99, help="Wall probability threshold; default: the model's own."
    ),
    batch_size: int = typer.Option(8, min=1, help="Frames per model call."),
    threads: int | None = typer.Option(
        None, min=1, help="CPU threads for the network; default: all cores available."
    ),
) -> None:
    """Segment the LV wall in recordings and write masks, overlays and wall areas.

    Every input is processed even when others fail; the summary lists each with its
    output or the reason it failed, and the exit code is 1 if any failed.
    """
    from rich.console import Console

    from lvwall.commands._console import FrameProgress
    from lvwall.data.inputs import discover
    from lvwall.infer import PredictOptions, load_segmentation_model, predict_sources

    console = Console(stderr=True)
    options = PredictOptions(
        batch_size=batch_size,
        tta="flip" if tta else None,
        smoothing="mean3" if smooth else None,
        mask_filter="largest" if largest_component else None,
        threshold=threshold,
        sector=sector,
    )
    segmentation_model = load_segmentation_model(model, backend.value, threads=threads)
    console.print(f"model: {segmentation_model.description}", highlight=False)
    sources = discover(inputs, image_folders_as_recordings=output_format is not OutputFormat.png)
    with FrameProgress(console) as progress:
        outcomes = predict_sources(
            sources,
            segmentation_model,
            options,
            out,
            output_format=output_format.value,
            progress=progress,
        )
    _print_summary(outcomes)
    if not outcomes or not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


def _print_summary(outcomes: list[Outcome]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lvwall predict")
    table.add_column("input", overflow="fold")
    table.add_column("result", overflow="fold")
    table.add_column("frames", justify="right")
    table.add_column("frames/s", justify="right")
    for outcome in outcomes:
        fps = outcome.n_frames / outcome.seconds if outcome.ok and outcome.seconds > 0 else None
        table.add_row(
            str(outcome.source.path),
            f"[green]{outcome.output}[/]" if outcome.ok else f"[red]failed:[/] {outcome.reason}",
            str(outcome.n_frames),
            f"{fps:.1f}" if fps else "",
        )
    if not outcomes:
        table.add_row("(none)", "[red]no recordings found in the inputs[/]", "", "")
    Console().print(table)
