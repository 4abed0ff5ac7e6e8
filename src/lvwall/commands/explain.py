"""``lvwall explain``: saliency maps, learned filters, receptive fields and a sanity check."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_dir
from lvwall.commands._options import deprecated, model_option, out_option, threads_option
from lvwall.data import MODEL_SIZE
from lvwall.explain import METHODS, RANDOMISATIONS, SPLITTERS, TARGET_NAMES, AttributionSettings
from lvwall.explain import run as explain_run
from lvwall.threads import use_torch_threads


def _choices(name: str, values: object) -> type[Enum]:
    """A Typer choice of the names in a registry of :mod:`lvwall.explain`."""
    return Enum(name, {value: value for value in values}, type=str)


Method = _choices("Method", METHODS)
Target = _choices("Target", TARGET_NAMES)
Split = _choices("Split", SPLITTERS)
Randomisation = _choices("Randomisation", RANDOMISATIONS)


def command(
    arguments: list[str] = typer.Argument(
        ...,
        metavar="INPUT",
        help="A video (AVI/MP4/GIF), DICOM file, image, or folder of frame images.",
        show_default=False,
    ),
    out: Path = out_option("Folder the figures and maps go to."),
    model: Path | None = model_option("Model to explain, with its PyTorch weights (no .onnx)"),
    methods: list[Method] = typer.Option(
        ["vanilla"], "--method", help="Saliency method; repeat for several."
    ),
    target: Target = typer.Option(
        Target("wall"), help="Explain the whole predicted wall or one of its six segments."
    ),
    split: Split = typer.Option(
        Split("centreline"),
        help="How segment targets are found: thirds along the wall's centreline (as "
        "`lvwall regional`), or thirds of the bounding box per side (for any prediction).",
    ),
    frames: str = typer.Option(
        "0", help="Comma-separated 0-based frame numbers to explain, e.g. 0,10,20."
    ),
    layer: str | None = typer.Option(
        None, help="Layer Grad-CAM reads, e.g. bottleneck or decoders.0; default: deepest."
    ),
    smoothgrad_samples: int = typer.Option(16, min=1, help="Noisy copies SmoothGrad averages."),
    ig_steps: int = typer.Option(32, min=1, help="Integrated Gradients integration steps."),
    threshold: float | None = typer.Option(
        None, min=0.01, max=0.99, help="Wall probability threshold; default: the model's own."
    ),
    sector: bool = typer.Option(
        True,
        "--sector/--no-sector",
        help="Blank scanner overlays outside the ultrasound sector first, as `predict` does.",
    ),
    filters: bool = typer.Option(
        True,
        "--filters/--no-filters",
        help="Also draw the first-layer kernels and the first frame's feature maps.",
    ),
    receptive_fields: bool = typer.Option(
        True,
        "--receptive-fields/--no-receptive-fields",
        help="Also print and save the model summary with receptive fields, and its chart.",
    ),
    sanity: bool = typer.Option(
        False,
        "--sanity",
        help="Also run the model-parameter randomisation test on the first frame "
        "(one map per model block).",
    ),
    randomisation: Randomisation = typer.Option(
        Randomisation("cascading"), help="How --sanity re-initialises the layers."
    ),
    threads: int | None = threads_option(),
) -> None:
    """Explain what the network looks at when it segments the LV wall.

    Per frame and method: OUT/<input>_f<frame>_<target>_<method>.png (frame, map, overlay).

    Per frame: OUT/<input>_f<frame>_<target>.npz (frame, probability, region, raw maps).

    Unless switched off: filters.png (kernels) and the first frame's feature maps.

    Unless switched off: the receptive-field summary (model_summary.csv/.md, a chart).

    With --sanity: the randomisation test of the first method (figure and Spearman CSV).
    """

    use_torch_threads(threads)
    console = Console(stderr=True)
    indices = _parse_frames(frames)
    check_output_dir(out)
    input_path, model_path = _input_and_model(arguments, model)
    model, meta = explain_run.load_explained_model(model_path)
    size = int(meta.get("image_size") or MODEL_SIZE)
    cutoff = float(threshold if threshold is not None else meta["threshold"])
    name, chosen, scanned = explain_run.read_frames(input_path, indices, size, sector)
    settings = AttributionSettings(
        smoothgrad_samples=smoothgrad_samples, ig_steps=ig_steps, gradcam_layer=layer
    )
    try:
        explain_run.check_layer(model, layer)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--layer") from None
    out.mkdir(parents=True, exist_ok=True)
    request = explain_run.ExplainRequest(
        model, target.value, split.value, settings, cutoff, out, console
    )
    extras = explain_run.Extras(filters, receptive_fields, sanity, randomisation.value)
    written = explain_run.explain_recording(
        request, input_path, name, chosen, [m.value for m in methods], extras, scanned, size
    )
    console.print(f"wrote {len(written)} files to {out}", highlight=False)


def _input_and_model(arguments: list[str], model: Path | None) -> tuple[Path, Path | None]:
    """INPUT, or the former spelling MODEL INPUT (with a deprecation note)."""
    if len(arguments) == 1:
        return Path(arguments[0]), model
    if len(arguments) == 2 and model is None:
        deprecated("explain MODEL INPUT", "explain INPUT --model MODEL")
        return Path(arguments[1]), None if arguments[0] == "default" else Path(arguments[0])
    raise typer.BadParameter("give one INPUT (and the model with --model)")


def _parse_frames(text: str) -> list[int]:
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"--frames must be comma-separated integers, got {text!r}"
        ) from None
    if not indices or min(indices) < 0:
        raise typer.BadParameter(f"--frames needs frame numbers >= 0, got {text!r}")
    return sorted(set(indices))
