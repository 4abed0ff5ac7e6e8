"""Options that several commands share, declared once so that their flags and help agree.

Not a command: ``lvwall.cli`` skips modules whose names start with an underscore. Each
helper returns a Typer option; ``what`` starts its help where the option's role differs
between commands (what the output folder holds, what the seed draws).
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from lvwall.data import MAX_SPACING_MM, MIN_SPACING_MM, check_view, spacing_is_plausible
from lvwall.threads import capped

#: The help every ``--threads`` shows.
THREADS_HELP = (
    "CPU threads for PyTorch and ONNX Runtime (default: every available core; more than "
    "the available cores are capped to them)."
)


def out_option(what: str, *, required: bool = True, default: Any = None) -> Any:
    """``--out``/``-o``: where a command writes; ``what`` says what goes there. Optional
    when not ``required`` (then ``default``, ``None`` unless given)."""
    return typer.Option(... if required else default, "--out", "-o", help=what)


def threads_option() -> Any:
    """``--threads``: CPU threads, at least one."""
    return typer.Option(None, "--threads", min=1, callback=_cap_threads, help=THREADS_HELP)


def seed_option(what: str, default: int | None = 0) -> Any:
    """``--seed``: a non-negative seed; ``what`` says what it draws."""
    return typer.Option(default, "--seed", min=0, help=f"Seed of {what}.")


def workers_option(what: str, default: int | None) -> Any:
    """``--workers``: how many processes (or loader workers) to use; ``what`` says which.
    More than the available CPU cores are capped to them, with a note on stderr."""
    return typer.Option(default, "--workers", min=0, callback=_cap_workers, help=what)


def spacing_option() -> Any:
    """``--spacing``: the size of one video-frame pixel in millimetres."""
    return typer.Option(
        None,
        "--spacing",
        callback=_positive_spacing,
        help=f"Size of one video-frame pixel in mm (square pixels, {MIN_SPACING_MM:g} to "
        f"{MAX_SPACING_MM:g}), for volumes in ml; overrides the spacing a DICOM file records. "
        "Without either, volumes are in px3.",
    )


def view_option(what: str) -> Any:
    """``--view``: apical views to keep, repeatable; ``what`` says what they are kept for."""
    return typer.Option(
        None,
        "--view",
        help=f"{what}: A4C or A2C (any case); repeat for both (default: every view).",
    )


def recording_view_option(what: str) -> Any:
    """``--view``: the apical view of the inputs, a4c or a2c (any case); ``None`` when left
    out, for the view classifier to recognise. ``what`` names the inputs."""
    return typer.Option(
        None,
        "--view",
        callback=_recording_view,
        metavar="a4c|a2c",
        help=f"Apical view of {what}: a4c (apical 4-chamber: SEG3, SEG9, SEG14, SEG16, SEG12, "
        "SEG6) or a2c (apical 2-chamber: SEG4, SEG10, SEG15, SEG13, SEG7, SEG1), any case "
        "(default: recognised by the view classifier).",
        show_default=False,
    )


def model_option(what: str = "A trained model") -> Any:
    """``--model``/``-m``: a model file in any format lvwall reads, the bundled model when
    left out. ``what`` starts the help text, e.g. ``"Model for recordings"``."""
    return typer.Option(
        None,
        "--model",
        "-m",
        help=f"{what} (.ckpt, .safetensors or .onnx); default: the bundled model.",
    )


def deprecated(old: str, new: str) -> None:
    """Say once on stderr that the spelling ``old`` gives way to ``new``; it still works."""
    Console(stderr=True).print(
        f"[yellow]deprecated:[/] {old} is now {new}; {old} will be removed in the next release",
        highlight=False,
    )


def _positive_spacing(value: float | None) -> float | None:
    # The range and why: lvwall.data.inputs.MIN_SPACING_MM.
    if value is not None and not spacing_is_plausible(value):
        raise typer.BadParameter(
            f"must be a positive number of millimetres per pixel from {MIN_SPACING_MM:g} to "
            f"{MAX_SPACING_MM:g} (echo pixels are about 0.1 to 1 mm), got {value:g}"
        )
    return value


def _cap_threads(value: int | None) -> int | None:
    return _capped(value, "--threads")


def _cap_workers(value: int | None) -> int | None:
    return _capped(value, "--workers")


def _capped(value: int | None, what: str) -> int | None:
    value, note = capped(value, what)
    if note is not None:
        Console(stderr=True).print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    return value


def _recording_view(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_view(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a view; choose a4c or a2c") from None
