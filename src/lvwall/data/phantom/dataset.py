"""Write a phantom dataset in the exact HMC-QU layout, plus the truth only a phantom has.

::

    <out>/HMC-QU/A4C/PH0001 _4CH_1.avi
    <out>/LV Ground-truth Segmentation Masks/Mask_PH0001 _4CH_1.mat
    <out>/A4C.xlsx
    <out>/phantom_truth/PH0001 _4CH_1.npz   (view, segment_names, segment_maps,
                                             segment_motion, segment_mi, volume_ml,
                                             ef_percent, strain_percent, ...)

so every HMC-QU reader, trainer and analysis runs on it unchanged
(:func:`lvwall.data.hmcqu.load_dataset` reads it back). A2C recordings (``PH0001 _2CH_1``)
go into the same folders and sheet, whose six MI columns then hold their flags by position;
only the truth file says which view a recording shows and names its segments, so
:func:`load_dataset` (the reader :func:`lvwall.data.load_labelled` picks for a phantom
folder) reads the view from there.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
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
from lvwall.data.records import (
    MODEL_SIZE,
    SEGMENT_NAMES,
    EchoRecord,
    LabelledRecording,
    check_view,
    check_views,
    segment_names,
)
from lvwall.data.video import write_video
from lvwall.errors import DataError

TRUTH_SUBDIR = Path("phantom_truth")


@dataclass(frozen=True)
class PhantomTruth:
    """What only a phantom knows about a recording, for frames Reference..End of Cycle.

    ``view`` is the apical view, ``"A4C"`` or ``"A2C"`` (``"A4C"`` in truth files written
    before lvwall simulated A2C); :attr:`segment_names` names its segments.
    ``segment_maps`` uint8 (T, 224, 224), 0 background and 1..6 in that order;
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
    view: str

    @property
    def segment_names(self) -> tuple[str, ...]:
        """The view's six segment names, in label-map order (labels 1..6)."""
        return segment_names(self.view)

    def segment_mi_dict(self) -> dict[str, bool]:
        """The MI flag of each segment, by the view's segment names."""
        return dict(zip(self.segment_names, map(bool, self.segment_mi), strict=True))


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
            view=np.array(recording.view),
            segment_names=np.array(recording.segment_names),
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
    root: Path, seed: int, index: int, view: str, fixed: Mapping[str, object]
) -> EchoRecord:
    simulation_seed = recording_seed(seed, index)
    params = draw_params(simulation_seed, **fixed, view=view)
    recording = simulate_recording(simulation_seed, params=params, echo=echo_name(index, view))
    write_recording(root, recording)
    return recording.record


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder; give a new folder for the dataset")
    if out.is_dir() and any(out.iterdir()):
        raise DataError(out, "already exists and is not empty; give a new or empty folder")


def _records(
    root: Path,
    n_recordings: int,
    seed: int,
    views: tuple[str, ...],
    workers: int,
    fixed: Mapping[str, object],
) -> Iterator[EchoRecord]:
    tasks = [(index, view) for index in range(1, n_recordings + 1) for view in views]
    if workers == 1:
        for index, view in tasks:
            yield _simulate_and_write(root, seed, index, view, fixed)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(
            _simulate_and_write,
            [root] * len(tasks),
            [seed] * len(tasks),
            [index for index, _ in tasks],
            [view for _, view in tasks],
            [fixed] * len(tasks),
        )


def write_dataset(
    out: Path,
    n_recordings: int,
    seed: int = 0,
    *,
    progress: bool = True,
    workers: int = 1,
    fixed_params: Mapping[str, object] | None = None,
    views: Sequence[str] = ("A4C",),
) -> list[EchoRecord]:
    """Simulate ``n_recordings`` patients in each of ``views`` and write them in the HMC-QU
    layout at ``out``.

    Patient ``i`` (1-based) is drawn from :func:`recording_seed` ``(seed, i)`` and named by
    :func:`echo_name` (``PH{i:04d} _4CH_1``, ``PH{i:04d} _2CH_1``), so a dataset is
    reproducible and its first recordings do not depend on how many follow. Its views share
    the seed, so they share rhythm, scanner settings and MI positions, though not one 3-D
    heart. The records come patient by patient, each patient's views in the order of
    ``views`` (any case, repeats dropped), which must not be empty. ``fixed_params`` fixes
    :class:`PhantomParams` fields for all recordings (e.g. a small ``width`` and ``height``),
    except ``view``, which ``views`` sets. ``workers`` > 1 simulates in that many processes.
    Everything is written to a temporary folder that is moved onto ``out`` at the end, so a
    failure leaves no partial dataset; ``out`` must not exist or be empty.
    """
    from rich.progress import track

    if n_recordings < 1:
        raise ValueError(f"n_recordings must be at least 1, got {n_recordings}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if isinstance(views, str):
        raise ValueError(f"views must be a sequence of view names, got the string {views!r}")
    chosen = check_views(views)
    fixed = dict(fixed_params or {})
    if "view" in fixed:
        raise ValueError("fixed_params cannot fix 'view'; give the views as views=")
    out = Path(out)
    _check_out(out)
    with atomic_dir(out) as tmp:
        records = list(
            track(
                _records(tmp, n_recordings, seed, chosen, workers, fixed),
                total=n_recordings * len(chosen),
                description="Simulating phantom",
                disable=not progress,
            )
        )
        hmcqu.write_a4c_xlsx(tmp / hmcqu.XLSX_NAME, records)
    return records


def load_truth(root: str | Path, echo: str) -> PhantomTruth:
    """Read the phantom truth of recording ``echo`` from the dataset at ``root``."""
    path = _existing_truth(root, echo)
    try:
        with np.load(path) as data:
            truth = PhantomTruth(
                segment_maps=data["segment_maps"],
                segment_motion=data["segment_motion"],
                segment_mi=data["segment_mi"].astype(bool),
                endo_displacement=data["endo_displacement"],
                function=_function_truth(data),
                view=_stored_view(data),
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


def _existing_truth(root: str | Path, echo: str) -> Path:
    path = truth_path(root, echo)
    if not path.is_file():
        raise DataError(path, f"phantom truth of recording '{echo}' not found")
    return path


def _stored_view(data: Mapping[str, np.ndarray]) -> str:
    """The view a truth file records; A4C for files from before the phantom had views."""
    return check_view(str(data["view"])) if "view" in data else "A4C"


def truth_view(root: str | Path, echo: str) -> str:
    """The view of recording ``echo`` in the phantom dataset at ``root``, read from its truth
    file without decompressing the rest of it."""
    path = _existing_truth(root, echo)
    try:
        with np.load(path) as data:
            return _stored_view(data)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(path, f"is not a readable phantom truth file ({error})") from error


def find_layout(root: str | Path) -> hmcqu.HmcquLayout:
    """The HMC-QU layout of the phantom dataset at ``root`` (or a folder around it, as
    :func:`lvwall.data.hmcqu.find_layout` allows): one with a ``phantom_truth`` folder
    beside it; :class:`DataError` otherwise."""
    layout = hmcqu.find_layout(root)
    if not (layout.root / TRUTH_SUBDIR).is_dir():
        raise DataError(layout.root, f"is HMC-QU data, not a phantom: no '{TRUTH_SUBDIR}' folder")
    return layout


def load_dataset(
    root: str | Path, size: int = MODEL_SIZE, *, progress: bool = True
) -> list[LabelledRecording]:
    """Load a phantom dataset like :func:`lvwall.data.hmcqu.load_dataset`, with each
    recording's ``view`` from its truth file and its ``meta["segment_mi"]`` keyed by that
    view's segment names (the sheet's columns hold A4C's names whatever the view)."""
    layout = find_layout(root)
    recordings = hmcqu.load_dataset(layout.root, size, progress=progress)
    loaded = []
    for recording in recordings:
        view = truth_view(layout.root, recording.name)
        flags = recording.meta["segment_mi"].values()
        meta = {**recording.meta, "segment_mi": dict(zip(segment_names(view), flags, strict=True))}
        loaded.append(replace(recording, view=view, meta=meta))
    return loaded
