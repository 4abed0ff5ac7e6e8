"""A synthetic HMC-QU-layout dataset in both views, shared by the regional-eval tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lvwall.data import EchoRecord, hmcqu
from lvwall.regional.schematic import beating_wall

#: Patients 0..5 have both views, patient 6 only A2C. A4C: still SEG12 in odd patients;
#: A2C: still SEG10 in patients 0, 3 and 6. ECHO names take HMC-QU's various spellings.
TWO_VIEW_PATIENTS = 7
A4C_MI = {1, 3, 5}
A2C_MI = {0, 3, 6}
A2C_NAMES = ("ES000{}_CH2_1", "ES000{}_2CH_2*", "ES000{} N_CH2_1")


def _a4c_echo(index: int) -> str:
    return f"ES000{index} _4CH_1"


def _a2c_echo(index: int) -> str:
    return A2C_NAMES[index % len(A2C_NAMES)].format(index)


def write_two_view_dataset(root: Path) -> Path:
    """An HMC-QU-layout dataset of synthetic walls in both views, with ground-truth masks for
    A4C only (as HMC-QU), and ``lvwall predict``-style masks of every recording in
    ``root/predictions``, which it returns."""
    layout = hmcqu.HmcquLayout(
        root, root / hmcqu.VIDEOS_SUBDIR, root / hmcqu.MASKS_SUBDIR, root / hmcqu.XLSX_NAME
    )
    layout.videos_dir.mkdir(parents=True)
    predictions = root / "predictions"
    sheets: dict[str, list[EchoRecord]] = {"A4C": [], "A2C": []}
    for index in range(TWO_VIEW_PATIENTS):
        for view, echo, still, mi_patients in (
            ("A4C", _a4c_echo(index), 4, A4C_MI),
            ("A2C", _a2c_echo(index), 1, A2C_MI),
        ):
            if view == "A4C" and index == TWO_VIEW_PATIENTS - 1:
                continue
            mi = (np.arange(6) == still) & (index in mi_patients)
            record = EchoRecord(echo, tuple(mi), 1, 3, view == "A4C", view)
            masks = beating_wall(1.0 - mi, 3)
            if view == "A4C":
                hmcqu.write_mask_mat(hmcqu.mask_path(layout, record.echo), masks)
            (predictions / record.echo.rstrip("*")).mkdir(parents=True)
            np.savez_compressed(predictions / record.echo.rstrip("*") / "masks.npz", model=masks)
            sheets[view].append(record)
    for view, records in sheets.items():
        hmcqu.write_xlsx(hmcqu.sheet_path(layout, view), records, view)
    return predictions
