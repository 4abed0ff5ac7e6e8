"""Read CAMUS apical-4- and 2-chamber frames and their LV-wall masks, in either of two layouts.

CAMUS (Leclerc et al., "Deep Learning for Segmentation using an Open Large-Scale Dataset in
2D Echocardiography", IEEE TMI 38(9):2198-2210, 2019) labels 0 background, 1 LV cavity,
2 myocardium (the LV wall) and 3 left atrium; the reader keeps label 2 as a binary mask and
all four as the recording's ``structures``.
Each view of a patient is one recording, named ``patientNNNN_4CH`` or ``patientNNNN_2CH``;
both share the patient ID, so that splits keep a patient's views together.

``png`` layout (the project's development sets)::

    <root>/manifest.csv          patient, view, phase, image, mask[, wall_pixels, ...]
    <root>/images/patientNNNN_{4CH,2CH}_{ED,ES}.png
    <root>/masks/patientNNNN_{4CH,2CH}_{ED,ES}.png

(a manifest without a ``view`` column lists 4CH frames only).

``original`` layout (the CAMUS download, MetaImage or NIfTI, read with SimpleITK)::

    <root>/patientNNNN/patientNNNN_{4CH,2CH}_{ED,ES}[_gt].{mhd,nii.gz}
    <root>/patientNNNN/patientNNNN_{4CH,2CH}_half_sequence[_gt].{mhd,nii.gz}
    <root>/patientNNNN/Info_{4CH,2CH}.cfg     (optional: ED, ES, ImageQuality, ...)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lvwall.data.preprocess import resize, to_grey
from lvwall.data.records import MODEL_SIZE, STRUCTURE_LABELS, LabelledRecording
from lvwall.errors import DataError

WALL_LABEL: int = STRUCTURE_LABELS["wall"]
#: CAMUS's name of each view, and lvwall's (:data:`lvwall.data.records.VIEWS`).
CAMUS_VIEWS: dict[str, str] = {"4CH": "A4C", "2CH": "A2C"}
#: The view of a manifest without a ``view`` column.
DEFAULT_VIEW: str = "4CH"
PHASES: tuple[str, ...] = ("ED", "ES")
MANIFEST_NAME: str = "manifest.csv"
MANIFEST_COLUMNS: tuple[str, ...] = ("patient", "phase", "image", "mask")
ITK_SUFFIXES: tuple[str, ...] = (".nii.gz", ".mhd")
PATIENT_PATTERN = re.compile(r"patient\d{4}")
#: The file part (and pseudo-phase) of CAMUS sequences, which run from ED to ES.
HALF_SEQUENCE: str = "half_sequence"


@dataclass(frozen=True)
class PatientFiles:
    """The image and mask files that make up one patient's recording."""

    patient: str
    view: str
    phases: tuple[str, ...]
    images: tuple[Path, ...]
    masks: tuple[Path, ...]
    info: Path | None = None


# ---------------------------------------------------------------------------------------------
# Layout


def _is_png_layout(root: Path) -> bool:
    return (root / MANIFEST_NAME).is_file() and (root / "images").is_dir()


def _patient_dirs(root: Path) -> list[Path]:
    return sorted(
        child
        for child in root.iterdir()
        if child.is_dir() and PATIENT_PATTERN.fullmatch(child.name)
    )


def _is_original_layout(root: Path) -> bool:
    return any(
        _itk_file(folder, f"{folder.name}_{view}_{part}") is not None
        for folder in _patient_dirs(root)
        for view in CAMUS_VIEWS
        for part in (*PHASES, HALF_SEQUENCE)
    )


def find_layout(root: str | Path) -> str:
    """Name the CAMUS layout at ``root``: ``"png"`` or ``"original"``; DataError if neither."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(root, "CAMUS folder not found")
    if _is_png_layout(root):
        return "png"
    if _is_original_layout(root):
        return "original"
    raise DataError(
        root,
        f"not a CAMUS dataset folder: expected '{MANIFEST_NAME}' with 'images/' and 'masks/', "
        "or patientNNNN/ folders holding patientNNNN_4CH_ED.mhd or .nii.gz files",
    )


def _itk_file(folder: Path, stem: str) -> Path | None:
    for suffix in ITK_SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataError(path, f"{what} not found")
    return path


def _png_patients(root: Path, sequences: bool) -> list[PatientFiles]:
    manifest = root / MANIFEST_NAME
    if sequences:
        raise DataError(
            root,
            "holds CAMUS stills only (PNG layout); sequences need the original CAMUS layout "
            "with patientNNNN_4CH_half_sequence files",
        )
    table = _read_manifest(manifest)
    patients = []
    for (patient, view), rows in table.groupby(["patient", "view"], sort=True):
        rows = rows.sort_values("phase", key=lambda phase: phase.map(_phase_order))
        patients.append(
            PatientFiles(
                patient=str(patient),
                view=str(view),
                phases=tuple(rows["phase"]),
                images=tuple(
                    _require(root / name, "image listed in manifest") for name in rows["image"]
                ),
                masks=tuple(
                    _require(root / name, "mask listed in manifest") for name in rows["mask"]
                ),
            )
        )
    return patients


def _read_manifest(manifest: Path) -> pd.DataFrame:
    """``manifest.csv`` checked row by row, with a ``view`` column (4CH where it had none)."""
    try:
        table = pd.read_csv(manifest, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(manifest, f"cannot be read as CSV ({error})") from None
    missing = [column for column in MANIFEST_COLUMNS if column not in table.columns]
    if missing:
        raise DataError(manifest, f"lacks the column(s) {', '.join(missing)}")
    if table.empty:
        raise DataError(manifest, "lists no frames")
    if "view" not in table.columns:
        table["view"] = DEFAULT_VIEW
    blank = table[[*MANIFEST_COLUMNS, "view"]].isna().any(axis=1)
    if blank.any():
        # +2: one header line, and line numbers count from 1.
        raise DataError(manifest, f"line {int(blank.idxmax()) + 2} has empty cells")
    unknown = ~table["view"].isin(list(CAMUS_VIEWS))
    if unknown.any():
        line = int(unknown.idxmax())
        raise DataError(
            manifest,
            f"line {line + 2} names the view {table['view'][line]!r}; CAMUS views are "
            f"{', '.join(CAMUS_VIEWS)}",
        )
    repeated = table.duplicated(["patient", "view", "phase"])
    if repeated.any():
        row = table[repeated].iloc[0]
        raise DataError(manifest, f"lists {row['patient']} {row['view']} {row['phase']} twice")
    return table


def _phase_order(phase: str) -> int:
    return PHASES.index(phase) if phase in PHASES else len(PHASES)


def _original_view(folder: Path, view: str, sequences: bool) -> PatientFiles | None:
    """The files of one view in one patient folder, or ``None`` if it holds none."""
    parts = (HALF_SEQUENCE,) if sequences else PHASES
    images = {part: _itk_file(folder, f"{folder.name}_{view}_{part}") for part in parts}
    present = [part for part, path in images.items() if path is not None]
    if not present:
        return None
    masks = []
    for part in present:
        stem = f"{folder.name}_{view}_{part}_gt"
        mask = _itk_file(folder, stem)
        if mask is None:
            raise DataError(folder / f"{stem}{ITK_SUFFIXES[0]}", "ground-truth mask not found")
        masks.append(mask)
    info = folder / f"Info_{view}.cfg"
    return PatientFiles(
        patient=folder.name,
        view=view,
        phases=tuple(present),
        images=tuple(images[part] for part in present),
        masks=tuple(masks),
        info=info if info.is_file() else None,
    )


def _original_patient(folder: Path, sequences: bool) -> list[PatientFiles]:
    """Every view of one patient folder; DataError if it holds none."""
    views = [_original_view(folder, view, sequences) for view in CAMUS_VIEWS]
    found = [files for files in views if files is not None]
    if not found:
        parts = (HALF_SEQUENCE,) if sequences else PHASES
        wanted = " or ".join(f"{folder.name}_4CH_{part}.mhd/.nii.gz" for part in parts)
        raise DataError(folder, f"holds no {wanted} (nor their 2CH counterparts)")
    return found


def _original_patients(root: Path, sequences: bool) -> list[PatientFiles]:
    return [
        files for folder in _patient_dirs(root) for files in _original_patient(folder, sequences)
    ]


# ---------------------------------------------------------------------------------------------
# Files


def _read_png(path: Path) -> tuple[np.ndarray, None]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataError(path, "cannot be read as an image")
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    return image[None], None


def _read_itk(path: Path) -> tuple[np.ndarray, tuple[float, float]]:
    import SimpleITK as sitk  # noqa: N813 (the library's own convention)

    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        lines = str(error).strip().splitlines() or ["unknown error"]
        raise DataError(path, f"cannot be read by SimpleITK ({lines[-1].strip()})") from None
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise DataError(path, "has several components per pixel; CAMUS images are grey")
    array = sitk.GetArrayFromImage(image)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise DataError(path, f"has shape {array.shape}; expected an image or an image sequence")
    column_mm, row_mm = image.GetSpacing()[:2]
    return array, (float(row_mm), float(column_mm))


def _read(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Frames (T, H, W[, C]) as stored, and the (row, column) pixel spacing in mm if known."""
    return _read_png(path) if path.suffix.lower() == ".png" else _read_itk(path)


def _grey_frames(path: Path, frames: np.ndarray, size: int) -> np.ndarray:
    try:
        return np.stack([resize(to_grey(frame), size) for frame in frames])
    except ValueError as error:
        raise DataError(path, f"is not a grey image in uint8 or float [0, 1] ({error})") from None


def _structure_labels(path: Path, labels: np.ndarray, size: int) -> np.ndarray:
    """The label maps at ``size`` (nearest neighbour, so labels stay labels), each checked to
    hold a wall."""
    if labels.ndim != 3:
        raise DataError(path, "has colour channels; a CAMUS mask holds one label per pixel")
    empty = [index for index, frame in enumerate(labels) if not (frame == WALL_LABEL).any()]
    if empty:
        where = f"frame {empty[0]}" if len(labels) > 1 else "the mask"
        raise DataError(
            path,
            f"{where} has no LV-wall label ({WALL_LABEL}); CAMUS masks label 0 background, "
            "1 LV cavity, 2 myocardium, 3 left atrium",
        )
    return np.stack([resize(frame.astype(np.uint8), size, mask=True) for frame in labels])


def _read_info(path: Path) -> dict[str, str]:
    """``Info_4CH.cfg``: one ``key: value`` per line (ED, ES, NbFrame, ImageQuality, ...)."""
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, separator, value = line.partition(":")
        if separator and key.strip():
            entries[key.strip()] = value.strip()
    return entries


# ---------------------------------------------------------------------------------------------
# Recordings


def load_patient(files: PatientFiles, size: int = MODEL_SIZE) -> LabelledRecording:
    """One view of one patient: its frames (ED then ES, or the half sequence), binary LV-wall
    masks and the label maps of all structures."""
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    frames, structures, phase_frames = [], [], {}
    for phase, image_path, mask_path in zip(files.phases, files.images, files.masks, strict=True):
        image, spacing_mm = _read(image_path)
        labels, _ = _read(mask_path)
        if image.shape[:3] != labels.shape[:3]:
            raise DataError(
                mask_path,
                f"holds {labels.shape[:3]} (frames, height, width) but its image "
                f"{image_path.name} holds {image.shape[:3]}",
            )
        phase_frames.update(_phase_frames(phase, sum(map(len, frames)), len(image)))
        frames.append(_grey_frames(image_path, image, size))
        structures.append(_structure_labels(mask_path, labels, size))
    original_size = (int(image.shape[1]), int(image.shape[2]))
    meta: dict = {
        "view": files.view,
        "phase_frames": phase_frames,
        "original_size": original_size,
        "files": [str(path) for path in files.images],
    }
    if spacing_mm is not None:
        meta["original_pixel_spacing_mm"] = spacing_mm
        # preprocess.resize stretches each axis to ``size``, so the spacing scales per axis.
        meta["pixel_spacing_mm"] = tuple(
            mm * extent / size for mm, extent in zip(spacing_mm, original_size, strict=True)
        )
    if files.info is not None:
        meta["info"] = _read_info(files.info)
    suffix = f"_{HALF_SEQUENCE}" if files.phases == (HALF_SEQUENCE,) else ""
    label_maps = np.concatenate(structures)
    return LabelledRecording(
        name=f"{files.patient}_{files.view}{suffix}",
        patient=files.patient,
        frames=np.concatenate(frames),
        masks=(label_maps == WALL_LABEL).astype(np.uint8),
        source="camus",
        meta=meta,
        view=CAMUS_VIEWS[files.view],
        structures=label_maps,
    )


def _phase_frames(phase: str, start: int, count: int) -> dict[str, int]:
    """Frame index of each named phase; a half sequence runs from ED to ES (Leclerc 2019)."""
    if phase == HALF_SEQUENCE:
        return {"ED": start, "ES": start + count - 1}
    return {phase: start}


_PATIENT_LISTERS: dict[str, Callable[[Path, bool], list[PatientFiles]]] = {
    "png": _png_patients,
    "original": _original_patients,
}


def list_patients(root: str | Path, *, sequences: bool = False) -> list[PatientFiles]:
    """The files of every patient at ``root``, whichever layout it has."""
    root = Path(root).expanduser()
    return _PATIENT_LISTERS[find_layout(root)](root, sequences)


def load_dataset(
    root: str | Path,
    size: int = MODEL_SIZE,
    *,
    sequences: bool = False,
    progress: bool = True,
) -> list[LabelledRecording]:
    """Load one :class:`LabelledRecording` per CAMUS patient and view at ``root``.

    Each holds one view's ED and ES stills (those present), or with ``sequences`` its
    ED-to-ES half sequence, as grey float32 frames and binary LV-wall masks at ``size``.
    """
    from rich.progress import track

    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    patients = list_patients(root, sequences=sequences)
    return [
        load_patient(files, size)
        for files in track(patients, description="Loading CAMUS", disable=not progress)
    ]
