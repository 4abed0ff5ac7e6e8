"""``lvwall regional-eval``: how well the segment split and the hypokinesia flags do."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from lvwall.atomic import check_output_dir, write_text
from lvwall.commands._options import out_option, seed_option
from lvwall.commands.regional import SeptalSide
from lvwall.regional import SCORES, DatasetEvaluation, Thresholds, evaluate_dataset

#: Column headers of the printed MI table, short enough for an 80-column terminal.
SHORT_HEADERS: dict[str, str] = {
    "sensitivity": "sens",
    "specificity": "spec",
    "precision": "prec",
    "f1": "F1",
    "n_positive": "MI",
    "n_negative": "non-MI",
    "threshold": "threshold",
}

#: The thresholds file of each view (one view per file, for ``lvwall regional --thresholds``).
THRESHOLDS_FILES: dict[str, str] = {"A4C": "thresholds.json", "A2C": "thresholds_a2c.json"}


def command(
    dataset: Path = typer.Argument(
        ...,
        help="A dataset in the HMC-QU layout: `lvwall simulate` output or HMC-QU itself.",
        show_default=False,
    ),
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        help="`lvwall predict` output for the dataset's videos (OUT/<ECHO>/masks.npz; predict "
        "HMC-QU/A4C and HMC-QU/A2C into one OUT to evaluate both views); default: the "
        "dataset's ground-truth masks (A4C only in HMC-QU).",
    ),
    septal_side: SeptalSide = typer.Option(
        SeptalSide.left,
        "--septal-side",
        help="Image side of each view's first wall: the septum in A4C, the inferior wall in A2C.",
    ),
    score: str = typer.Option(
        "combined",
        "--score",
        help="Motion score per segment: combined, displacement, inward or thickening.",
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Patient-wise cross-validation folds."),
    seed: int = seed_option("the fold split"),
    out: Path | None = out_option(
        "Write split_dice.csv, mi_segments.csv, summary.txt and thresholds.json (A4C; for "
        "`lvwall regional --thresholds`) into this folder; with A2C also thresholds_a2c.json "
        "and mi_patients.csv.",
        required=False,
    ),
) -> None:
    """Evaluate the regional analysis on labelled recordings.

    On a phantom, the six-segment split is compared with the phantom's own segment maps
    (Dice per segment). On any dataset, hypokinesia thresholds are learned per view and
    segment by patient-wise cross-validation against the per-segment MI labels of A4C.xlsx
    and, when it lies beside it, A2C.xlsx, and sensitivity, specificity, precision and F1
    are reported per segment and per recording, beside the published HMC-QU A4C figures.
    With both views, each patient's A4C and A2C recordings are paired by the patient ID of
    their ECHO names and judged on all twelve segments: MI when any of them is. HMC-QU has
    no A2C masks, so its A2C recordings need --predictions.
    """

    if out is not None:
        check_output_dir(out)
    if score not in SCORES:
        raise typer.BadParameter(f"unknown score {score!r}; choose one of {sorted(SCORES)}")
    console = Console()
    evaluation = evaluate_dataset(
        dataset,
        predictions=predictions,
        septal_side=septal_side.value,
        score=score,
        n_splits=folds,
        seed=seed,
        progress=lambda records: track(
            records, description="Analysing recordings", console=Console(stderr=True)
        ),
    )
    if not evaluation.split_dice.empty:
        console.print(
            _rich_table(
                evaluation.dice_summary(),
                f"Split Dice against the phantom's segment maps "
                f"({len(evaluation.split_dice)} recordings)",
            )
        )
    patients = evaluation.patients
    mi_table = evaluation.mi.table() if patients is None else patients.table()
    shown = mi_table.rename(columns=SHORT_HEADERS).rename(index=_short_row)
    console.print(_rich_table(shown, f"Hypokinesia flags (out-of-fold), {_views(evaluation)}"))
    summary = evaluation.mi.summary() if patients is None else patients.summary()
    console.print(summary, highlight=False, soft_wrap=True)
    for failure in evaluation.failures:
        console.print(f"[yellow]skipped:[/] {failure}", highlight=False, soft_wrap=True)
    for note in evaluation.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if out is not None:
        write_text(out / "split_dice.csv", evaluation.split_dice.to_csv(index=False))
        write_text(out / "mi_segments.csv", mi_table.to_csv(index_label="segment"))
        write_text(out / "summary.txt", summary + "\n")
        if patients is not None:
            write_text(out / "mi_patients.csv", patients.patients().to_csv())
        for view, mi in evaluation.views.items():
            Thresholds.from_evaluation(mi).save(out / THRESHOLDS_FILES[view])
        console.print(f"results: {out}", highlight=False)


def _views(evaluation: DatasetEvaluation) -> str:
    """``A4C (109 recordings)`` or ``A4C (109 recordings) and A2C (160 recordings)``."""
    return " and ".join(
        f"{view} ({len(mi.truth)} recordings)" for view, mi in evaluation.views.items()
    )


def _short_row(label: str) -> str:
    """A row label without its parenthesis: ``A2C recording (any segment)``: ``A2C
    recording``."""
    return re.sub(r" \(any .*\)$", "", label)


def _rich_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    table.add_column("")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    # Object dtype keeps integer counts from being shown as floats.
    for index, row in frame.astype(object).iterrows():
        table.add_row(str(index), *[_format(value) for value in row])
    return table


def _format(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"
    return str(value)
