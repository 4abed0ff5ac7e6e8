"""Write a phantom dataset in the exact HMC-QU layout, plus the truth only a phantom has.

::

    <out>/HMC-QU/A4C/PH0001 _4CH_1.avi
    <out>/LV Ground-truth Segmentation Masks/Mask_PH0001 _4CH_1.mat
    <out>/A4C.xlsx
    <out>/phantom_truth/PH0001 _4CH_1.npz   (segment_maps, segment_motion, segment_mi,
                                             volume_ml, ef_percent, strain_percent, ...)

so every HMC-QU reader, trainer and analysis runs on it unchanged
(:func:`lvwall.data.hmcqu.load_dataset` reads it back).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from lvwall.atomic import atomic_dir, atomic_path
from lvwall.data import hmcqu
from lvwall.data.phantom.function import FunctionTruth
from lvwall.data.phantom.recording import (
    PhantomRecording,
    draw_params,
    echo_name,
    simulate_recording,
)
from lvwall.data.records import SEGMENT_NAMES, EchoRecord
from lvwall.data.video import write_video
from lvwall.errors import DataError

TRUTH_SUBDIR = Path("phantom_truth")


@dataclass(frozen=True)
class PhantomTruth:
    """What only a phantom knows about a recording, for frames Reference..End of Cycle.

    ``segment_maps`` uint8 (T, 224, 224), 0 background and 1..6 in SEGMENT_NAMES order;
    ``segment_motion`` (6,) motion amplitude per segment (1 normal, <= 0.3 hypokinetic);
    ``segment_mi`` (6,) bool; ``endo_displacement`` (T, 6) mean endocardial displacement of
    each segment from end-diastole, mm; ``function`` the true cavity areas, volumes, lengths,
    EF and strain (:class:`~lvwall.data.phantom.function.FunctionTruth`), ``None`` in truth
    files written before lvwall knew them.
    """

    segment_maps: np.ndarray
    segment_motion: np.ndarray
    segment_mi: np.ndarray
    endo_displacement: np.ndarray
    function: FunctionTruth | None


def recording_seed(seed: int, index: int) -> int:
    """The simulation seed of recording ``index`` of a dataset drawn with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _layout(root: Path) -> hmcqu.HmcquLayout:
    return hmcqu.HmcquLayout(
        root, root / hmcqu.VIDEOS_SUBDIR, root / hmcqu.MASKS_SUBDIR, root / hmcqu.XLSX_NAME
    )


def truth_path(root: str | Path, echo: str) -> Path:
    return Path(root) / TRUTH_SUBDIR / f"{echo}.npz"


def _write_truth(path: Path, recording: PhantomRecording) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.savez_compressed(
            file,
            segment_maps=recording.segment_maps,
            segment_motion=recording.segment_motion,
            segment_mi=np.asarray(recording.record.segment_mi, bool),
            endo_displacement=recording.endo_displacement,
            **recording.function.arrays(),
        )


def write_recording(root: str | Path, recording: PhantomRecording) -> None:
    """Write one recording's video, mask file and truth file under dataset ``root``."""
    layout = _layout(Path(root))
    write_video(hmcqu.video_path(layout, recording.echo), recording.video, recording.params.fps)
    hmcqu.write_mask_mat(hmcqu.mask_path(layout, recording.echo), recording.masks)
    _write_truth(truth_path(root, recording.echo), recording)


def _simulate_and_write(
    root: Path, seed: int, index: int, fixed: Mapping[str, object]
) -> EchoRecord:
    simulation_seed = recording_seed(seed, index)
    params = draw_params(simulation_seed, **fixed)
    recording = simulate_recording(simulation_seed, params=params, echo=echo_name(index))
    write_recording(root, recording)
    return recording.record


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder; give a new folder for the dataset")
    if out.is_dir() and any(out.iterdir()):
        raise DataError(out, "already exists and is not empty; give a new or empty folder")


def _records(
    root: Path, n_recordings: int, seed: int, workers: int, fixed: Mapping[str, object]
) -> Iterator[EchoRecord]:
    indices = range(1, n_recordings + 1)
    if workers == 1:
        for index in indices:
            yield _simulate_and_write(root, seed, index, fixed)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(
            _simulate_and_write,
            [root] * n_recordings,
            [seed] * n_recordings,
            indices,
            [fixed] * n_recordings,
        )


def write_dataset(
    out: Path,
    n_recordings: int,
    seed: int = 0,
    *,
    progress: bool = True,
    workers: int = 1,
    fixed_params: Mapping[str, object] | None = None,
) -> list[EchoRecord]:
    """Simulate ``n_recordings`` recordings and write them in the HMC-QU layout at ``out``.

    Recording ``i`` (1-based) is named ``PH{i:04d} _4CH_1`` and drawn from
    :func:`recording_seed` ``(seed, i)``, so a dataset is reproducible and its first
    recordings do not depend on how many follow. ``fixed_params`` fixes
    :class:`PhantomParams` fields for all recordings (e.g. a small ``width`` and ``height``).
    ``workers`` > 1 simulates in that many processes. Everything is written to a temporary
    folder that is moved onto ``out`` at the end, so a failure leaves no partial dataset;
    ``out`` must not exist or be empty.
    """
    from rich.progress import track

    if n_recordings < 1:
        raise ValueError(f"n_recordings must be at least 1, got {n_recordings}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    out = Path(out)
    _check_out(out)
    fixed = dict(fixed_params or {})
    with atomic_dir(out) as tmp:
        records = list(
            track(
                _records(tmp, n_recordings, seed, workers, fixed),
                total=n_recordings,
                description="Simulating phantom",
                disable=not progress,
            )
        )
        hmcqu.write_a4c_xlsx(tmp / hmcqu.XLSX_NAME, records)
    return records


def load_truth(root: str | Path, echo: str) -> PhantomTruth:
    """Read the phantom truth of recording ``echo`` from the dataset at ``root``."""
    path = truth_path(root, echo)
    if not path.is_file():
        raise DataError(path, f"phantom truth of recording '{echo}' not found")
    try:
        with np.load(path) as data:
            truth = PhantomTruth(
                segment_maps=data["segment_maps"],
                segment_motion=data["segment_motion"],
                segment_mi=data["segment_mi"].astype(bool),
                endo_displacement=data["endo_displacement"],
                function=_function_truth(data),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise DataError(path, f"is not a readable phantom truth file ({error})") from error
    if truth.segment_motion.shape != (len(SEGMENT_NAMES),) or truth.segment_maps.ndim != 3:
        raise DataError(path, "holds arrays of the wrong shape for phantom truth")
    return truth


def _function_truth(data: Mapping[str, np.ndarray]) -> FunctionTruth | None:
    names = [field.name for field in fields(FunctionTruth)]
    if not all(name in data for name in names):
        return None
    values = {name: data[name] for name in names}
    for name in ("ef_percent", "gls_percent"):
        values[name] = float(values[name])
    values["es_index"] = int(values["es_index"])
    return FunctionTruth(**values)
