"""The files ``lvwall measure`` writes for one recording or one two-view exam, in one folder,
atomically."""

from __future__ import annotations

from pathlib import Path

from lvwall.atomic import atomic_dir, write_text
from lvwall.errors import DataError
from lvwall.measure.exam import ExamMeasurements
from lvwall.measure.exam_figure import plot_exam
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
    with atomic_dir(out_dir, replace=True) as folder:
        write_measurement_files(measurements, folder)
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


#: The files :func:`write_exam` writes for the exam itself; each view's own files go to a
#: subfolder named after the view.
EXAM_FILES: dict[str, str] = {
    "json": "exam.json",
    "segments": "segments.csv",
    "figure": "exam.png",
}


def write_exam(exam: ExamMeasurements, out_dir: str | Path) -> dict[str, Path]:
    """Write ``exam.json``, ``segments.csv`` and ``exam.png`` into ``out_dir`` and each
    view's measurements into ``out_dir/A4C`` and ``out_dir/A2C``, replacing an earlier
    result there as a whole; returns the exam's paths by the keys of :data:`EXAM_FILES`.

    Raises :class:`DataError` when ``out_dir`` holds files that this function did not write.
    """
    out_dir = Path(out_dir)
    ours = {*EXAM_FILES.values(), *exam.views}
    if out_dir.is_file() or (
        out_dir.is_dir() and any(p.name not in ours for p in out_dir.iterdir())
    ):
        raise DataError(
            out_dir, "exists and holds files lvwall did not write; choose another --out folder"
        )
    with atomic_dir(out_dir, replace=True) as folder:
        paths = {key: folder / name for key, name in EXAM_FILES.items()}
        write_text(paths["json"], exam.json_text())
        write_text(paths["segments"], exam.segments().to_csv(index=False, float_format="%.4f"))
        plot_exam(exam, paths["figure"])
        for view, measurements in exam.views.items():
            (folder / view).mkdir()
            write_measurement_files(measurements, folder / view)
    return {key: out_dir / name for key, name in EXAM_FILES.items()}
