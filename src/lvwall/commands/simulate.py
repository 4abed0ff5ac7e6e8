"""``lvwall simulate``: write a synthetic A4C and/or A2C echo dataset in the HMC-QU layout."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.console import Console

from lvwall.atomic import check_output_dir
from lvwall.commands._options import seed_option, workers_option
from lvwall.data import VIEWS, EchoRecord, check_view, segment_names, write_dataset

#: What ``--view both`` stands for.
_BOTH = "BOTH"


def _check_view_option(value: str) -> str:
    """``--view`` upper-cased: a view of :data:`VIEWS` or ``BOTH``; a usage error otherwise."""
    if value.upper() == _BOTH:
        return _BOTH
    try:
        return check_view(value)
    except ValueError:
        raise typer.BadParameter(f"must be a4c, a2c or both (any case), got {value!r}") from None


def _view_summary(records: Sequence[EchoRecord], view: str) -> str:
    """How many of ``records`` (all of ``view``) are MI, and which segments carry the MI."""
    n_mi = sum(record.mi for record in records)
    per_segment = [
        f"{name} {sum(record.segment_mi[k] for record in records)}"
        for k, name in enumerate(segment_names(view))
    ]
    where = f" (MI segments: {', '.join(per_segment)})" if n_mi else ""
    return f"{n_mi} MI, {len(records) - n_mi} non-MI{where}"


def summarise(out: Path, records: Sequence[EchoRecord], views: Sequence[str]) -> str:
    """One line per dataset: how many recordings of which views, how many MI, and which
    segments carry the MI. ``records`` come as :func:`lvwall.data.write_dataset` returns
    them: patient by patient, each patient's ``views`` in order."""
    if len(views) == 1:
        (view,) = views
        summary = _view_summary(records, view)
        return f"Wrote {len(records)} {view} recordings to {out}: {summary}."
    n_patients = len(records) // len(views)
    parts = [
        f"{view}: {_view_summary(records[k :: len(views)], view)}" for k, view in enumerate(views)
    ]
    return (
        f"Wrote {len(records)} recordings to {out}, {n_patients} patients in "
        f"{' and '.join(views)}. {'. '.join(parts)}."
    )


def command(
    out: Path = typer.Argument(..., help="Dataset folder to create (must not exist, or be empty)."),
    recordings: int = typer.Option(
        20, "--recordings", "-n", min=1, help="How many recordings (patients, with --view both)."
    ),
    seed: int = seed_option("the simulation; the same seed gives the same data"),
    width: int = typer.Option(636, "--width", min=32, help="Video width in pixels (HMC-QU: 636)."),
    height: int = typer.Option(422, "--height", min=32, help="Video height (HMC-QU: 422)."),
    view: str = typer.Option(
        "A4C",
        "--view",
        callback=_check_view_option,
        help="The apical view to simulate, a4c, a2c or both (any case); both gives every "
        "patient an A4C and an A2C recording.",
    ),
    workers: int = workers_option("Simulate in this many processes (0: one per CPU core).", 0),
) -> None:
    """Simulate a synthetic apical echo dataset (A4C, A2C or both) with known ground truth.

    Writes OUT/HMC-QU/A4C/<ECHO>.avi, 'OUT/LV Ground-truth Segmentation Masks/Mask_<ECHO>.mat'
    and OUT/A4C.xlsx exactly as HMC-QU ships them, plus OUT/phantom_truth/<ECHO>.npz with the
    view, the per-segment label maps and motion and the true cavity areas, volumes, lengths,
    EF, GLS and segmental strain, so every HMC-QU command runs on it unchanged. A2C
    recordings (named PH0001 _2CH_1) show the LV and left atrium only, inferior wall on the
    left; they share those folders and the sheet, whose six MI columns then hold the A2C
    segments by position, and the dataset readers take their view from the truth files.
    About 45 % of recordings are non-MI; the others have hypokinetic runs of adjacent
    segments.
    """

    check_output_dir(out, "OUT")
    views = VIEWS if view == _BOTH else (view,)
    records = write_dataset(
        out,
        recordings,
        seed,
        progress=True,
        workers=workers or os.cpu_count() or 1,
        fixed_params={"width": width, "height": height},
        views=views,
    )
    Console().print(summarise(out, records, views), highlight=False, soft_wrap=True)
