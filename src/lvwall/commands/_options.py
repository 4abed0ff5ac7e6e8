"""Options that several commands share, declared once so that their flags and help agree.

Not a command: ``lvwall.cli`` skips modules whose names start with an underscore.
"""

from __future__ import annotations

from typing import Any

import typer


def model_option(what: str = "A trained model") -> Any:
    """``--model``/``-m``: a model file in any format lvwall reads, the bundled model when
    left out. ``what`` starts the help text, e.g. ``"Model for recordings"``."""
    return typer.Option(
        None,
        "--model",
        "-m",
        help=f"{what} (.ckpt, .safetensors or .onnx); default: the bundled model.",
    )
