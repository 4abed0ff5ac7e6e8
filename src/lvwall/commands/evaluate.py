"""``lvwall evaluate``: score a trained model on labelled recordings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from lvwall.atomic import check_output_dir
from lvwall.commands._options import out_option, seed_option, view_option
from lvwall.data import kfold, load_labelled, select_recordings
from lvwall.errors import DataError, LvwallError
from lvwall.experiment import EvaluationResult, evaluate_model
from lvwall.model import is_bundled, load_model
from lvwall.quality import FAIL_BELOW, UNCALIBRATED_NOTE

#: Column titles of the printed table, by metric name.
TITLES: dict[str, str] = {
    "dice": "Dice",
    "iou": "IoU",
    "accuracy": "Acc",
    "precision": "Prec",
    "recall": "Rec",
    "f1": "F1",
    "specificity": "Spec",
    "hd95": "HD95",
    "assd": "ASSD",
    "hd95_mm": "HD95mm",
    "assd_mm": "ASSDmm",
}
CAPTION = (
    "Per recording: means over its frames. Macro: mean over recordings; micro: from pixels "
    "pooled over all frames. Acc accuracy, Prec precision, Rec recall (sensitivity), Spec "
    "specificity; HD95 and ASSD in pixels (mm where named)."
)
DISTANCES = frozenset({"hd95", "assd", "hd95_mm", "assd_mm"})


def command(
    checkpoint: Path = typer.Argument(
        ..., help="A run's best.ckpt or last.ckpt, or a model file from lvwall."
    ),
    data: list[Path] = typer.Option(
        ..., "--data", help="Dataset folder (HMC-QU layout, phantom or CAMUS); repeat to mix."
    ),
    views: list[str] = view_option("Views to score"),
    fold: int = typer.Option(
        None, "--fold", help="Score only the validation recordings of this fold (default: all)."
    ),
    folds: int = typer.Option(
        None, "--folds", help="Number of folds (default: the run's, else 5)."
    ),
    seed: int = seed_option("the split (default: the run's, else 0)", default=None),
    threshold: float = typer.Option(
        None, "--threshold", help="Wall probability threshold (default: the model's, 0.5)."
    ),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Frames per forward pass."),
    out: Path = out_option(
        "Write metrics.csv, metrics.json and quality.csv (per frame: Dice, quality score, "
        "flags) into this folder.",
        required=False,
    ),
) -> None:
    """Score a model on labelled recordings: Dice, IoU, accuracy, precision, recall, F1,
    specificity, HD95 and ASSD, per recording and overall (macro and micro), and how well
    the per-frame quality score of `lvwall predict` predicts the real Dice (mean absolute
    error, Spearman, AUROC for Dice below 0.75).

    With --fold, the recordings are split patient-wise exactly as `lvwall train` splits them
    (same --folds and --seed) and only that fold's validation recordings are scored.
    """

    if out is not None:
        check_output_dir(out)  # before the evaluation, so that a typo does not cost it
    for path in data:
        if not path.exists():
            raise DataError(path, "does not exist")
    model, meta = load_model(checkpoint)
    trained_with = meta.get("train_config") or {}
    folds = folds if folds is not None else trained_with.get("folds", 5)
    seed = seed if seed is not None else trained_with.get("seed", 0)
    threshold = threshold if threshold is not None else meta["threshold"]
    if not 0.0 < threshold < 1.0:
        raise LvwallError(f"--threshold must lie strictly between 0 and 1, got {threshold}")
    if fold is not None and not 0 <= fold < folds:
        raise LvwallError(f"--fold must be in 0..{folds - 1}, got {fold}")
    try:
        recordings = load_labelled(
            data, size=meta["image_size"], progress=True, views=views or None
        )
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--view") from None
    if fold is not None:
        try:
            _, val_idx = kfold(recordings, k=folds, seed=seed)[fold]
        except ValueError as error:
            raise LvwallError(f"cannot split the recordings patient-wise: {error}") from None
        recordings = select_recordings(recordings, val_idx)
    result = evaluate_model(
        model, recordings, threshold=threshold, batch_size=batch_size, progress=True
    )
    console = Console()
    print_metrics(console, result, title=f"{checkpoint.name}: {len(recordings)} recordings")
    console.print(quality_line(result), highlight=False, soft_wrap=True)
    if result.quality is not None and not is_bundled(checkpoint):
        console.print(f"note: {UNCALIBRATED_NOTE}", highlight=False, soft_wrap=True)
    if out is not None:
        csv_path, json_path = result.save(
            out,
            checkpoint=checkpoint.resolve(),
            data=[path.resolve() for path in data],
            fold=fold,
            folds=folds,
            seed=seed,
        )
        console.print(f"wrote {csv_path} and {json_path}", highlight=False, soft_wrap=True)


#: Below this Spearman correlation with the real Dice, the quality score is said to rank the
#: frames poorly for the model evaluated.
POOR_RANKING = 0.3


def quality_line(result: EvaluationResult) -> str:
    """How well the quality score of ``lvwall predict`` predicts each frame's real Dice, and a
    plain warning when it ranks the frames poorly (it was fitted for the bundled model)."""
    agreement = result.quality
    if agreement is None:
        return "quality not checked"
    line = (
        f"quality score against the real Dice over {agreement['n']} frames: mean absolute "
        f"error {agreement['mae']:.3f}, Spearman {agreement['spearman']:.3f}, AUROC "
        f"{agreement['auroc']:.3f} for detecting the {agreement['n_failed']} frames with Dice "
        f"below {FAIL_BELOW}"
    )
    if not agreement["spearman"] >= POOR_RANKING:
        line += (
            f"\nwarning: the quality score ranks these frames poorly (Spearman below "
            f"{POOR_RANKING}): judge frames by their flags and by eye"
        )
    return line


def print_metrics(console: Console, result: EvaluationResult, title: str) -> None:
    """The metrics table where the console is wide enough for it whole; otherwise one plain
    line per recording, so that no number is cut (an 80-column terminal, a log)."""
    table = metrics_table(result, title)
    # Measured unbounded: a measurement within the console's width is clamped to it.
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    names = [name for name in TITLES if name in result.macro]
    rows = result.metrics.recordings
    console.print(title, highlight=False, soft_wrap=True)
    for recording, row in rows.iterrows():
        line = f"{recording}: {int(row['n_frames'])} frames, {_named_cells(row, names)}"
        console.print(escape(line), highlight=False, soft_wrap=True)
    n_frames = int(rows["n_frames"].sum())
    for label, values in (("macro", result.macro), ("micro", result.micro)):
        line = f"{label} ({n_frames} frames): {_named_cells(values, names)}"
        console.print(line, highlight=False, soft_wrap=True)
    console.print(CAPTION, highlight=False, soft_wrap=True)


def _named_cells(values: Mapping[str, float], names: list[str]) -> str:
    return ", ".join(
        f"{TITLES[name]} {cell}" for name, cell in zip(names, _cells(values, names), strict=True)
    )


def metrics_table(result: EvaluationResult, title: str = "") -> Table:
    """Every metric per recording (means over frames), then the macro and micro rows."""

    names = [name for name in TITLES if name in result.macro]
    table = Table(title=title, caption=CAPTION)
    table.add_column("Recording")
    table.add_column("Frames", justify="right")
    for name in names:
        table.add_column(TITLES[name], justify="right")
    rows = result.metrics.recordings
    for recording, row in rows.iterrows():
        table.add_row(str(recording), str(int(row["n_frames"])), *_cells(row, names))
    n_frames = str(int(rows["n_frames"].sum()))
    table.add_section()
    table.add_row("[bold]macro[/]", n_frames, *_cells(result.macro, names))
    table.add_row("[bold]micro[/]", n_frames, *_cells(result.micro, names))
    return table


def _cells(values: Mapping[str, float], names: list[str]) -> list[str]:
    cells = []
    for name in names:
        value = float(values[name])
        if math.isnan(value):
            cells.append("-")
        else:
            cells.append(f"{value:.2f}" if name in DISTANCES else f"{value:.3f}")
    return cells
