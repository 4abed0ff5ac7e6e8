"""Which reader reads which folder: HMC-QU, the phantom (HMC-QU's layout plus its truth) or
CAMUS."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lvwall.data import camus, hmcqu
from lvwall.data.phantom import dataset as phantom
from lvwall.data.records import MODEL_SIZE, LabelledRecording, check_views
from lvwall.errors import DataError

#: Dataset readers by format name; each is called as ``reader(path, size, progress=...)``.
DATASET_READERS: dict[str, Callable[..., list[LabelledRecording]]] = {
    "hmcqu": hmcqu.load_dataset,
    "phantom": phantom.load_dataset,
    "camus": camus.load_dataset,
}

#: How each format is recognised, tried in this order. CAMUS first: its test looks only at
#: the folder itself, while HMC-QU's also accepts the parent and sub-folders of the path. The
#: phantom before HMC-QU: its layout is HMC-QU's, and its truth files know each recording's
#: view, which HMC-QU's A4C.xlsx does not.
_LAYOUT_FINDERS: dict[str, Callable[[Path], object]] = {
    "camus": camus.find_layout,
    "phantom": phantom.find_layout,
    "hmcqu": hmcqu.find_layout,
}


def detect_format(path: str | Path) -> str:
    """The name in :data:`DATASET_READERS` of the dataset at ``path``.

    CAMUS: ``manifest.csv`` with ``images/`` and ``masks/``, or ``patientNNNN/`` folders;
    phantom: HMC-QU's layout with a ``phantom_truth/`` folder beside it (``lvwall simulate``);
    HMC-QU: ``HMC-QU/A4C/``, ``LV Ground-truth Segmentation Masks/`` and ``A4C.xlsx``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(path, "dataset folder not found")
    if not path.is_dir():
        raise DataError(path, "is a file; give the dataset folder that holds it")
    for name, find_layout in _LAYOUT_FINDERS.items():
        try:
            find_layout(path)
        except DataError:
            continue
        return name
    raise DataError(
        path,
        "no known dataset layout: expected HMC-QU (HMC-QU/A4C/, 'LV Ground-truth Segmentation "
        "Masks/', A4C.xlsx), CAMUS PNG (manifest.csv, images/, masks/) or CAMUS "
        "(patientNNNN/ folders)",
    )


def load_labelled(
    paths: Sequence[str | Path],
    size: int = MODEL_SIZE,
    progress: bool = True,
    views: Sequence[str] | None = None,
) -> list[LabelledRecording]:
    """Read every folder in ``paths`` with the reader its layout calls for, in order.

    Folders of different formats may be mixed; recordings keep their ``source``. A recording
    name that an earlier folder already gave (another copy of the same patient's view, e.g.
    ``camus-a4c-dev`` beside ``camus-2view-dev``) gets the folder's name appended
    (``patient0001_4CH@camus-a4c-dev``), since results are keyed by name; its patient ID
    stays, so patient-wise splits keep both copies on one side. ``views`` keeps only the
    recordings of those views (:data:`lvwall.data.records.VIEWS`; all when ``None``).
    """
    if isinstance(paths, str | Path):
        raise ValueError(f"paths must be a sequence of folders, got the single path {paths!r}")
    if not paths:
        raise ValueError("paths is empty; give at least one dataset folder")
    wanted = check_views(views)
    recordings: list[LabelledRecording] = []
    origin: dict[str, Path] = {}
    read: set[Path] = set()
    for path in (Path(item).expanduser() for item in paths):
        if path.resolve() in read:
            raise DataError(path, "is given twice; name each dataset folder once")
        read.add(path.resolve())
        reader = DATASET_READERS[detect_format(path)]
        for recording in reader(path, size, progress=progress):
            if recording.name in origin:
                recording.name = f"{recording.name}@{path.name}"
            if recording.name in origin:
                raise DataError(
                    path,
                    f"holds recording '{recording.name}', which was already read from "
                    f"{origin[recording.name]}",
                )
            origin[recording.name] = path
            recordings.append(recording)
    chosen = [recording for recording in recordings if recording.view in wanted]
    if recordings and not chosen:
        found = sorted({recording.view for recording in recordings})
        raise DataError(
            Path(paths[0]),
            f"holds no {' or '.join(wanted)} recordings (views found: {', '.join(found)})",
        )
    return chosen
