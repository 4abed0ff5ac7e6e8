"""Options that several commands share, declared once so that their flags and help agree.

Not a command: ``lvwall.cli`` skips modules whose names start with an underscore.
"""

from __future__ import annotations

from typing import Any

import typer


def view_option(what: str) -> Any:
    """``--view``: apical views to keep, repeatable; ``what`` says what they are kept for."""
    return typer.Option(
        None,
        "--view",
        help=f"{what}: A4C or A2C (any case); repeat for both (default: every view).",
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
