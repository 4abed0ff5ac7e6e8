"""Tests for lvwall.data.hmcqu: the real A4C.xlsx and A2C.xlsx, round trips, a tiny dataset,
bad inputs."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
import scipy.io

from lvwall.data import echo_view, patient_id
from lvwall.data.hmcqu import (
    AVAILABLE_HEADER,
    END_HEADER,
    REFERENCE_HEADER,
    HmcquLayout,
    find_layout,
    load_dataset,
    load_recording,
    mask_path,
    read_a4c_xlsx,
    read_mask_mat,
    read_sheets,
    read_xlsx,
    sheet_path,
    video_path,
    write_a4c_xlsx,
    write_mask_mat,
    write_xlsx,
)
from lvwall.data.preprocess import prepare_frame
from lvwall.data.records import HMCQU_MASK_SIZE, SEGMENT_NAMES, VIEW_SEGMENTS, EchoRecord
from lvwall.data.sector import find_sector
from lvwall.data.video import read_frames, write_video
from lvwall.errors import DataError

# --------------------------------------------------------------------------------------------
# The real A4C.xlsx

MI, NO = True, False
# Rows copied by eye from ../shared/data/hmcqu-sample/A4C.xlsx (sheet rows 3, 9, 30, 71, 116,
# 136, 164).
REAL_ROWS = [
    EchoRecord("ES0001 _4CH_1", (MI, MI, MI, MI, MI, NO), 1, 20, True),
    EchoRecord("ES000107 _4CH_1", (MI, MI, MI, MI, MI, MI), 45, 61, True),
    EchoRecord("ES000134_4CH_1", (NO, NO, NO, MI, MI, NO), 60, 73, True),
    EchoRecord("ES000155 n_4CH_1", (NO, NO, NO, NO, NO, NO), 30, 48, True),
    EchoRecord("ES00012 _4CH_2", (MI, MI, MI, NO, NO, NO), 24, 50, False),
    EchoRecord("ES000153 n_4CH_3", (NO, NO, NO, MI, MI, NO), 3, 29, False),
    EchoRecord("ES00099 N_4CH_2", (NO, NO, NO, NO, NO, NO), 1, 25, False),
]


@pytest.fixture(scope="module")
def real_records(hmcqu_sample_dir: Path) -> list[EchoRecord]:
    return read_a4c_xlsx(hmcqu_sample_dir / "A4C.xlsx")


def test_real_sheet_has_162_recordings_109_with_masks(real_records: list[EchoRecord]) -> None:
    assert len(real_records) == 162
    assert sum(record.mask_available for record in real_records) == 109
    assert len({record.echo for record in real_records}) == 162


@pytest.mark.parametrize("expected", REAL_ROWS, ids=lambda record: record.echo)
def test_real_sheet_rows_field_by_field(
    real_records: list[EchoRecord], expected: EchoRecord
) -> None:
    by_name = {record.echo: record for record in real_records}
    assert by_name[expected.echo] == expected


@pytest.mark.parametrize(
    ("echo", "patient"),
    [("ES0001 _4CH_1", "ES0001"), ("ES000134_4CH_1", "ES000134"), ("ES00099 N_4CH_2", "ES00099")],
)
def test_real_sheet_patients(real_records: list[EchoRecord], echo: str, patient: str) -> None:
    assert {record.echo: record.patient for record in real_records}[echo] == patient


def test_real_sheet_survives_a_write_read_round_trip(
    real_records: list[EchoRecord], tmp_path: Path
) -> None:
    assert read_a4c_xlsx(write_a4c_xlsx(tmp_path / "A4C.xlsx", real_records)) == real_records


# --------------------------------------------------------------------------------------------
# The real A2C.xlsx

# Rows copied from ../shared/data/hmcqu-sample/A2C.xlsx as pandas shows its raw cells (sheet
# rows 3, 4, 24, 94, 162); segment_mi in the A2C order SEG4, SEG10, SEG15, SEG13, SEG7, SEG1.
REAL_A2C_ROWS = [
    EchoRecord("ES0001_CH2_1", (MI, MI, MI, NO, NO, NO), 1, 21, False, "A2C"),
    EchoRecord("ES00010_CH2_2", (NO, NO, MI, MI, NO, NO), 1, 21, False, "A2C"),  # 'ES00010_CH2_2*'
    EchoRecord("ES000120_2CH_2", (MI, MI, MI, NO, NO, NO), 1, 26, False, "A2C"),
    EchoRecord("ES000100 N_2CH_3", (NO, NO, NO, NO, NO, NO), 1, 14, False, "A2C"),
    EchoRecord("ES00099 N_2CH_3", (NO, NO, NO, NO, NO, NO), 1, 20, False, "A2C"),
]


@pytest.fixture(scope="module")
def real_a2c_records(hmcqu_sample_dir: Path) -> list[EchoRecord]:
    path = hmcqu_sample_dir / "A2C.xlsx"
    if not path.is_file():
        pytest.skip(f"real data not available: {path} is absent (see README, 'Data')")
    return read_xlsx(path, "A2C")


def test_real_a2c_sheet_has_160_recordings_without_masks(
    real_a2c_records: list[EchoRecord],
) -> None:
    """160 rows below the header, then a blank row and the footnote '* indicates HMC-QU-TAU'
    (skipped); HMC-QU has no A2C masks, so the sheet has no masks column."""
    assert len(real_a2c_records) == 160
    assert not any(record.mask_available for record in real_a2c_records)
    assert not any("*" in record.echo for record in real_a2c_records)


@pytest.mark.parametrize("expected", REAL_A2C_ROWS, ids=lambda record: record.echo)
def test_real_a2c_sheet_rows_field_by_field(
    real_a2c_records: list[EchoRecord], expected: EchoRecord
) -> None:
    by_name = {record.echo: record for record in real_a2c_records}
    assert by_name[expected.echo] == expected


def test_real_sheets_pair_160_patients_in_both_views(
    real_records: list[EchoRecord], real_a2c_records: list[EchoRecord]
) -> None:
    a4c = {patient_id(record.echo): record for record in real_records}
    a2c = {patient_id(record.echo): record for record in real_a2c_records}
    assert len(a4c) == 162 and len(a2c) == 160  # one recording per patient and view
    assert set(a2c) <= set(a4c)
    assert a4c["ES0001"].echo == "ES0001 _4CH_1" and a2c["ES0001"].echo == "ES0001_CH2_1"
    # ES0001: MI in SEG3..SEG12 of A4C and in SEG4, SEG10, SEG15 of A2C.
    assert sum(a4c["ES0001"].segment_mi) + sum(a2c["ES0001"].segment_mi) == 8


@pytest.mark.parametrize(
    ("echo", "patient"),
    [
        ("ES0001 _4CH_1", "ES0001"),
        ("ES0001_CH2_1", "ES0001"),
        ("ES00010_CH2_2*", "ES00010"),
        ("ES000120_2CH_2", "ES000120"),
        ("ES000134_4CH_1", "ES000134"),
        ("ES000155 n_4CH_1", "ES000155"),
        ("ES000155 N_2CH_1", "ES000155"),
        ("ES00051 N_CH2_1", "ES00051"),
        ("PH0001 _4CH_1", "PH0001"),
        ("X", "X"),
    ],
)
def test_patient_id_is_the_same_in_both_views(echo: str, patient: str) -> None:
    assert patient_id(echo) == patient
    if "_4CH" in echo:  # the A4C records' own parsing agrees
        assert EchoRecord(echo, (NO,) * 6, 1, 2, True).patient == patient


@pytest.mark.parametrize(
    ("echo", "view"),
    [
        ("ES0001 _4CH_1", "A4C"),
        ("ES0001_CH2_1", "A2C"),
        ("ES00010_CH2_2*", "A2C"),
        ("ES000120_2CH_2", "A2C"),
        ("ES00051 N_CH2_1", "A2C"),
        ("PH0001 _2CH_1", "A2C"),
        ("PH0001 _4CH_1", "A4C"),
        ("X", None),
        ("4CH_study", None),
    ],
)
def test_echo_view_reads_the_view_part_of_a_name(echo: str, view: str | None) -> None:
    assert echo_view(echo) == view


# --------------------------------------------------------------------------------------------
# A2C.xlsx writer and reader

A2C_HEADER_ROW_1 = ["ECHO", "LABEL", None, None, None, None, None, "One cardiac-cycle frames"]
A2C_HEADER_ROW_2 = [None, *VIEW_SEGMENTS["A2C"], "Reference Frame", "End of Cycle"]
A2C_ROWS = [
    ["ES0001_CH2_1", "MI", "MI", "MI", "non-MI", "non-MI", "non-MI", 1, 21],
    ["ES00010_CH2_2*", "non-MI", "non-MI", "MI", "MI", "non-MI", "non-MI", 2, 21],
    [None] * 9,
    ["* indicates HMC-QU-TAU", *[None] * 8],
]
A2C_RECORDS = [
    EchoRecord("ES0001_CH2_1", (MI, MI, MI, NO, NO, NO), 1, 21, False, "A2C"),
    EchoRecord("ES00010_CH2_2", (NO, NO, MI, MI, NO, NO), 2, 21, False, "A2C"),
]


def test_a2c_reader_reads_a_sheet_in_the_real_layout(tmp_path: Path) -> None:
    """No masks column, A2C segment columns, a '*' name and the footnote below a blank row."""
    path = _write_sheet(tmp_path / "A2C.xlsx", [A2C_HEADER_ROW_1, A2C_HEADER_ROW_2], A2C_ROWS)
    assert read_xlsx(path, "A2C") == A2C_RECORDS


@pytest.mark.parametrize(
    ("records", "columns"),
    [
        (A2C_RECORDS, [*VIEW_SEGMENTS["A2C"], REFERENCE_HEADER, END_HEADER]),
        (  # an A2C sheet with masks (a phantom's) keeps the masks column
            [A2C_RECORDS[0], EchoRecord("ES0002_CH2_1", (NO,) * 6, 1, 9, True, "A2C")],
            [*VIEW_SEGMENTS["A2C"], REFERENCE_HEADER, END_HEADER, AVAILABLE_HEADER],
        ),
    ],
)
def test_a2c_writer_round_trips_in_the_a2c_layout(
    tmp_path: Path, records: list[EchoRecord], columns: list[str]
) -> None:
    path = write_xlsx(tmp_path / "A2C.xlsx", records, "A2C")
    sheet = openpyxl.load_workbook(path).active
    assert [cell.value for cell in sheet[2]][1:] == columns
    assert read_xlsx(path, "A2C") == records


@pytest.mark.parametrize(
    ("sheet", "view", "problem"),
    [
        ("A4C", "A2C", "has no column 'SEG4'"),
        ("A2C", "A4C", "has no column 'SEG3'"),
    ],
)
def test_a_sheet_read_as_the_other_view_names_the_missing_column(
    tmp_path: Path, sheet: str, view: str, problem: str
) -> None:
    path = write_xlsx(tmp_path / f"{sheet}.xlsx", SYNTHETIC_RECORDS[:1], sheet)
    with pytest.raises(DataError, match=problem):
        read_xlsx(path, view)


def test_the_masks_column_is_required_in_a4c_only(tmp_path: Path) -> None:
    header = [row[:-1] for row in (HEADER_ROW_1, HEADER_ROW_2)]
    path = _write_sheet(tmp_path / "A4C.xlsx", header, [GOOD_ROW[:-1]])
    with pytest.raises(DataError, match=f"has no column '{AVAILABLE_HEADER}'"):
        read_a4c_xlsx(path)


# --------------------------------------------------------------------------------------------
# A4C.xlsx writer and reader

SYNTHETIC_RECORDS = [
    EchoRecord("ES0001 _4CH_1", (MI, MI, MI, MI, MI, NO), 2, 5, True),
    EchoRecord("ES00077 N_4CH_1", (NO,) * 6, 1, 3, True),
    EchoRecord("ES000101 _4CH_1", (NO, NO, MI, NO, NO, NO), 1, 4, False),
]


def test_written_sheet_has_the_real_layout(tmp_path: Path) -> None:
    path = write_a4c_xlsx(tmp_path / "A4C.xlsx", SYNTHETIC_RECORDS)
    sheet = openpyxl.load_workbook(path).active
    assert {str(cells) for cells in sheet.merged_cells.ranges} == {"A1:A2", "B1:G1", "H1:I1"}
    assert [cell.value for cell in sheet[2]][1:] == [
        *SEGMENT_NAMES,
        REFERENCE_HEADER,
        END_HEADER,
        AVAILABLE_HEADER,
    ]
    assert [cell.value for cell in sheet[3]] == ["ES0001 _4CH_1", *["MI"] * 5, "non-MI", 2, 5, "ü"]
    assert sheet["J5"].value == "û"
    assert sheet["J3"].font.name == "Wingdings"


def _write_sheet(path: Path, header: list[list[object]], rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    for row in [*header, *rows]:
        workbook.active.append(row)
    workbook.save(path)
    return path


HEADER_ROW_1 = ["ECHO", "LABEL", None, None, None, None, None, "One cardiac-cycle frames"]
HEADER_ROW_1 += [None, "LV Wall Ground-truth Segmentation Masks"]
HEADER_ROW_2 = [None, *SEGMENT_NAMES, REFERENCE_HEADER, END_HEADER, AVAILABLE_HEADER]
GOOD_ROW = ["ES0001 _4CH_1", "MI", "MI", "MI", "MI", "MI", "non-MI", 1, 20, "ü"]


def test_reader_finds_columns_by_header_text_in_any_order(tmp_path: Path) -> None:
    order = [9, 8, 7, 0, 6, 5, 4, 3, 2, 1]
    header = [[row[i] for i in order] for row in (HEADER_ROW_1, HEADER_ROW_2)]
    path = _write_sheet(tmp_path / "A4C.xlsx", header, [[GOOD_ROW[i] for i in order]])
    assert read_a4c_xlsx(path) == [REAL_ROWS[0]]


def test_reader_skips_blank_rows_and_accepts_float_frame_numbers(tmp_path: Path) -> None:
    rows = [[None] * 10, [*GOOD_ROW[:7], 1.0, "20", "ü"], [None] * 10]
    path = _write_sheet(tmp_path / "A4C.xlsx", [HEADER_ROW_1, HEADER_ROW_2], rows)
    assert read_a4c_xlsx(path) == [REAL_ROWS[0]]


@pytest.mark.parametrize("column", ["ECHO", "SEG3", "SEG6", REFERENCE_HEADER, AVAILABLE_HEADER])
def test_reader_names_a_missing_column(tmp_path: Path, column: str) -> None:
    header = [
        [None if text == column else text for text in row] for row in (HEADER_ROW_1, HEADER_ROW_2)
    ]
    path = _write_sheet(tmp_path / "A4C.xlsx", header, [GOOD_ROW])
    with pytest.raises(DataError, match=f"has no column '{column}'") as caught:
        read_a4c_xlsx(path)
    assert caught.value.path == path


def _with(index: int, value: object) -> list[object]:
    row = list(GOOD_ROW)
    row[index] = value
    return row


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([_with(1, "maybe")], "row 3, column 'SEG3'"),
        ([_with(6, None)], "row 3, column 'SEG6': the cell is empty"),
        ([_with(7, "first")], f"row 3, column '{REFERENCE_HEADER}'"),
        ([_with(8, 2.5)], f"row 3, column '{END_HEADER}'"),
        ([_with(7, 0)], f"row 3, column '{REFERENCE_HEADER}'"),
        ([_with(7, 30)], f"row 3, column '{END_HEADER}': the cycle ends"),
        ([_with(9, "yes")], f"row 3, column '{AVAILABLE_HEADER}'"),
        ([_with(0, None)], "row 3, column 'ECHO'"),
        ([GOOD_ROW, GOOD_ROW], "row 4, column 'ECHO': 'ES0001 _4CH_1' repeats"),
        ([], "no recordings"),
    ],
)
def test_reader_names_row_and_column_of_a_bad_cell(
    tmp_path: Path, rows: list[list[object]], problem: str
) -> None:
    path = _write_sheet(tmp_path / "A4C.xlsx", [HEADER_ROW_1, HEADER_ROW_2], rows)
    with pytest.raises(DataError, match=problem) as caught:
        read_a4c_xlsx(path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("content", "problem"), [(None, "not found"), (b"not a zip file", "cannot be read")]
)
def test_reader_rejects_missing_or_corrupt_sheets(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "A4C.xlsx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=problem) as caught:
        read_a4c_xlsx(path)
    assert caught.value.path == path


# --------------------------------------------------------------------------------------------
# Mask files

MASKS = (np.random.default_rng(1).random((3, 8, 10)) > 0.5).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.float64])
def test_mask_round_trip(tmp_path: Path, dtype: type) -> None:
    path = write_mask_mat(tmp_path / "Mask_x.mat", MASKS.astype(dtype))
    assert "predicted" in scipy.io.loadmat(path)
    masks = read_mask_mat(path)
    assert masks.dtype == np.uint8
    np.testing.assert_array_equal(masks, MASKS)


def test_mask_reader_accepts_a_single_variable_of_another_name(tmp_path: Path) -> None:
    path = tmp_path / "Mask_x.mat"
    scipy.io.savemat(path, {"masks": MASKS.astype(np.float64)})
    np.testing.assert_array_equal(read_mask_mat(path), MASKS)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"a": MASKS, "b": MASKS}, "no mask variable 'predicted'"),
        ({}, "no mask variable 'predicted'"),
        ({"predicted": MASKS[0]}, r"shape \(8, 10\)"),
        ({"predicted": MASKS * 255}, "binary"),
        ({"predicted": np.full((2, 4, 4), np.nan)}, "binary"),
        ({"predicted": np.array([[["a"]]])}, "numeric"),
        (b"random bytes, not MATLAB", "cannot be read"),
        (None, "not found"),
    ],
)
def test_mask_reader_rejects_bad_files(tmp_path: Path, content: object, problem: str) -> None:
    path = tmp_path / "Mask_bad.mat"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, dict):
        scipy.io.savemat(path, content)
    with pytest.raises(DataError, match=problem) as caught:
        read_mask_mat(path)
    assert caught.value.path == path


@pytest.mark.parametrize("masks", [MASKS[0], MASKS * 2])
def test_mask_writer_rejects_bad_arrays(tmp_path: Path, masks: np.ndarray) -> None:
    with pytest.raises(ValueError):
        write_mask_mat(tmp_path / "Mask_x.mat", masks)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# A tiny HMC-QU download

VIDEO_FRAMES = 7
VIDEO_SIZE = (36, 52)  # (height, width): not square, like the real 422x636 recordings
MASK_SIZE = HMCQU_MASK_SIZE


def _video_frame(t: int) -> np.ndarray:
    """Colour frame whose brightness (20 + 30 t) identifies its index t."""
    level = 20 + 30 * t
    return np.full((*VIDEO_SIZE, 3), (level, level, level), np.uint8)


def _masks(n: int) -> np.ndarray:
    masks = np.zeros((n, MASK_SIZE, MASK_SIZE), np.uint8)
    for t in range(n):
        masks[t, 2 + t : 10 + t, 4:20] = 1  # a band that moves down one pixel per frame
    return masks


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    root = tmp_path / "hmcqu"
    layout = HmcquLayout(
        root, root / "HMC-QU" / "A4C", root / "LV Ground-truth Segmentation Masks", root / "x"
    )
    write_a4c_xlsx(root / "A4C.xlsx", SYNTHETIC_RECORDS)
    for record in SYNTHETIC_RECORDS:
        write_video(video_path(layout, record.echo), map(_video_frame, range(VIDEO_FRAMES)))
        if record.mask_available:
            write_mask_mat(mask_path(layout, record.echo), _masks(record.n_cycle_frames))
    return root


@pytest.mark.parametrize("pointed_at", [".", "HMC-QU", ".."])
def test_find_layout_accepts_the_root_or_one_level_around_it(
    tiny_root: Path, pointed_at: str
) -> None:
    layout = find_layout(tiny_root / pointed_at)
    assert layout.root.resolve() == tiny_root.resolve()
    assert layout.videos_dir.resolve() == (tiny_root / "HMC-QU" / "A4C").resolve()
    assert layout.xlsx.name == "A4C.xlsx"
    assert (layout.masks_dir / "Mask_ES0001 _4CH_1.mat").is_file()


def test_the_a2c_sheet_and_videos_lie_beside_the_a4c_ones(tiny_root: Path) -> None:
    layout = find_layout(tiny_root)
    assert list(read_sheets(layout)) == ["A4C"]  # no A2C.xlsx yet
    write_xlsx(sheet_path(layout, "A2C"), A2C_RECORDS, "A2C")
    sheets = read_sheets(layout)
    assert list(sheets) == ["A4C", "A2C"]
    assert sheets["A2C"] == A2C_RECORDS
    assert sheet_path(layout, "a2c") == tiny_root / "A2C.xlsx"
    assert video_path(layout, "ES0001_CH2_1", "A2C") == (
        tiny_root / "HMC-QU" / "A2C" / "ES0001_CH2_1.avi"
    )
    assert video_path(layout, "ES0001 _4CH_1") == layout.videos_dir / "ES0001 _4CH_1.avi"


@pytest.mark.parametrize(
    "missing", ["HMC-QU/A4C", "LV Ground-truth Segmentation Masks", "A4C.xlsx"]
)
def test_find_layout_says_what_is_missing_and_where(tiny_root: Path, missing: str) -> None:
    part = tiny_root / missing
    shutil.rmtree(part) if part.is_dir() else part.unlink()
    with pytest.raises(DataError, match="missing") as caught:
        find_layout(tiny_root)
    assert str(part) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("nowhere", "HMC-QU folder not found"),
        ("A4C.xlsx", "is a file; give the HMC-QU folder"),  # the sheet given for its folder
    ],
)
def test_find_layout_rejects_what_is_no_folder(tmp_path: Path, name: str, says: str) -> None:
    if name.endswith(".xlsx"):
        (tmp_path / name).write_bytes(b"PK")
    with pytest.raises(DataError, match=says) as caught:
        find_layout(tmp_path / name)
    assert caught.value.path == tmp_path / name


@pytest.mark.parametrize("size", [MASK_SIZE, 16])
def test_load_dataset_aligns_frames_and_masks(tiny_root: Path, size: int) -> None:
    recordings = load_dataset(tiny_root, size=size, progress=False)

    with_masks = [record for record in SYNTHETIC_RECORDS if record.mask_available]
    assert [recording.name for recording in recordings] == [r.echo for r in with_masks]
    for recording, record in zip(recordings, with_masks, strict=True):
        assert recording.patient == record.patient
        assert recording.label == int(record.mi)
        assert recording.source == "hmcqu"
        assert recording.meta == {
            "segment_mi": record.segment_dict(),
            "reference_frame": record.reference_frame,
            "end_of_cycle": record.end_of_cycle,
        }
        assert recording.frames.shape == (record.n_cycle_frames, size, size)
        assert recording.frames.dtype == np.float32
        # Frame i of the cycle is video frame reference_frame - 1 + i.
        expected = [
            _video_frame(t).mean() / 255.0
            for t in range(record.reference_frame - 1, record.end_of_cycle)
        ]
        np.testing.assert_allclose(recording.frames.mean(axis=(1, 2)), expected, atol=0.02)
        masks = _masks(record.n_cycle_frames)
        assert recording.masks.dtype == np.uint8
        # Nearest-neighbour oracle: output pixel i samples input pixel floor(i * in / out).
        nearest = np.arange(size) * MASK_SIZE // size
        expected_masks = masks[:, nearest][:, :, nearest]
        np.testing.assert_array_equal(recording.masks, expected_masks)


def test_load_dataset_can_pick_recordings_by_name(tiny_root: Path) -> None:
    recordings = load_dataset(tiny_root, progress=False, echoes=["ES00077 N_4CH_1"])
    assert [recording.name for recording in recordings] == ["ES00077 N_4CH_1"]
    assert recordings[0].label == 0


@pytest.mark.parametrize(
    ("echo", "problem"),
    [("ES9999 _4CH_1", "no recording named 'ES9999 _4CH_1'"), ("ES000101 _4CH_1", "no mask")],
)
def test_load_dataset_rejects_names_it_cannot_load(
    tiny_root: Path, echo: str, problem: str
) -> None:
    with pytest.raises(DataError, match=problem) as caught:
        load_dataset(tiny_root, progress=False, echoes=[echo])
    assert caught.value.path.name == "A4C.xlsx"


def test_load_dataset_skips_recordings_without_video_with_a_warning(
    tiny_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tiny_root / "HMC-QU" / "A4C" / "ES0001 _4CH_1.avi").unlink()
    with caplog.at_level(logging.WARNING, logger="lvwall.data.hmcqu"):
        recordings = load_dataset(tiny_root, progress=False)
    assert [recording.name for recording in recordings] == ["ES00077 N_4CH_1"]
    assert "1 of 2 recordings" in caplog.text


def test_load_dataset_without_any_video_raises(tiny_root: Path) -> None:
    for video in (tiny_root / "HMC-QU" / "A4C").iterdir():
        video.unlink()
    with pytest.raises(DataError, match="no recording with both"):
        load_dataset(tiny_root, progress=False)


SCAN_SIZE = (120, 160)  # (height, width) of the scanner frames with a fan and overlays
FAN_APEX, FAN_RADIUS = (80, 8), 100  # (x, y) and pixels; the fan opens downwards


def _scanner_frame(t: int) -> np.ndarray:
    """A speckled fan, with scanner text (a block) and an ECG trace (a line) outside it."""
    fan = np.zeros(SCAN_SIZE, np.uint8)
    cv2.ellipse(fan, FAN_APEX, (FAN_RADIUS, FAN_RADIUS), 0, 50, 130, 1, -1)
    speckle = np.random.default_rng(t).integers(60, 200, SCAN_SIZE, dtype=np.uint8)
    grey = np.where(fan > 0, speckle, 0).astype(np.uint8)
    grey[4:16, 4:30] = 230  # text
    grey[110:113, 2:40] = 200  # ECG trace
    return np.repeat(grey[:, :, None], 3, axis=2)


def test_load_recording_blanks_the_overlays_outside_the_sector_as_predict_does(
    tiny_root: Path,
) -> None:
    layout = find_layout(tiny_root)
    record = SYNTHETIC_RECORDS[0]
    video = write_video(video_path(layout, record.echo), map(_scanner_frame, range(VIDEO_FRAMES)))
    size = 64

    recording = load_recording(layout, record, size=size)

    # What lvwall predict feeds the network: prepared frames, sector found in the first ones.
    cycle = read_frames(video, record.reference_frame - 1, record.end_of_cycle)
    prepared = np.stack([prepare_frame(frame, size) for frame in cycle])
    np.testing.assert_array_equal(recording.frames, find_sector(prepared).apply(prepared))
    # The overlays were there and are gone; the fan is kept.
    text, ecg = np.s_[:, 3:8, 2:12], np.s_[:, 59:60, 1:16]
    assert prepared[text].min() > 0.5 and prepared[ecg].min() > 0.3
    assert not recording.frames[text].any() and not recording.frames[ecg].any()
    fan = np.s_[:, 20:40, 24:40]
    np.testing.assert_array_equal(recording.frames[fan], prepared[fan])
    # The masks are not blanked: nearest-neighbour copies of the mask file.
    nearest = np.arange(size) * MASK_SIZE // size
    np.testing.assert_array_equal(
        recording.masks, _masks(record.n_cycle_frames)[:, nearest][:, :, nearest]
    )


def _remove(path: Path) -> None:
    path.unlink()


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(2048))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _shorten_video(path: Path) -> None:
    write_video(path, map(_video_frame, range(3)))


def _wrong_mask_count(path: Path) -> None:
    write_mask_mat(path, _masks(2))


def _wrong_mask_shape(path: Path) -> None:
    write_mask_mat(path, np.zeros((4, 100, MASK_SIZE), np.uint8))


def _mask_without_variable(path: Path) -> None:
    scipy.io.savemat(path, {"a": _masks(4), "b": _masks(4)})


# echo "ES0001 _4CH_1" covers video frames 2..5 with 4 masks
BROKEN_FILES = [
    ("video", _remove, "not found"),
    ("video", _garbage, "cannot be decoded"),
    ("video", _truncate, "truncated"),
    ("video", _shorten_video, "give 2 video frames, but .*Mask_ES0001 _4CH_1.mat holds 4"),
    ("mask", _remove, "not found"),
    ("mask", _wrong_mask_count, "give 4 video frames, but .*Mask_ES0001 _4CH_1.mat holds 2"),
    ("mask", _wrong_mask_shape, r"shape \(4, 100, 224\), but .* have the shape \(4, 224, 224\)"),
    ("mask", _mask_without_variable, "no mask variable"),
]


@pytest.mark.parametrize(("part", "damage", "problem"), BROKEN_FILES)
def test_load_recording_names_the_broken_file(
    tiny_root: Path, part: str, damage: Callable[[Path], None], problem: str
) -> None:
    layout = find_layout(tiny_root)
    record = SYNTHETIC_RECORDS[0]
    broken = (video_path if part == "video" else mask_path)(layout, record.echo)
    damage(broken)
    with pytest.raises(DataError, match=problem) as caught:
        load_recording(layout, record, size=MASK_SIZE)
    assert str(broken) in str(caught.value)
