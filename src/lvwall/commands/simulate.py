"""``lvwall simulate``: write a synthetic A4C echo dataset in the HMC-QU layout."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_dir
from lvwall.commands._options import seed_option, workers_option
from lvwall.data import SEGMENT_NAMES, EchoRecord, write_dataset


def summarise(out: Path, records: Sequence[EchoRecord]) -> str:
    """One line: how many recordings, how many MI, and which segments carry the MI."""

    n_mi = sum(record.mi for record in records)
    per_segment = [
        f"{name} {sum(record.segment_mi[k] for record in records)}"
        for k, name in enumerate(SEGMENT_NAMES)
    ]
    where = f" (MI segments: {', '.join(per_segment)})" if n_mi else ""
    return (
        f"Wrote {len(records)} recordings to {out}: {n_mi} MI, {len(records) - n_mi} non-MI{where}."
    )


def command(
    out: Path = typer.Argument(..., help="Dataset folder to create (must not exist, or be empty)."),
    recordings: int = typer.Option(20, "--recordings", "-n", min=1, help="How many recordings."),
    seed: int = seed_option("the simulation; the same seed gives the same data"),
    width: int = typer.Option(636, "--width", min=32, help="Video width in pixels (HMC-QU: 636)."),
    height: int = typer.Option(422, "--height", min=32, help="Video height (HMC-QU: 422)."),
    workers: int = workers_option("Simulate in this many processes (0: one per CPU core).", 0),
) -> None:
    """Simulate a synthetic apical-4-chamber echo dataset with known ground truth.

    Writes OUT/HMC-QU/A4C/<ECHO>.avi, 'OUT/LV Ground-truth Segmentation Masks/Mask_<ECHO>.mat'
    and OUT/A4C.xlsx exactly as HMC-QU ships them, plus OUT/phantom_truth/<ECHO>.npz with the
    per-segment label maps and motion and the true cavity areas, volumes, lengths, EF, GLS and
    segmental strain, so every HMC-QU command runs on it unchanged. About 45 % of recordings
    are non-MI; the others have hypokinetic runs of adjacent segments.
    """

    check_output_dir(out, "OUT")
    records = write_dataset(
        out,
        recordings,
        seed,
        progress=True,
        workers=workers or os.cpu_count() or 1,
        fixed_params={"width": width, "height": height},
    )
    Console().print(summarise(out, records), highlight=False, soft_wrap=True)
