"""An uploaded file, kept as the recording ``lvwall predict`` would read: under its own file
name (the output name follows from it, as in predict), within the size limit, and a zip of
frame images unpacked into a folder of frames.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lvwall.data import IMAGE_SUFFIXES, natural_key
from lvwall.errors import DataError, LvwallError

#: The default upload limit, in MB (10^6 bytes): a long multi-frame DICOM fits; it bounds
#: the disk and time that one upload can take.
DEFAULT_MAX_UPLOAD_MB = 512
#: Most frames a zip of frame images may hold.
MAX_ZIP_FRAMES = 10_000
_COPY_CHUNK = 1 << 20
#: Characters that cannot stand in a file name on some system (and control characters).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


class UploadTooLargeError(LvwallError):
    """An upload over the server's size limit (HTTP 413, whether the upload or the frames
    of its zip, unpacked, are over it)."""

    http_status = 413


def upload_too_large(
    limit_bytes: int, size_bytes: int | None = None, name: str = ""
) -> UploadTooLargeError:
    """The sentence for an upload over ``limit_bytes``, naming the file and its size where
    they are known."""
    subject = f"{name}: is" if name else "the upload is"
    size = f"{size_bytes / 1e6:.1f} MB, " if size_bytes is not None else ""
    return UploadTooLargeError(
        f"{subject} {size}larger than this server's upload limit of {limit_bytes / 1e6:g} MB "
        "(start it with a larger lvwall serve --max-upload-mb)"
    )


def safe_filename(name: str) -> str:
    """The last part of an uploaded file's name (browsers may send a whole Windows path),
    with characters that cannot be in a file name replaced by ``_``."""
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return base if base.strip(".") else "upload"


def save_upload(source: BinaryIO, folder: Path, filename: str, limit_bytes: int) -> Path:
    """Copy an uploaded file into ``folder`` under its safe file name; the file grows no
    larger than ``limit_bytes`` (:class:`UploadTooLargeError` beyond)."""
    name = safe_filename(filename)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    written = 0
    with target.open("wb") as handle:
        while chunk := source.read(_COPY_CHUNK):
            written += len(chunk)
            if written > limit_bytes:
                raise upload_too_large(limit_bytes, name=name)
            handle.write(chunk)
    return target


def recording_path(upload: Path, limit_bytes: int) -> Path:
    """What to read as the recording: the uploaded file, or for a ``.zip`` the folder of its
    frame images (:func:`unpack_frames`)."""
    if upload.suffix.lower() == ".zip":
        return unpack_frames(upload, upload.with_suffix(""), limit_bytes)
    return upload


def unpack_frames(archive: Path, folder: Path, limit_bytes: int) -> Path:
    """Unpack the frame images of a zip into ``folder`` as one folder of frames, numbered in
    the natural order of their paths in the zip (``f2`` before ``f10``).

    Other members (folders, hidden files, notes) are skipped. :class:`DataError` naming the
    zip when it cannot be read, holds no images or more than :data:`MAX_ZIP_FRAMES`;
    :class:`UploadTooLargeError` when its images unpack to more than ``limit_bytes``.
    """
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = sorted(
                (info for info in bundle.infolist() if _is_frame_image(info)),
                key=lambda info: natural_key(info.filename),
            )
            if not members:
                raise DataError(
                    archive,
                    "is a zip without frame images (expected "
                    f"{', '.join(sorted(IMAGE_SUFFIXES))} files)",
                )
            if len(members) > MAX_ZIP_FRAMES:
                raise DataError(
                    archive, f"holds {len(members)} images, more than {MAX_ZIP_FRAMES} frames"
                )
            folder.mkdir(parents=True)
            unpacked = 0
            digits = len(str(len(members)))
            for number, info in enumerate(members, start=1):
                suffix = PurePosixPath(info.filename).suffix.lower()
                target = folder / f"frame{number:0{digits}d}{suffix}"
                # Counted while unpacking: a zip's stated sizes can lie.
                with bundle.open(info) as source, target.open("wb") as handle:
                    while chunk := source.read(_COPY_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > limit_bytes:
                            raise upload_too_large(limit_bytes, name=archive.name)
                        handle.write(chunk)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as error:
        raise DataError(archive, f"is not a readable zip file ({error})") from None
    return folder


def _is_frame_image(info: zipfile.ZipInfo) -> bool:
    path = PurePosixPath(info.filename)
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in path.parts)
    return not info.is_dir() and not hidden and path.suffix.lower() in IMAGE_SUFFIXES
