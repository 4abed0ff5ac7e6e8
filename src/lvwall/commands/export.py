"""``lvwall export``: a trained model to ONNX, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import typer


def command(
    checkpoint: Path = typer.Argument(
        ..., help="A trained model: Lightning .ckpt or lvwall .safetensors.", show_default=False
    ),
    onnx: Path | None = typer.Option(None, "--onnx", help="Where to write the ONNX model."),
    opset: int = typer.Option(17, min=13, help="ONNX operator set version."),
    install_default: bool = typer.Option(
        False,
        "--install-default",
        help="Also install the model (safetensors + ONNX) as the bundled default of `lvwall "
        "predict`.",
    ),
) -> None:
    """Export a trained model to ONNX and print how closely ONNX Runtime matches PyTorch.

    The ONNX model takes grey frames (batch, 1, size, size) in [0, 1] at the model's training
    size (224 for HMC-QU) and returns wall probabilities; it is written only if it matches
    PyTorch within 1e-4.
    """
    from rich.console import Console

    from lvwall.export import export_checkpoint

    if onnx is None and not install_default:
        raise typer.BadParameter("give --onnx OUT.onnx, --install-default, or both")
    console = Console()
    if onnx is not None:
        report = export_checkpoint(checkpoint, onnx, opset=opset)
        console.print(
            f"wrote {report.path} (opset {report.opset}, {report.size}x{report.size}); "
            f"max abs difference from PyTorch: {report.max_abs_diff:.2e}",
            highlight=False,
        )
    if install_default:
        from lvwall.bundled import bundle_model

        paths = bundle_model(checkpoint)
        console.print(
            f"installed the default model: {paths.weights}, {paths.onnx}", highlight=False
        )
