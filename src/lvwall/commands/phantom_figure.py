"""``lvwall phantom-figure``: phantom frames beside real HMC-QU and CAMUS frames."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from lvwall.commands._options import seed_option
from lvwall.data import comparison_figure

_SHARED = Path("..") / "shared" / "data"


def command(
    out: Path = typer.Argument(..., help="PNG file to write, e.g. docs/phantom_vs_real.png."),
    hmcqu_gif: Path = typer.Option(
        _SHARED / "hmcqu-sample" / "ES0001 _4CH_1.gif",
        "--hmcqu-gif",
        help="A real HMC-QU recording (GIF or AVI) to show beside the phantom.",
    ),
    camus: Path = typer.Option(
        _SHARED / "camus-a4c-dev",
        "--camus",
        help="A CAMUS folder (PNG layout or original) whose first frame and wall mask to show.",
    ),
    seed: int = seed_option("the first phantom recording shown"),
) -> None:
    """Draw phantom frames with their LV-wall mask outlined beside a real HMC-QU frame and a
    real CAMUS frame with its wall mask, to judge the phantom's realism by eye.

    Real references that are absent are left out, with a note.
    """

    if out.suffix.lower() != ".png":
        raise typer.BadParameter(f"{out} must end in .png", param_hint="OUT")
    console = Console()
    for note in comparison_figure(out, hmcqu_gif=hmcqu_gif, camus_dir=camus, seed=seed):
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    console.print(f"Wrote {out}", highlight=False, soft_wrap=True)
