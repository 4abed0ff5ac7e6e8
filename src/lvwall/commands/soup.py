"""``lvwall soup``: average fine-tuned models into one (a uniform model soup)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_file
from lvwall.commands._options import out_option
from lvwall.model import save_model
from lvwall.train import average_models


def command(
    models: list[Path] = typer.Argument(
        ...,
        help="Two or more models fine-tuned from one --init checkpoint: .ckpt or .safetensors.",
        show_default=False,
    ),
    out: Path = out_option("Where to write the soup (.safetensors)."),
) -> None:
    """Average the weights of models fine-tuned from one starting point with different
    seeds (Wortsman et al., ICML 2022): often more accurate than each, at one model's speed.

    The soup is a slim model file for `lvwall predict --model`, `lvwall evaluate` and
    `lvwall export` (also `--install-default`).
    """

    if len(models) < 2:
        raise typer.BadParameter("give two or more models to average")
    if out.suffix != ".safetensors":
        raise typer.BadParameter(f"{out}: the soup is written as .safetensors")
    check_output_file(out, "--out")
    model, meta = average_models(models)
    save_model(out, model, meta)
    Console().print(f"wrote {out}: the mean of {len(models)} models", highlight=False)
