"""``lvwall export``: a trained model to ONNX, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_file
from lvwall.commands._options import deprecated, out_option
from lvwall.model import ASSETS_DIR, MAX_OPSET, MIN_OPSET, bundle_model, export_checkpoint


def command(
    checkpoint: Path = typer.Argument(
        ..., help="A trained model: Lightning .ckpt or lvwall .safetensors.", show_default=False
    ),
    out: Path | None = out_option("Where to write the ONNX model (.onnx).", required=False),
    onnx: Path | None = typer.Option(None, "--onnx", hidden=True),
    opset: int = typer.Option(17, help="ONNX operator set version (13 to 20)."),
    install_default: bool = typer.Option(
        False,
        "--install-default",
        help="Also install the model (safetensors + ONNX) as the bundled default of `lvwall "
        "predict`; needs --force, as it replaces the model inside the installed package.",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="With --install-default: replace the bundled model (its files are kept in a "
        "replaced-<time> folder beside them).",
    ),
) -> None:
    """Export a trained model to ONNX and print how closely ONNX Runtime matches PyTorch.

    The ONNX model takes grey frames (batch, 1, size, size) in [0, 1] at the model's training
    size (224 for HMC-QU) and returns wall probabilities; it is written only if it matches
    PyTorch within 1e-4.
    """

    if onnx is not None:
        deprecated("--onnx", "--out")
        out = out or onnx
    if out is None and not install_default:
        raise typer.BadParameter("give --out OUT.onnx, --install-default, or both")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise typer.BadParameter(
            f"the ONNX exporter writes opsets {MIN_OPSET} to {MAX_OPSET}, not {opset}",
            param_hint="--opset",
        )
    if out is not None:
        if out.suffix.lower() != ".onnx":
            raise typer.BadParameter(f"{out}: the file needs the suffix .onnx", param_hint="--out")
        check_output_file(out, "--out")
    if install_default and not force:
        raise typer.BadParameter(
            f"--install-default replaces the bundled model in {ASSETS_DIR}; add --force to "
            "replace it (its files are kept in a replaced-<time> folder beside them)",
            param_hint="--install-default",
        )
    console = Console()
    if out is not None:
        report = export_checkpoint(checkpoint, out, opset=opset)
        console.print(
            f"wrote {report.path} (opset {report.opset}, {report.size}x{report.size}); "
            f"max abs difference from PyTorch: {report.max_abs_diff:.2e}",
            highlight=False,
        )
    if install_default:
        paths, backup = bundle_model(checkpoint)
        kept = f"; the replaced files are in {backup}" if backup else ""
        console.print(
            f"installed the default model: {paths.weights}, {paths.onnx}{kept}", highlight=False
        )
