"""One ``lvwall explain`` run: a recording's frames as the network sees them, their
saliency figures and maps, the first layer's filters, the model summary with receptive
fields, and the randomisation sanity check, each written into the output folder."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import track
from torch import nn

from lvwall.atomic import atomic_path, write_text
from lvwall.data import SECTOR_FRAMES, discover, prepare_frame
from lvwall.errors import DataError, ModelError
from lvwall.explain.figures import (
    feature_map_figure,
    kernel_grid_figure,
    receptive_field_figure,
    saliency_figure,
    sanity_figure,
    save_figure,
)
from lvwall.explain.filters import feature_maps, first_convolution, grey_kernels
from lvwall.explain.receptive_field import summarise, summary_csv, summary_markdown
from lvwall.explain.saliency import AttributionSettings, Explanation, explain_frame
from lvwall.explain.sanity import randomisation_test
from lvwall.explain.targets import EmptyRegionError
from lvwall.infer import network_inputs
from lvwall.model import default_model_paths, load_model
from lvwall.wall import RegionalError


@dataclass(frozen=True)
class Extras:
    """What a run draws beside the saliency maps: the first layer's ``filters``, the model
    summary with ``receptive_fields``, and the ``sanity`` check with its ``randomisation``."""

    filters: bool = True
    receptive_fields: bool = True
    sanity: bool = False
    randomisation: str = "cascading"


@dataclass(frozen=True)
class ExplainRequest:
    """What every explanation of one run shares."""

    model: nn.Module
    target: str
    splitter: str
    settings: AttributionSettings
    threshold: float
    out: Path
    console: Console


def load_explained_model(path: Path | None) -> tuple[nn.Module, dict[str, Any]]:
    """The PyTorch model at ``path`` (the bundled one for ``None``): explanations need its
    gradients, so an ONNX export is refused with a sentence saying what to give instead."""
    if path is None:
        return load_model(default_model_paths().weights)
    if path.suffix.lower() == ".onnx":
        raise ModelError(
            path,
            "is an ONNX export, but explanations need the PyTorch weights (a .ckpt or "
            ".safetensors file); give those, or leave --model out for the bundled model's, "
            f"which are in {default_model_paths().weights.parent}",
        )
    return load_model(path)


def read_frames(
    path: Path, indices: list[int], size: int, sector: bool
) -> tuple[str, list[tuple[int, np.ndarray]], np.ndarray | None]:
    """The recording's name, its chosen frames as `lvwall predict` feeds them to the network
    (:func:`lvwall.infer.network_inputs`) and the sector's mask (``None`` where there is
    none)."""

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


def explain_frames(
    request: ExplainRequest, name: str, chosen: list[tuple[int, np.ndarray]], methods: list[str]
) -> tuple[list[Path], list[tuple[int, np.ndarray]]]:
    """Saliency figures and maps of every chosen frame and method; also the frames that
    could be explained (frames without wall in the target are skipped with a warning)."""

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
        written.append(save_maps(out / f"{name}_f{index:03d}_{target}.npz", explanations))
    return written, [(index, results[index][0].frame) for index in results]


def save_maps(path: Path, explanations: list[Explanation]) -> Path:
    first = explanations[0]
    arrays = {"frame": first.frame, "probability": first.probability, "region": first.region}
    for explanation in explanations:
        arrays[explanation.method] = explanation.attribution
        if explanation.convergence_delta is not None:
            arrays[f"{explanation.method}_delta"] = np.float32(explanation.convergence_delta)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def draw_filters(model: nn.Module, frame: np.ndarray, out: Path, prefix: str) -> list[Path]:
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


def write_model_summary(model: nn.Module, size: int, out: Path) -> list[Path]:
    """The model summary with receptive fields (``model_summary.csv`` and ``.md``) and its
    chart (``receptive_field.png``), with one line about it on the terminal."""
    rows = summarise(model, size)
    height, width = rows[-1].receptive_field.size
    Console().print(
        f"Model summary: {len(rows)} layers, {sum(row.parameters for row in rows):,} parameters, "
        f"each output pixel sees {height}x{width} input pixels; the table is in "
        f"{out / 'model_summary.md'}",
        highlight=False,
        soft_wrap=True,
    )
    return [
        write_text(out / "model_summary.csv", summary_csv(rows)),
        write_text(out / "model_summary.md", summary_markdown(rows)),
        save_figure(receptive_field_figure(rows, size), out / "receptive_field.png"),
    ]


def run_sanity(
    request: ExplainRequest,
    frame: np.ndarray,
    method: str,
    mode: str,
    within: np.ndarray | None,
    stem: str,
) -> list[Path]:
    """The randomisation test's figure (OUT/``stem``.png) and correlations (``stem``.csv),
    comparing maps ``within`` the scan sector."""

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


def check_layer(model: nn.Module, layer: str | None) -> None:
    """:class:`ValueError` naming the top-level layers if ``model`` has no ``layer``."""
    if layer is not None and layer not in dict(model.named_modules()):
        names = [name for name, _ in model.named_children()]
        raise ValueError(
            f"the model has no layer {layer!r}; top-level layers are {names}, and their "
            "parts are named like decoders.0"
        )


def explain_recording(
    request: ExplainRequest,
    source: Path,
    name: str,
    chosen: list[tuple[int, np.ndarray]],
    methods: list[str],
    extras: Extras,
    scanned: np.ndarray | None,
    size: int,
) -> list[Path]:
    """Every file of one run on the ``chosen`` frames of the recording ``name`` (read from
    ``source``): saliency per frame and method, then the extras on the first frame that
    could be explained; :class:`DataError` when no chosen frame has wall in the target."""
    written, explained = explain_frames(request, name, chosen, methods)
    if not explained:
        raise DataError(
            source,
            f"the model predicts no wall to explain in target {request.target} in any chosen "
            "frame (see the warnings above)",
        )
    index, frame = explained[0]
    if extras.filters:
        written += draw_filters(request.model, frame, request.out, f"{name}_f{index:03d}")
    if extras.receptive_fields:
        written += write_model_summary(request.model, size, request.out)
    if extras.sanity:
        method = methods[0]
        stem = f"{name}_f{index:03d}_{request.target}_{method}_sanity"
        written += run_sanity(request, frame, method, extras.randomisation, scanned, stem)
    return written
