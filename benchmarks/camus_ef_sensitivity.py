"""How far does EF move when the experts' endocardial border moves by a pixel, on the CAMUS
ED/ES stills of camus-2view-dev?

Run: ``.venv/bin/python benchmarks/camus_ef_sensitivity.py [--camus DIR] [--pixels 1,2]``.

The labels of camus-2view-dev are accurate to about one pixel at 224 x 224 (its README), and
the EF error of out-of-fold masks lies in where the endocardial border crosses the cavity
(``camus_ef_error.py``). This puts the two side by side. For every patient and view with
both stills, the experts' wall is moved at its inner edge only: ``+k`` pixels gives the
cavity ``k`` pixels of the wall (a cavity ``k`` pixels wider on every side), ``-k`` gives the
wall ``k`` pixels of the cavity; the outer edge stays. Each moved wall goes through ``lvwall
measure``'s border and method of discs (:func:`lvwall.measure.trace_border`), and EF is
recomputed with the border moved at end-systole only and at both phases alike. Printed per
view and shift: patients, the mean absolute change of EF and its mean (points).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from camus_ef_error import DEFAULT_CAMUS, cavity
from lvwall.benchmark import machine_facts
from lvwall.data import CAMUS_VIEWS, PHASES, STRUCTURE_LABELS, list_patients, load_patient
from lvwall.measure import ejection_fraction

#: One pixel of growth per step, along rows and columns (4-connected).
CROSS = ndimage.generate_binary_structure(2, 1)


def moved_wall(labels: np.ndarray, pixels: int) -> np.ndarray:
    """The experts' wall of one label map with its inner edge moved ``pixels`` into the wall
    (positive: the cavity grows) or into the cavity (negative: the wall grows)."""
    wall = labels == STRUCTURE_LABELS["wall"]
    cavity_mask = labels == STRUCTURE_LABELS["cavity"]
    if pixels > 0:
        return wall & ~ndimage.binary_dilation(cavity_mask, CROSS, iterations=pixels)
    if pixels < 0:
        return wall | (ndimage.binary_dilation(wall, CROSS, iterations=-pixels) & cavity_mask)
    return wall


def recording_rows(files, shifts: list[int]) -> list[dict]:
    """EF with the border moved at end-systole only and at both phases, per shift."""
    labelled = load_patient(files)
    volumes: dict[tuple[str, int], float] = {}
    for phase in PHASES:
        labels = labelled.structures[labelled.meta["phase_frames"][phase]]
        for shift in (0, *shifts):
            cut = cavity(moved_wall(labels, shift))
            volumes[phase, shift] = np.nan if cut is None else cut.volume
    if np.isnan(list(volumes.values())).any():
        return []
    reference = ejection_fraction(volumes["ED", 0], volumes["ES", 0])
    rows = []
    for shift in shifts:
        for moved, ed_shift in (("end-systole only", 0), ("both phases", shift)):
            ef = ejection_fraction(volumes["ED", ed_shift], volumes["ES", shift])
            rows.append(
                {
                    "patient": files.patient,
                    "view": CAMUS_VIEWS[files.view],
                    "shift px": shift,
                    "moved": moved,
                    "EF change": ef - reference,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=DEFAULT_CAMUS)
    parser.add_argument("--pixels", default="1,2", help="comma-separated shifts in pixels")
    args = parser.parse_args()
    started = time.perf_counter()
    steps = [int(step) for step in args.pixels.split(",")]
    shifts = sorted({sign * step for step in steps for sign in (1, -1)})
    rows = []
    for files in list_patients(args.camus):
        if set(files.phases) == set(PHASES):
            rows.extend(recording_rows(files, shifts))
    table = pd.DataFrame(rows)
    print(
        f"{table.patient.nunique()} patients in {args.camus}; {machine_facts()['cpu']}; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    summary = table.groupby(["view", "moved", "shift px"], sort=False)["EF change"].agg(
        patients="count",
        mean_absolute=lambda change: change.abs().mean(),
        mean="mean",
    )
    print(summary.round(2).to_string())


if __name__ == "__main__":
    main()
