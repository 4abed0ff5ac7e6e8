"""``lvwall explain``: saliency maps, learned filters, receptive fields and a sanity check."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console
    from torch import nn

    from lvwall.explain.saliency import AttributionSettings, Explanation


# The choices repeat the registries of lvwall.explain (tests check they agree) because
# importing those would import torch and slow down `lvwall --help`.
class Method(str, Enum):
    vanilla = "vanilla"
    smoothgrad = "smoothgrad"
    integrated_gradients = "integrated-gradients"
    gradcam = "gradcam"


class Target(str, Enum):
    wall = "wall"
    SEG3 = "SEG3"
    SEG9 = "SEG9"
    SEG14 = "SEG14"
    SEG16 = "SEG16"
    SEG12 = "SEG12"
    SEG6 = "SEG6"


class Split(str, Enum):
    centreline = "centreline"
    thirds = "thirds"


class Randomisation(str, Enum):
    cascading = "cascading"
    independent = "independent"


DEFAULT_MODEL = "default"


@dataclass(frozen=True)
class _Request:
    """What every explanation of one run shares."""

    model: nn.Module
    target: str
    splitter: str
    settings: AttributionSettings
    threshold: float
    out: Path
    console: Console


def command(
    checkpoint: str = typer.Argument(
        ...,
        metavar="CKPT",
        help="A trained model (.ckpt or .safetensors), or 'default' for the bundled model.",
        show_default=False,
    ),
    input_path: Path = typer.Argument(
        ...,
        metavar="INPUT",
        help="A video (AVI/MP4/GIF), DICOM file, image, or folder of frame images.",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder the figures and maps go to."),
    methods: list[Method] = typer.Option(
        [Method.vanilla.value],
        "--method",
        help="Saliency method; repeat for several.",
    ),
    target: Target = typer.Option(
        Target.wall, help="Explain the whole predicted wall or one of its six segments."
    ),
    split: Split = typer.Option(
        Split.centreline,
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
        Randomisation.cascading, help="How --sanity re-initialises the layers."
    ),
    threads: int | None = typer.Option(
        None, min=1, help="CPU threads for the network; default: every available core."
    ),
) -> None:
    """Explain what the network looks at when it segments the LV wall.

    Per frame and method: OUT/<input>_f<frame>_<target>_<method>.png (frame, map, overlay).

    Per frame: OUT/<input>_f<frame>_<target>.npz (frame, probability, region, raw maps).

    Unless switched off: filters.png (kernels) and the first frame's feature maps.

    Unless switched off: the receptive-field summary (model_summary.csv/.md, a chart).

    With --sanity: the randomisation test of the first method (figure and Spearman CSV).
    """
    from rich.console import Console

    from lvwall.atomic import check_output_dir
    from lvwall.data.records import MODEL_SIZE
    from lvwall.explain.saliency import AttributionSettings
    from lvwall.threads import use_torch_threads

    use_torch_threads(threads)
    console = Console(stderr=True)
    indices = _parse_frames(frames)
    check_output_dir(out)
    model, meta = _load_model(checkpoint)
    size = int(meta.get("image_size") or MODEL_SIZE)
    cutoff = float(threshold if threshold is not None else meta["threshold"])
    name, chosen, scanned = _read_frames(input_path, indices, size, sector)
    settings = AttributionSettings(
        smoothgrad_samples=smoothgrad_samples, ig_steps=ig_steps, gradcam_layer=layer
    )
    _check_layer(model, layer)
    out.mkdir(parents=True, exist_ok=True)
    request = _Request(model, target.value, split.value, settings, cutoff, out, console)
    written, explained = _explain_frames(request, name, chosen, [m.value for m in methods])
    if not explained:
        from lvwall.errors import DataError

        raise DataError(
            input_path,
            f"the model predicts no wall to explain in target {target.value} in any chosen "
            "frame (see the warnings above)",
        )
    index, frame = explained[0]
    if filters:
        written += _draw_filters(model, frame, out, f"{name}_f{index:03d}")
    if receptive_fields:
        written += _summarise(model, size, out)
    if sanity:
        method = methods[0].value
        stem = f"{name}_f{index:03d}_{target.value}_{method}_sanity"
        written += _sanity(request, frame, method, randomisation.value, scanned, stem)
    console.print(f"wrote {len(written)} files to {out}", highlight=False)


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


def _load_model(checkpoint: str) -> tuple[nn.Module, dict[str, Any]]:
    from lvwall.errors import ModelError
    from lvwall.model.bundled import default_model_paths
    from lvwall.model.checkpoint import load_model

    if checkpoint == DEFAULT_MODEL:
        return load_model(default_model_paths().weights)
    path = Path(checkpoint)
    if path.suffix.lower() == ".onnx":
        raise ModelError(
            path,
            "is an ONNX export, but explanations need the PyTorch weights (a .ckpt or "
            ".safetensors file); give those, or 'default' for the bundled model's, which are "
            f"in {default_model_paths().weights.parent}",
        )
    return load_model(path)


def _check_layer(model: nn.Module, layer: str | None) -> None:
    if layer is not None and layer not in dict(model.named_modules()):
        names = [name for name, _ in model.named_children()]
        raise typer.BadParameter(
            f"the model has no layer {layer!r}; top-level layers are {names}, and their "
            "parts are named like decoders.0"
        )


def _read_frames(
    path: Path, indices: list[int], size: int, sector: bool
) -> tuple[str, list[tuple[int, np.ndarray]], np.ndarray | None]:
    """The recording's name, its chosen frames as `lvwall predict` feeds them to the network
    (:func:`lvwall.infer.network_inputs`) and the sector's mask (``None`` where there is
    none)."""
    import itertools

    from lvwall.data.inputs import discover
    from lvwall.data.preprocess import prepare_frame
    from lvwall.data.sector import SECTOR_FRAMES
    from lvwall.errors import DataError
    from lvwall.infer import network_inputs

    sources = discover([path])
    if len(sources) != 1:
        raise DataError(path, f"holds {len(sources)} recordings; give one to explain")
    recording = sources[0].open()
    needed = max(max(indices) + 1, SECTOR_FRAMES)
    decoded = itertools.islice(recording.frames(), needed)
    prepared = ((index, prepare_frame(frame, size)) for index, frame in enumerate(decoded))
    found, inputs = network_inputs(prepared, size, sector)
    frames = dict(inputs)
    missing = [index for index in indices if index not in frames]
    if missing:
        raise DataError(
            path, f"has {len(frames)} frames, so frame {missing[0]} does not exist (0-based)"
        )
    chosen = [(index, frames[index]) for index in indices]
    return sources[0].name, chosen, found.mask if found.found else None


def _explain_frames(
    request: _Request, name: str, chosen: list[tuple[int, np.ndarray]], methods: list[str]
) -> tuple[list[Path], list[tuple[int, np.ndarray]]]:
    """Saliency figures and maps of every chosen frame and method; also the frames that
    could be explained (frames without wall in the target are skipped with a warning)."""
    from rich.progress import track

    from lvwall.explain.figures import saliency_figure, save_figure
    from lvwall.explain.saliency import explain_frame
    from lvwall.explain.targets import EmptyRegionError
    from lvwall.wall.errors import RegionalError

    jobs = [(index, frame, method) for index, frame in chosen for method in methods]
    results: dict[int, list[Explanation]] = {}
    written: list[Path] = []
    console, out, target = request.console, request.out, request.target
    for index, frame, method in track(
        jobs, description="explaining", console=console, transient=True
    ):
        try:
            explanation = explain_frame(
                request.model,
                frame,
                method,
                target,
                settings=request.settings,
                threshold=request.threshold,
                splitter=request.splitter,
            )
        except (EmptyRegionError, RegionalError) as error:
            console.print(f"[yellow]warning:[/] frame {index}: {error}; skipped", highlight=False)
            continue
        results.setdefault(index, []).append(explanation)
        figure = saliency_figure(explanation, title=f"{name}, frame {index}")
        written.append(save_figure(figure, out / f"{name}_f{index:03d}_{target}_{method}.png"))
    for index, explanations in results.items():
        written.append(_save_maps(out / f"{name}_f{index:03d}_{target}.npz", explanations))
    return written, [(index, results[index][0].frame) for index in results]


def _save_maps(path: Path, explanations: list[Explanation]) -> Path:
    import numpy as np

    from lvwall.atomic import atomic_path

    first = explanations[0]
    arrays = {"frame": first.frame, "probability": first.probability, "region": first.region}
    for explanation in explanations:
        arrays[explanation.method] = explanation.attribution
        if explanation.convergence_delta is not None:
            arrays[f"{explanation.method}_delta"] = np.float32(explanation.convergence_delta)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def _draw_filters(model: nn.Module, frame: np.ndarray, out: Path, prefix: str) -> list[Path]:
    from lvwall.explain.figures import feature_map_figure, kernel_grid_figure, save_figure
    from lvwall.explain.filters import feature_maps, first_convolution, grey_kernels

    kernels = grey_kernels(first_convolution(model))
    return [
        save_figure(kernel_grid_figure(kernels), out / "filters.png"),
        # 80 dpi keeps the many speckled tiles to a few hundred kilobytes.
        save_figure(
            feature_map_figure(feature_maps(model, frame, top_k=6), frame),
            out / f"{prefix}_feature_maps.png",
            dpi=80,
        ),
    ]


def _summarise(model: nn.Module, size: int, out: Path) -> list[Path]:
    from rich.console import Console

    from lvwall.atomic import write_text
    from lvwall.explain.figures import receptive_field_figure, save_figure
    from lvwall.explain.receptive_field import (
        summarise,
        summary_csv,
        summary_markdown,
        summary_table,
    )

    rows = summarise(model, size)
    Console().print(summary_table(rows))
    return [
        write_text(out / "model_summary.csv", summary_csv(rows)),
        write_text(out / "model_summary.md", summary_markdown(rows)),
        save_figure(receptive_field_figure(rows, size), out / "receptive_field.png"),
    ]


def _sanity(
    request: _Request,
    frame: np.ndarray,
    method: str,
    mode: str,
    within: np.ndarray | None,
    stem: str,
) -> list[Path]:
    """The randomisation test's figure (OUT/``stem``.png) and correlations (``stem``.csv),
    comparing maps ``within`` the scan sector."""
    import csv
    import io

    from lvwall.atomic import write_text
    from lvwall.explain.figures import sanity_figure, save_figure
    from lvwall.explain.sanity import randomisation_test

    with request.console.status(f"randomisation test ({mode}, {method})"):
        report = randomisation_test(
            request.model,
            frame,
            method,
            request.target,
            mode,
            settings=request.settings,
            threshold=request.threshold,
            splitter=request.splitter,
            within=within,
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", "randomised", "spearman"])
    for step in report.steps:
        writer.writerow([step.label, " ".join(step.randomised), f"{step.spearman:.4f}"])
        request.console.print(
            f"randomised {step.label}: Spearman {step.spearman:.3f}", highlight=False
        )
    return [
        save_figure(sanity_figure(report), request.out / f"{stem}.png"),
        write_text(request.out / f"{stem}.csv", buffer.getvalue()),
    ]
