"""Uploads kept as predict would read them: safe names, the size limit, zips of frames."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from echo_inputs import write_image
from lvwall.data.inputs import discover
from lvwall.errors import DataError
from lvwall.serve.uploads import (
    UploadTooLargeError,
    recording_path,
    safe_filename,
    save_upload,
    unpack_frames,
)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("ES0001 _4CH_1.gif", "ES0001 _4CH_1.gif"),
        ("C:\\Users\\me\\echo.avi", "echo.avi"),
        ("../../etc/passwd", "passwd"),
        ('a:b?"c".dcm', "a_b__c_.dcm"),
        ("tab\there.png", "tab_here.png"),
        ("", "upload"),
        ("..", "upload"),
    ],
)
def test_only_the_last_part_of_the_name_is_kept_and_made_safe(sent: str, kept: str) -> None:
    assert safe_filename(sent) == kept


def test_an_upload_is_saved_under_its_name_up_to_the_limit(tmp_path: Path) -> None:
    saved = save_upload(io.BytesIO(b"x" * 100), tmp_path / "a", "echo.avi", 100)
    assert saved == tmp_path / "a" / "echo.avi" and saved.stat().st_size == 100
    with pytest.raises(UploadTooLargeError, match="big.avi: is larger than .* limit of 1e-05 MB"):
        save_upload(io.BytesIO(b"x" * 11), tmp_path / "b", "big.avi", 10)


def _zip(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "clip.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _png(tmp_path: Path, value: int) -> bytes:
    return write_image(
        tmp_path / f"{value}.png", np.full((40, 40, 3), value, np.uint8)
    ).read_bytes()


def test_the_frames_of_a_zip_unpack_in_natural_order(tmp_path: Path) -> None:
    members = {f"clip/f{n}.png": _png(tmp_path, n) for n in (10, 2, 1)}
    members |= {"clip/readme.txt": b"notes", "__MACOSX/clip/._f1.png": b"", "clip/.hidden.png": b""}
    folder = recording_path(_zip(tmp_path, members), limit_bytes=10**6)
    assert folder == tmp_path / "clip"
    (source,) = discover([folder])
    frames = list(source.open().frames())
    assert [int(frame[0, 0, 0]) for frame in frames] == [1, 2, 10]


@pytest.mark.parametrize(
    ("members", "error", "message"),
    [
        ({"notes.txt": b"x"}, DataError, "is a zip without frame images"),
        ({"f1.png": b"x" * 5000}, UploadTooLargeError, "clip.zip: is larger than"),
    ],
)
def test_a_zip_without_frames_or_too_large_unpacked_is_refused(
    tmp_path: Path, members: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        unpack_frames(_zip(tmp_path, members), tmp_path / "out", limit_bytes=1000)


def test_a_file_that_is_no_zip_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK not really")
    with pytest.raises(DataError, match="broken.zip: is not a readable zip file"):
        recording_path(path, 1000)


def test_other_uploads_are_read_as_they_are(tmp_path: Path) -> None:
    assert recording_path(tmp_path / "echo.avi", 10) == tmp_path / "echo.avi"
