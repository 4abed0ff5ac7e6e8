"""The dataset registry: which reader reads which folder, and mixing folders."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk  # noqa: N813

from lvwall.data import hmcqu, registry
from lvwall.data.hmcqu import EchoRecord, write_a4c_xlsx, write_mask_mat
from lvwall.data.records import HMCQU_MASK_SIZE
from lvwall.data.video import write_video
from lvwall.errors import DataError


def _labels(height: int = 24, width: int = 32) -> np.ndarray:
    labels = np.zeros((height, width), np.uint8)
    labels[4:-4, 4:-4] = 1
    labels[4:10, 3:-3] = 2
    return labels


def _camus_png(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    name = "patient0001_4CH_ED.png"
    cv2.imwrite(str(root / "images" / name), np.full((24, 32), 90, np.uint8))
    cv2.imwrite(str(root / "masks" / name), _labels())
    row = (
        "patient0001",
        "4CH",
        "ED",
        f"images/{name}",
        f"masks/{name}",
        int((_labels() == 2).sum()),
    )
    columns = ["patient", "view", "phase", "image", "mask", "wall_pixels"]
    pd.DataFrame([row], columns=columns).to_csv(root / "manifest.csv", index=False)
    return root


def _camus_original(root: Path) -> Path:
    folder = root / "patient0002"
    folder.mkdir(parents=True)
    sitk.WriteImage(
        sitk.GetImageFromArray(np.full((24, 32), 60, np.uint8)),
        str(folder / "patient0002_4CH_ED.nii.gz"),
    )
    sitk.WriteImage(sitk.GetImageFromArray(_labels()), str(folder / "patient0002_4CH_ED_gt.nii.gz"))
    return root


def _hmcqu(root: Path) -> Path:
    """A one-recording HMC-QU download: AVI, MATLAB mask and A4C.xlsx."""
    record = EchoRecord("ES0001 _4CH_1", (True,) * 6, 1, 3, True)
    layout = hmcqu.HmcquLayout(
        root, root / hmcqu.VIDEOS_SUBDIR, root / hmcqu.MASKS_SUBDIR, root / hmcqu.XLSX_NAME
    )
    layout.videos_dir.mkdir(parents=True)
    frames = [np.full((48, 64, 3), 40 * (t + 1), np.uint8) for t in range(3)]
    write_video(hmcqu.video_path(layout, record.echo), frames)
    masks = np.zeros((3, HMCQU_MASK_SIZE, HMCQU_MASK_SIZE), np.uint8)
    masks[:, 56:84, 56:168] = 1
    write_mask_mat(hmcqu.mask_path(layout, record.echo), masks)
    write_a4c_xlsx(layout.xlsx, [record])
    return root


@pytest.mark.parametrize(
    ("make", "expected"),
    [(_camus_png, "camus"), (_camus_original, "camus"), (_hmcqu, "hmcqu")],
)
def test_detect_format(tmp_path: Path, make, expected: str) -> None:
    assert registry.detect_format(make(tmp_path / "data")) == expected


def test_camus_inside_an_hmcqu_download_is_still_camus(tmp_path: Path) -> None:
    _hmcqu(tmp_path)
    assert registry.detect_format(_camus_png(tmp_path / "camus")) == "camus"


def test_real_camus_dev_set_is_camus(camus_dev_dir: Path) -> None:
    assert registry.detect_format(camus_dev_dir) == "camus"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp, "no known dataset layout"),
        (lambda tmp: tmp / "absent", "dataset folder not found"),
        (lambda tmp: _camus_png(tmp / "png") / "manifest.csv", "is a file"),
    ],
)
def test_unknown_folder_names_the_path(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(DataError, match=message) as info:
        registry.load_labelled([path])
    assert info.value.path == path


def test_load_labelled_mixes_formats_in_order(tmp_path: Path) -> None:
    paths = [
        _hmcqu(tmp_path / "hmcqu"),
        _camus_png(tmp_path / "png"),
        str(_camus_original(tmp_path / "original")),
    ]
    recordings = registry.load_labelled(paths, size=32, progress=False)

    assert [(r.name, r.source, len(r)) for r in recordings] == [
        ("ES0001 _4CH_1", "hmcqu", 3),
        ("patient0001_4CH", "camus", 1),
        ("patient0002_4CH", "camus", 1),
    ]
    assert {r.frames.shape[1:] for r in recordings} == {(32, 32)}


def test_a_second_copy_of_a_recording_keeps_its_patient(tmp_path: Path) -> None:
    first = _camus_png(tmp_path / "a")
    second = _camus_png(tmp_path / "b")
    recordings = registry.load_labelled([first, second], size=16, progress=False)

    assert [(r.name, r.patient) for r in recordings] == [
        ("patient0001_4CH", "patient0001"),
        ("patient0001_4CH@b", "patient0001"),
    ]


def test_load_labelled_rejects_a_folder_read_twice(tmp_path: Path) -> None:
    folder = _camus_png(tmp_path / "a")
    with pytest.raises(DataError, match="is given twice") as info:
        registry.load_labelled([folder, folder], size=16, progress=False)
    assert info.value.path == folder


@pytest.mark.parametrize(
    ("views", "names"),
    [
        (None, ["ES0001 _4CH_1", "patient0001_4CH"]),
        (["a4c"], ["ES0001 _4CH_1", "patient0001_4CH"]),
        (["A4C", "A2C"], ["ES0001 _4CH_1", "patient0001_4CH"]),
    ],
)
def test_load_labelled_keeps_the_views_asked_for(tmp_path: Path, views, names) -> None:
    paths = [_hmcqu(tmp_path / "hmcqu"), _camus_png(tmp_path / "png")]
    recordings = registry.load_labelled(paths, size=16, progress=False, views=views)
    assert [r.name for r in recordings] == names


def test_load_labelled_says_when_no_recording_has_the_view(tmp_path: Path) -> None:
    folder = _camus_png(tmp_path / "png")
    with pytest.raises(DataError, match="holds no A2C recordings \\(views found: A4C\\)"):
        registry.load_labelled([folder], size=16, progress=False, views=["A2C"])


@pytest.mark.parametrize(("paths", "message"), [([], "paths is empty"), ("some/dir", "single")])
def test_load_labelled_bad_arguments(paths, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry.load_labelled(paths)
