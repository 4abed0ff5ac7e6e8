"""The files ``lvwall measure`` writes for one recording, in one folder, atomically."""

from __future__ import annotations

import shutil
from pathlib import Path

from lvwall.atomic import atomic_dir, write_text
from lvwall.errors import DataError
from lvwall.measure.figures import plot_measurements
from lvwall.measure.result import Measurements

#: The files :func:`write_measurements` writes, by what they hold.
OUTPUT_FILES: dict[str, str] = {
    "json": "measurements.json",
    "csv": "measurements.csv",
    "figure": "measurements.png",
}


def write_measurements(measurements: Measurements, out_dir: str | Path) -> dict[str, Path]:
    """Write ``measurements.json``, ``measurements.csv`` and ``measurements.png`` into
    ``out_dir``, replacing an earlier result there as a whole; returns the paths by the keys
    of :data:`OUTPUT_FILES`.

    Raises :class:`DataError` when ``out_dir`` holds files that this function did not write.
    """
    out_dir = Path(out_dir)
    if out_dir.is_file() or (
        out_dir.is_dir() and any(p.name not in OUTPUT_FILES.values() for p in out_dir.iterdir())
    ):
        raise DataError(
            out_dir, "exists and holds files lvwall did not write; choose another --out folder"
        )
    with atomic_dir(out_dir) as folder:
        write_measurement_files(measurements, folder)
        if out_dir.exists():
            shutil.rmtree(out_dir)
    return {key: out_dir / name for key, name in OUTPUT_FILES.items()}


def write_measurement_files(measurements: Measurements, folder: str | Path) -> dict[str, Path]:
    """Write the three files of :data:`OUTPUT_FILES` into ``folder`` beside what it holds
    (``lvwall regional`` adds them to its own), each atomically; returns their paths."""
    folder = Path(folder)
    paths = {key: folder / name for key, name in OUTPUT_FILES.items()}
    write_text(paths["json"], measurements.json_text())
    write_text(paths["csv"], measurements.csv_text())
    plot_measurements(measurements, paths["figure"], title=measurements.name)
    return paths
