"""Binary masks in NPZ files, a frame at a time: :class:`MaskSpool` gathers a recording's
masks on disk as they are segmented, :func:`iter_npz_frames` reads them back one by one and
:func:`npz_shape` reads an array's shape from its header, so that no recording's masks are
ever whole in memory."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lvwall.errors import DataError


class MaskSpool:
    """Binary masks of one size (uint8 (H, W)), appended frame by frame to a raw file and
    copied in chunks into an NPZ member (:meth:`write_npy`): a recording's masks are never
    all in memory. A context manager that deletes the raw file on leaving."""

    #: Bytes copied at a time into the NPZ member.
    CHUNK_BYTES = 16 * 2**20

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._frame_shape: tuple[int, int] | None = None
        self.n_frames = 0

    def __enter__(self) -> MaskSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)

    @property
    def shape(self) -> tuple[int, ...]:
        """(frames, H, W) of what was appended; (0, 0, 0) before the first frame."""
        return (self.n_frames, *(self._frame_shape or (0, 0)))

    def append(self, mask: np.ndarray) -> None:
        """Add one frame's mask; ValueError when it differs in size from the first."""
        if self._frame_shape is None:
            self._frame_shape = (int(mask.shape[0]), int(mask.shape[1]))
        elif mask.shape != self._frame_shape:
            raise ValueError(f"mask {mask.shape} differs from the first, {self._frame_shape}")
        self._handle.write(np.ascontiguousarray(mask, dtype=np.uint8).tobytes())
        self.n_frames += 1

    def write_npy(self, handle: BinaryIO) -> None:
        """Write the masks to ``handle`` as one ``.npy`` array (frames, H, W) of uint8."""
        self._handle.flush()
        header = {"descr": "|u1", "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_2_0(handle, header)
        with self.path.open("rb") as raw:
            shutil.copyfileobj(raw, handle, self.CHUNK_BYTES)


def iter_npz_frames(path: Path, key: str) -> Iterator[np.ndarray]:
    """The frames of the (frames, H, W) array ``key`` of the NPZ file ``path``, read one at a
    time from the compressed member (never the whole array in memory); :class:`DataError`
    naming ``path`` when it holds no such array or ends early."""
    member = f"{key}.npy"
    with zipfile.ZipFile(path) as archive:
        if member not in archive.namelist():
            raise DataError(path, f"holds no array {key!r}")
        with archive.open(member) as handle:
            shape, fortran_order, dtype = _read_npy_header(handle)
            if len(shape) != 3 or fortran_order:
                raise DataError(path, f"holds {key!r} of shape {shape}, not (frames, H, W)")
            frame_bytes = shape[1] * shape[2] * dtype.itemsize
            for _ in range(shape[0]):
                data = handle.read(frame_bytes)
                if len(data) != frame_bytes:
                    raise DataError(path, f"ends inside the array {key!r} (truncated)")
                yield np.frombuffer(data, dtype=dtype).reshape(shape[1:])


def _read_npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of the ``.npy`` stream ``handle``, read past its header."""
    version = np.lib.format.read_magic(handle)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    return read_header(handle)


def npz_shape(path: Path, key: str) -> tuple[int, ...] | None:
    """The shape of array ``key`` in the NPZ file ``path``, from its header alone (nothing
    is decompressed); ``None`` when the file has no such array."""
    with zipfile.ZipFile(path) as archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            return None
        with archive.open(member) as handle:
            shape, _, _ = _read_npy_header(handle)
    return tuple(int(side) for side in shape)
