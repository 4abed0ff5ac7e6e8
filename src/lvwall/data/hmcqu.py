"""Read (and, for tests and the phantom, write) the HMC-QU dataset exactly as Kaggle ships it.

HMC-QU (Degerli et al., "Early Detection of Myocardial Infarction in Low-Quality
Echocardiography", IEEE Access 9:34442-34453, 2021; Kiranyaz et al., IEEE Access
8:210301-210317, 2020) holds apical-4-chamber (A4C) and apical-2-chamber (A2C) recordings
with per-segment MI labels and, for 109 of its 162 A4C recordings, LV-wall masks of one
cardiac cycle (it has no A2C masks)::

    <root>/HMC-QU/A4C/<ECHO>.avi
    <root>/HMC-QU/A2C/<ECHO>.avi
    <root>/LV Ground-truth Segmentation Masks/Mask_<ECHO>.mat   (variable ``predicted``)
    <root>/A4C.xlsx
    <root>/A2C.xlsx                                             (optional here)

``A4C.xlsx`` has two header rows: ECHO, LABEL (over the six segment columns), 'One
cardiac-cycle frames' (over Reference Frame and End of Cycle, 1-based and inclusive) and 'LV
Wall Ground-truth Segmentation Masks' (cells ``ü`` = available, ``û`` = not, in Wingdings).
``A2C.xlsx`` has the same layout with the six A2C segments (SEG4, SEG10, SEG15, SEG13, SEG7,
SEG1) and no masks column; some of its ECHO names end in ``*``, which a footnote row below
the table explains ('* indicates HMC-QU-TAU'). The segment columns of both sheets run along
the wall from the image-left base over the apex to the image-right base
(:data:`lvwall.data.records.VIEW_SEGMENTS`; AHA 17-segment model, Cerqueira et al.,
Circulation 105(4), 2002). A4C and A2C recordings of one patient share the patient ID at the
start of their ECHO names (:func:`patient_id`).

One concept: the one file format, read and written by the same module so that
the phantom's HMC-QU copy and the validation of a real download cannot drift apart.
"""

from __future__ import annotations

import itertools
import logging
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lvwall.atomic import atomic_path
from lvwall.data.preprocess import prepare_frame, resize
from lvwall.data.records import (
    HMCQU_MASK_SIZE,
    MODEL_SIZE,
    TAU_MARK,
    VIEWS,
    EchoRecord,
    LabelledRecording,
    check_view,
    segment_names,
)
from lvwall.data.sector import SECTOR_FRAMES, find_sector
from lvwall.data.video import iter_frames
from lvwall.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: The videos of each view, below the dataset root.
VIDEOS_SUBDIRS: dict[str, Path] = {view: Path("HMC-QU") / view for view in VIEWS}
VIDEOS_SUBDIR = VIDEOS_SUBDIRS["A4C"]
MASKS_SUBDIR = Path("LV Ground-truth Segmentation Masks")
#: The metadata sheet of each view, side by side in the dataset root.
XLSX_NAMES: dict[str, str] = {view: f"{view}.xlsx" for view in VIEWS}
XLSX_NAME = XLSX_NAMES["A4C"]
MASK_VARIABLE = "predicted"

ECHO_HEADER = "ECHO"
LABEL_HEADER = "LABEL"
FRAMES_HEADER = "One cardiac-cycle frames"
MASKS_HEADER = "LV Wall Ground-truth Segmentation Masks"
REFERENCE_HEADER = "Reference Frame"
END_HEADER = "End of Cycle"
AVAILABLE_HEADER = "Available: ü Not Available: û"
MI_TEXT, NON_MI_TEXT = "MI", "non-MI"
# Wingdings draws these two letters as a tick and a cross.
AVAILABLE_MARK, NOT_AVAILABLE_MARK = "ü", "û"
_HEADER_ROWS = 2


@dataclass(frozen=True)
class HmcquLayout:
    """Where the parts of one HMC-QU download lie."""

    root: Path
    videos_dir: Path
    masks_dir: Path
    xlsx: Path


def _layout_at(root: Path) -> HmcquLayout:
    return HmcquLayout(root, root / VIDEOS_SUBDIR, root / MASKS_SUBDIR, root / XLSX_NAME)


def _missing_parts(layout: HmcquLayout) -> list[Path]:
    parts = [(layout.videos_dir, Path.is_dir), (layout.masks_dir, Path.is_dir)]
    parts.append((layout.xlsx, Path.is_file))
    return [path for path, exists in parts if not exists(path)]


def find_layout(root: str | Path) -> HmcquLayout:
    """Locate an HMC-QU download at ``root``, its parent (the user pointed at ``HMC-QU/``) or
    one of its sub-folders (the user pointed at the folder holding the download)."""
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise DataError(
            root, "is a file; give the HMC-QU folder (the one holding A4C.xlsx and the videos)"
        )
    if not root.is_dir():
        raise DataError(root, "HMC-QU folder not found")
    children = sorted(child for child in root.iterdir() if child.is_dir())
    candidates = [root, root.parent, *children]
    layouts = [_layout_at(candidate) for candidate in candidates]
    for layout in layouts:
        if not _missing_parts(layout):
            return layout
    # Report the candidate that came closest; ties go to the folder the user named.
    best = min(layouts, key=lambda layout: len(_missing_parts(layout)))
    missing = ", ".join(f"'{path}'" for path in _missing_parts(best))
    raise DataError(
        root,
        f"not an HMC-QU dataset folder: missing {missing} (also looked in its parent and "
        f"sub-folders for '{VIDEOS_SUBDIR}', '{MASKS_SUBDIR}' and '{XLSX_NAME}')",
    )


def video_path(layout: HmcquLayout, echo: str, view: str = "A4C") -> Path:
    """The AVI of recording ``echo`` of ``view`` (names keep their spaces, e.g.
    ``ES0001 _4CH_1``); A2C videos lie beside the A4C folder, in ``HMC-QU/A2C``."""
    view = check_view(view)
    folder = layout.videos_dir if view == "A4C" else layout.videos_dir.with_name(view)
    return folder / f"{echo}.avi"


def sheet_path(layout: HmcquLayout, view: str) -> Path:
    """The metadata sheet of ``view``: ``A2C.xlsx`` lies beside ``A4C.xlsx``."""
    return layout.xlsx.with_name(XLSX_NAMES[check_view(view)])


def read_sheets(layout: HmcquLayout) -> dict[str, list[EchoRecord]]:
    """The records of each view whose sheet the download has: A4C always, A2C when
    ``A2C.xlsx`` lies beside ``A4C.xlsx``."""
    return {
        view: read_xlsx(sheet_path(layout, view), view)
        for view in VIEWS
        if view == "A4C" or sheet_path(layout, view).is_file()
    }


def mask_path(layout: HmcquLayout, echo: str) -> Path:
    """The ground-truth mask file of recording ``echo``."""
    return layout.masks_dir / f"Mask_{echo}.mat"


# ---------------------------------------------------------------------------------------------
# A4C.xlsx and A2C.xlsx


def _normalise_header(text: object) -> str:
    return " ".join(str(text).split()).casefold() if text is not None else ""


def _read_sheet(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise DataError(path, "metadata sheet not found")
    try:
        return pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as error:
        raise DataError(path, f"cannot be read as an Excel .xlsx file ({error})") from error


def _masks_column_required(view: str) -> bool:
    """A4C.xlsx always says which masks exist; HMC-QU's A2C.xlsx has no such column."""
    return view == "A4C"


def _locate_columns(path: Path, header: list[list[object]], view: str) -> dict[str, int]:
    """Map each needed header text to its column, whichever header row it sits in; the
    masks column is left out of an A2C sheet that has none."""
    positions: dict[str, int] = {}
    for row in header:
        for column, text in enumerate(row):
            positions.setdefault(_normalise_header(text), column)
    needed = [ECHO_HEADER, *segment_names(view), REFERENCE_HEADER, END_HEADER]
    if _masks_column_required(view) or _normalise_header(AVAILABLE_HEADER) in positions:
        needed.append(AVAILABLE_HEADER)
    columns: dict[str, int] = {}
    for name in needed:
        if _normalise_header(name) not in positions:
            raise DataError(path, f"has no column '{name}' in its two header rows")
        columns[name] = positions[_normalise_header(name)]
    return columns


def _is_blank(value: object) -> bool:
    return (
        value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""
    )


class _CellError(Exception):
    """A cell holds something its column does not allow (turned into a DataError)."""


def _parse_mi(value: object) -> bool:
    text = str(value).strip().casefold()
    if text == MI_TEXT.casefold():
        return True
    if text == NON_MI_TEXT.casefold():
        return False
    raise _CellError(f"expected '{MI_TEXT}' or '{NON_MI_TEXT}'")


def _parse_frame_number(value: object) -> int:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise _CellError("expected a frame number") from None
    if not number.is_integer() or number < 1:
        raise _CellError("expected a whole frame number >= 1")
    return int(number)


def _parse_available(value: object) -> bool:
    text = str(value).strip()
    if text == AVAILABLE_MARK:
        return True
    if text == NOT_AVAILABLE_MARK:
        return False
    raise _CellError(f"expected '{AVAILABLE_MARK}' (available) or '{NOT_AVAILABLE_MARK}' (not)")


def _parse_echo(value: object) -> str:
    """The recording's name without the HMC-QU-TAU footnote mark ``*``."""
    echo = str(value).strip().rstrip(TAU_MARK).strip()
    if not echo:
        raise _CellError("expected a recording name")
    return echo


_CELL_PARSERS: dict[str, Callable[[object], object]] = {
    ECHO_HEADER: _parse_echo,
    **dict.fromkeys((name for view in VIEWS for name in segment_names(view)), _parse_mi),
    REFERENCE_HEADER: _parse_frame_number,
    END_HEADER: _parse_frame_number,
    AVAILABLE_HEADER: _parse_available,
}


def _cell(
    path: Path, row: list[object], row_number: int, columns: dict[str, int], name: str
) -> Any:
    """Parse the cell of column ``name``; a bad value becomes a DataError naming row and column."""
    value = row[columns[name]]
    try:
        if _is_blank(value):
            raise _CellError("the cell is empty")
        return _CELL_PARSERS[name](value)
    except _CellError as error:
        raise DataError(
            path, f"row {row_number}, column '{name}': {error}, got {value!r}"
        ) from None


def _is_footnote(row: list[object], columns: dict[str, int]) -> bool:
    """A note below the table ('* indicates HMC-QU-TAU'): text in the ECHO column that
    starts with ``*``, every other column blank."""
    first = row[columns[ECHO_HEADER]]
    others = [row[column] for name, column in columns.items() if name != ECHO_HEADER]
    return str(first).strip().startswith(TAU_MARK) and all(map(_is_blank, others))


def _parse_row(
    path: Path, row: list[object], row_number: int, columns: dict[str, int], view: str
) -> EchoRecord:
    def cell(name: str) -> Any:
        return _cell(path, row, row_number, columns, name)

    reference, end = cell(REFERENCE_HEADER), cell(END_HEADER)
    if end < reference:
        raise DataError(
            path,
            f"row {row_number}, column '{END_HEADER}': the cycle ends ({end}) before its "
            f"'{REFERENCE_HEADER}' ({reference})",
        )
    return EchoRecord(
        echo=cell(ECHO_HEADER),
        segment_mi=tuple(cell(name) for name in segment_names(view)),
        reference_frame=reference,
        end_of_cycle=end,
        mask_available=AVAILABLE_HEADER in columns and cell(AVAILABLE_HEADER),
        view=view,
    )


def read_xlsx(path: str | Path, view: str = "A4C") -> list[EchoRecord]:
    """Read HMC-QU's ``A4C.xlsx`` or ``A2C.xlsx`` (``view``) into one :class:`EchoRecord` per
    recording, in sheet order, ``segment_mi`` in the view's segment order
    (:func:`lvwall.data.records.segment_names`).

    Columns are found by their header text, so their order does not matter; blank rows and
    the footnote of A2C.xlsx are skipped, and the ``*`` that marks HMC-QU-TAU recordings is
    dropped from their names: it is the footnote's mark, taken not to be part of the video's
    file name (``*`` cannot be in a Windows file name). The masks column is
    required in A4C.xlsx; an A2C sheet without one marks every mask as not available. A
    missing column or a bad cell raises :class:`DataError` naming row and column.
    """
    view = check_view(view)
    path = Path(path)
    sheet = _read_sheet(path)
    rows = sheet.values.tolist()
    if len(rows) < _HEADER_ROWS:
        raise DataError(path, f"has fewer than the two header rows of HMC-QU's {view}.xlsx")
    columns = _locate_columns(path, rows[:_HEADER_ROWS], view)
    records: list[EchoRecord] = []
    seen: set[str] = set()
    for index, row in enumerate(rows[_HEADER_ROWS:], start=_HEADER_ROWS + 1):
        if all(_is_blank(value) for value in row) or _is_footnote(row, columns):
            continue
        record = _parse_row(path, row, index, columns, view)
        if record.echo in seen:
            raise DataError(path, f"row {index}, column '{ECHO_HEADER}': {record.echo!r} repeats")
        seen.add(record.echo)
        records.append(record)
    if not records:
        raise DataError(path, "lists no recordings below its header rows")
    return records


def read_a4c_xlsx(path: str | Path) -> list[EchoRecord]:
    """Read HMC-QU's ``A4C.xlsx``: :func:`read_xlsx` of the A4C view."""
    return read_xlsx(path, "A4C")


def write_xlsx(path: str | Path, records: Sequence[EchoRecord], view: str = "A4C") -> Path:
    """Write ``records`` in the layout of HMC-QU's ``A4C.xlsx`` or ``A2C.xlsx`` (merged
    two-row header, MI / non-MI cells in the view's segment order, Wingdings ü/û marks),
    atomically; :func:`read_xlsx` reads it back. An A2C sheet gets the masks column only
    when some record has a mask (HMC-QU's has none)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    view = check_view(view)
    path = Path(path)
    names = segment_names(view)
    with_masks = _masks_column_required(view) or any(r.mask_available for r in records)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Tabelle1"
    n_segments = len(names)
    frames_column = 2 + n_segments
    masks_column = frames_column + 2
    sheet.cell(1, 1, ECHO_HEADER)
    sheet.cell(1, 2, LABEL_HEADER)
    sheet.cell(1, frames_column, FRAMES_HEADER)
    second_row = [*names, REFERENCE_HEADER, END_HEADER]
    if with_masks:
        sheet.cell(1, masks_column, MASKS_HEADER)
        second_row.append(AVAILABLE_HEADER)
    for column, text in enumerate(second_row, start=2):
        sheet.cell(2, column, text)
    sheet.merge_cells(start_row=1, end_row=2, start_column=1, end_column=1)
    sheet.merge_cells(start_row=1, end_row=1, start_column=2, end_column=1 + n_segments)
    sheet.merge_cells(
        start_row=1, end_row=1, start_column=frames_column, end_column=frames_column + 1
    )
    wingdings = Font(name="Wingdings")
    for row, record in enumerate(records, start=_HEADER_ROWS + 1):
        labels = [MI_TEXT if mi else NON_MI_TEXT for mi in record.segment_mi]
        values = [record.echo, *labels, record.reference_frame, record.end_of_cycle]
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
        if with_masks:
            mark = AVAILABLE_MARK if record.mask_available else NOT_AVAILABLE_MARK
            sheet.cell(row, masks_column, mark).font = wingdings
    with atomic_path(path) as tmp:
        workbook.save(tmp)
    return path


def write_a4c_xlsx(path: str | Path, records: Sequence[EchoRecord]) -> Path:
    """Write an ``A4C.xlsx``: :func:`write_xlsx` of the A4C view."""
    return write_xlsx(path, records, "A4C")


# ---------------------------------------------------------------------------------------------
# Masks


def _check_binary_masks(masks: np.ndarray) -> str | None:
    """Return why ``masks`` is not a (T, H, W) stack of 0/1 masks, or None when it is."""
    if masks.ndim != 3:
        return f"expected masks of shape (frames, height, width), got shape {masks.shape}"
    if masks.dtype != np.bool_ and not np.issubdtype(masks.dtype, np.number):
        return f"expected numeric masks, got dtype {masks.dtype}"
    values = np.unique(masks)
    if not np.isin(values, (0, 1)).all():
        shown = ", ".join(str(value) for value in values[:5])
        return f"expected binary masks (0 and 1), found values {shown}"
    return None


def read_mask_mat(path: str | Path) -> np.ndarray:
    """Read an HMC-QU ``Mask_<ECHO>.mat`` (MATLAB v5) as uint8 (T, H, W) in {0, 1}.

    The masks sit in the variable ``predicted``; a file with a single other variable is
    accepted too.
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "mask file not found")
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError as error:
        raise DataError(path, "is a MATLAB v7.3 (HDF5) file; save it as v5 (-v7)") from error
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, IndexError) as error:
        # scipy reports garbage through whichever of these its parser trips over first.
        raise DataError(path, f"cannot be read as a MATLAB .mat file ({error})") from error
    variables = {name: value for name, value in contents.items() if not name.startswith("__")}
    if MASK_VARIABLE in variables:
        masks = variables[MASK_VARIABLE]
    elif len(variables) == 1:
        masks = next(iter(variables.values()))
    else:
        raise DataError(
            path, f"has no mask variable '{MASK_VARIABLE}' (found: {sorted(variables) or 'none'})"
        )
    masks = np.asarray(masks)
    problem = _check_binary_masks(masks)
    if problem:
        raise DataError(path, problem)
    return masks.astype(np.uint8)


def write_mask_mat(path: str | Path, masks: np.ndarray) -> Path:
    """Write uint8/bool (T, H, W) 0/1 masks as an HMC-QU mask file (variable ``predicted``)."""
    import scipy.io

    masks = np.asarray(masks)
    problem = _check_binary_masks(masks)
    if problem:
        raise ValueError(problem)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        scipy.io.savemat(file, {MASK_VARIABLE: masks.astype(np.uint8)}, do_compression=True)
    return path


# ---------------------------------------------------------------------------------------------
# Recordings


def _cycle_frames(path: Path, record: EchoRecord, size: int) -> np.ndarray:
    """Decode frames Reference..End (1-based, inclusive), prepare each for the model and
    blank what lies outside the ultrasound sector, found in the first prepared frames of the
    cycle: the same steps :func:`lvwall.infer.segment_frames` takes before the network."""
    frames = itertools.islice(iter_frames(path), record.reference_frame - 1, record.end_of_cycle)
    prepared = [prepare_frame(frame, size) for frame in frames]
    if not prepared:
        return np.zeros((0, size, size), np.float32)
    stacked = np.stack(prepared)
    return find_sector(stacked[:SECTOR_FRAMES]).apply(stacked)


def load_recording(
    layout: HmcquLayout, record: EchoRecord, size: int = MODEL_SIZE
) -> LabelledRecording:
    """Load one recording's cardiac cycle as grey model-size frames aligned with its masks.

    Frames Reference..End of Cycle of the AVI pair one-to-one with the mask frames, as in
    Degerli et al. (2021); a different count raises :class:`DataError`.

    The frames are what ``lvwall predict`` feeds the network: :func:`prepare_frame` to
    ``size``, then everything outside the ultrasound sector (scanner text, ECG trace, scales)
    set to zero with :func:`lvwall.data.sector.find_sector` of the first
    :data:`~lvwall.data.sector.SECTOR_FRAMES` cycle frames, so a model never learns from
    overlays it will not see at inference. The masks are left as they are.
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    video = video_path(layout, record.echo)
    if not video.is_file():
        raise DataError(video, f"video of recording '{record.echo}' not found")
    mask_file = mask_path(layout, record.echo)
    masks = read_mask_mat(mask_file)
    frames = _cycle_frames(video, record, size)
    if len(frames) != len(masks):
        raise DataError(
            video,
            f"frames {record.reference_frame}..{record.end_of_cycle} (from {layout.xlsx.name}) "
            f"give {len(frames)} video frames, but {mask_file} holds {len(masks)} masks",
        )
    expected = (len(frames), HMCQU_MASK_SIZE, HMCQU_MASK_SIZE)
    if masks.shape != expected:
        raise DataError(
            mask_file,
            f"holds masks of shape {masks.shape}, but HMC-QU masks of frames "
            f"{record.reference_frame}..{record.end_of_cycle} have the shape {expected}",
        )
    if size != HMCQU_MASK_SIZE:
        masks = np.stack([resize(mask, size, mask=True) for mask in masks])
    return LabelledRecording(
        name=record.echo,
        patient=record.patient,
        frames=frames,
        masks=masks,
        label=int(record.mi),
        source="hmcqu",
        meta={
            "segment_mi": record.segment_dict(),
            "reference_frame": record.reference_frame,
            "end_of_cycle": record.end_of_cycle,
        },
    )


def _select_records(
    layout: HmcquLayout, records: list[EchoRecord], echoes: Sequence[str] | None
) -> list[EchoRecord]:
    if echoes is None:
        with_masks = [record for record in records if record.mask_available]
        present = [record for record in with_masks if video_path(layout, record.echo).is_file()]
        if len(present) < len(with_masks):
            log.warning(
                "%s: %d of %d recordings with masks have no video and are skipped",
                layout.videos_dir,
                len(with_masks) - len(present),
                len(with_masks),
            )
        return present
    by_name = {record.echo: record for record in records}
    chosen = []
    for echo in echoes:
        if echo not in by_name:
            raise DataError(layout.xlsx, f"lists no recording named '{echo}'")
        if not by_name[echo].mask_available:
            raise DataError(layout.xlsx, f"marks recording '{echo}' as having no mask")
        chosen.append(by_name[echo])
    return chosen


def load_dataset(
    root: str | Path,
    size: int = MODEL_SIZE,
    *,
    progress: bool = True,
    echoes: Sequence[str] | None = None,
) -> list[LabelledRecording]:
    """Load every HMC-QU recording that has a ground-truth mask (or just ``echoes``).

    Without ``echoes``, recordings whose video is absent are skipped with a warning (a partial
    download); named ``echoes`` must all load.
    """
    from rich.progress import track

    layout = find_layout(root)
    records = _select_records(layout, read_a4c_xlsx(layout.xlsx), echoes)
    if not records:
        raise DataError(layout.root, "has no recording with both a video and a mask")
    return [
        load_recording(layout, record, size)
        for record in track(records, description="Loading HMC-QU", disable=not progress)
    ]
