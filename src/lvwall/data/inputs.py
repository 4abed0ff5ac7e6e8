"""Any A4C recording a user has: videos, DICOM files, single images and folders of frames.

:func:`discover` turns the paths a user typed into :class:`InputSource` objects, one per
recording; :meth:`InputSource.open` checks the file and gives a :class:`Recording`, whose
:meth:`Recording.frames` decodes one frame at a time, so a recording is never held in memory
whole. Every problem with a file is a :class:`~lvwall.errors.DataError` naming it, raised when
that source is opened or read, so one bad file never stops the others.

Output names come from file and folder names only. Nothing read from a DICOM header other
than pixel geometry and timing (never patient, study or institution fields) leaves this
module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lvwall.errors import DataError

VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".gif", ".mov", ".mkv", ".m4v", ".wmv", ".mpg"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})

#: Frames larger than this on either side are refused (not resized): no echo is that large,
#: and decoding one would take gigabytes.
MAX_SIDE = 8192
#: Frames smaller than this on either side are refused: echo frames are hundreds of pixels a
#: side, and the 224-pixel model input would be mostly interpolation.
MIN_SIDE = 32

#: DICOM Part 10 files carry this marker after a 128-byte preamble, whatever their name.
_DICOM_MAGIC_OFFSET, _DICOM_MAGIC = 128, b"DICM"


@dataclass(frozen=True)
class Recording:
    """An opened recording: its geometry and timing, and a way to decode its frames.

    ``fps`` and ``n_frames`` are ``None`` where the file does not say. ``pixel_spacing_mm``
    is the (row, column) size of one pixel in millimetres, known only for DICOM files that
    record it. ``frame_count_is_exact`` says whether ``n_frames`` is a count that a complete
    file always reaches (images, DICOM) rather than a container's estimate (video: MP4 edit
    lists trim it, and :func:`lvwall.data.video.iter_frames` checks truncation itself where
    the container's count is reliable).
    """

    path: Path
    name: str
    kind: str
    width: int
    height: int
    n_frames: int | None
    fps: float | None
    pixel_spacing_mm: tuple[float, float] | None
    decode: Callable[[], Iterator[np.ndarray]]
    frame_count_is_exact: bool = True

    def frames(self) -> Iterator[np.ndarray]:
        """Yield the frames one at a time as RGB uint8 (height, width, 3) arrays.

        Raises :class:`DataError` for a recording with no frames, a frame of another size
        than the first, or a file that fails to decode part-way or ends before the number of
        frames its header announces.
        """
        n_frames = 0
        for frame in self.decode():
            if frame.shape[:2] != (self.height, self.width):
                raise DataError(
                    self.path,
                    f"frame {n_frames} is {frame.shape[1]}x{frame.shape[0]} pixels but the "
                    f"recording is {self.width}x{self.height}",
                )
            n_frames += 1
            yield frame
        if n_frames == 0:
            raise DataError(self.path, "contains no frames")
        # A video cut short can decode without an error, only with fewer frames.
        if self.frame_count_is_exact and self.n_frames is not None and n_frames < self.n_frames:
            raise DataError(
                self.path,
                f"ended after {n_frames} of the {self.n_frames} frames its header announces "
                "(is the file truncated?)",
            )


@dataclass(frozen=True)
class InputSource:
    """One recording to segment: a video, DICOM or image file, or a folder of frame images.

    ``name`` is unique among the sources of one :func:`discover` call and comes from the
    file or folder name only.
    """

    path: Path
    name: str

    def open(self) -> Recording:
        """Check the file and read its geometry; :class:`DataError` names what is wrong."""
        kind = input_kind(self.path)
        recording = READERS[kind](self.path, self.name)
        _check_size(recording)
        return recording


def input_kind(path: Path) -> str:
    """The key in :data:`READERS` for ``path``; :class:`DataError` when there is none."""
    if path.is_dir():
        return "image-folder"
    if not path.exists():
        raise DataError(path, "does not exist")
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in DICOM_SUFFIXES or _has_dicom_marker(path):
        return "dicom"
    raise DataError(
        path,
        "is not a recording lvwall can read (expected a video "
        f"{_listing(VIDEO_SUFFIXES)}, an image {_listing(IMAGE_SUFFIXES)} or a DICOM file)",
    )


def discover(
    paths: Iterable[str | Path], *, image_folders_as_recordings: bool = True
) -> list[InputSource]:
    """One :class:`InputSource` per recording found in ``paths``.

    A file is one recording. A folder holding only images is one recording whose frames are
    the images in natural order (``frame2`` before ``frame10``), unless
    ``image_folders_as_recordings`` is false, when each image is its own recording. Any
    other folder is searched, and each video, DICOM or image file in it (or image folder
    below it) is a recording; files of other kinds inside folders are skipped. Paths that
    do not exist still give a source, which fails when opened, so that the caller can report
    it beside the others.
    """
    found: list[Path] = []
    for path in paths:
        found.extend(_expand(Path(path), image_folders_as_recordings, top_level=True))
    # The same file named twice (or reached twice) is one recording; keep the path as typed.
    by_target: dict[Path, Path] = {}
    for path in found:
        by_target.setdefault(path.resolve(), path)
    unique = list(by_target.values())
    names = _unique_names(unique)
    return [InputSource(path, name) for path, name in zip(unique, names, strict=True)]


def _expand(path: Path, image_folders_as_recordings: bool, *, top_level: bool) -> list[Path]:
    if not path.is_dir():
        return [path] if top_level or _looks_like_recording(path) else []
    # Hidden files and files of other kinds (notes, thumbnails) are neither recordings nor
    # reasons to split a folder of frames.
    children = sorted(
        (
            child
            for child in path.iterdir()
            if not child.name.startswith(".") and (child.is_dir() or _looks_like_recording(child))
        ),
        key=lambda child: natural_key(child.name),
    )
    if not children:
        return [path] if top_level else []
    if image_folders_as_recordings and all(_is_image(child) for child in children):
        return [path]
    return [
        recording
        for child in children
        for recording in _expand(child, image_folders_as_recordings, top_level=False)
    ]


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders the digit runs of ``name`` by value: ``f2`` before ``f10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


def _unique_names(paths: list[Path]) -> list[str]:
    """File stems (folder names), made unique by the file suffix and then by a counter."""
    names: list[str] = []
    for path in paths:
        stem = (path.name if path.is_dir() else path.stem) or "recording"
        name = stem
        if name in names and path.suffix and not path.is_dir():
            name = f"{stem}_{path.suffix.lstrip('.').lower()}"
        counter = 2
        while name in names:
            name, counter = f"{stem}-{counter}", counter + 1
        names.append(name)
    return names


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _looks_like_recording(path: Path) -> bool:
    suffix = path.suffix.lower()
    known = VIDEO_SUFFIXES | IMAGE_SUFFIXES | DICOM_SUFFIXES
    return path.is_file() and (suffix in known or _has_dicom_marker(path))


def _has_dicom_marker(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(_DICOM_MAGIC_OFFSET)
            return handle.read(len(_DICOM_MAGIC)) == _DICOM_MAGIC
    except OSError:
        return False


def _listing(suffixes: frozenset[str]) -> str:
    return "(" + ", ".join(sorted(suffixes)) + ")"


def _check_size(recording: Recording) -> None:
    width, height = recording.width, recording.height
    if width < 1 or height < 1:
        raise DataError(recording.path, f"has empty {width}x{height}-pixel frames")
    if max(width, height) > MAX_SIDE:
        raise DataError(
            recording.path,
            f"has {width}x{height}-pixel frames, larger than the {MAX_SIDE}-pixel limit per side",
        )
    if min(width, height) < MIN_SIDE:
        raise DataError(
            recording.path,
            f"has {width}x{height}-pixel frames, smaller than the {MIN_SIDE}-pixel minimum "
            "per side of an echo frame",
        )


def _open_video(path: Path, name: str) -> Recording:
    from lvwall.data.video import iter_frames, probe

    info = probe(path)
    return Recording(
        path=path,
        name=name,
        kind="video",
        width=info.width,
        height=info.height,
        n_frames=info.n_frames,
        fps=info.fps or None,
        pixel_spacing_mm=None,
        decode=lambda: iter_frames(path),
        frame_count_is_exact=False,
    )


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header, before anything is decoded."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        # Pillow warns of images above ~89 megapixels; such a size is refused by _check_size.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.size
    except Image.DecompressionBombError:
        raise DataError(
            path, f"is an image larger than the {MAX_SIDE}-pixel limit per side"
        ) from None
    except UnidentifiedImageError:
        raise DataError(path, "cannot be read as an image (unknown or corrupt format)") from None
    except OSError as error:
        raise DataError(path, f"cannot be read as an image ({error})") from None


def _read_image(path: Path) -> np.ndarray:
    import cv2

    # OpenCV rather than Pillow: it brings 16-bit and palette images to 8-bit RGB correctly.
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(path, "cannot be decoded as an image (is the file complete?)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _open_image(path: Path, name: str) -> Recording:
    width, height = _image_size(path)
    return Recording(
        path=path,
        name=name,
        kind="image",
        width=width,
        height=height,
        n_frames=1,
        fps=None,
        pixel_spacing_mm=None,
        decode=lambda: iter([_read_image(path)]),
    )


def _open_image_folder(path: Path, name: str) -> Recording:
    images = sorted(
        (child for child in path.iterdir() if _is_image(child) and not child.name.startswith(".")),
        key=lambda child: natural_key(child.name),
    )
    if not images:
        raise DataError(
            path, f"is a folder without video, DICOM or image files {_listing(IMAGE_SUFFIXES)}"
        )
    width, height = _image_size(images[0])
    return Recording(
        path=path,
        name=name,
        kind="image-folder",
        width=width,
        height=height,
        n_frames=len(images),
        fps=None,
        pixel_spacing_mm=None,
        decode=lambda: (_read_image(image) for image in images),
    )


def _open_dicom(path: Path, name: str) -> Recording:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        # Large values (the pixel data) stay on disk until they are needed.
        dataset = pydicom.dcmread(path, defer_size="64 KB")
    except (InvalidDicomError, OSError, ValueError, EOFError) as error:
        raise DataError(path, f"cannot be read as a DICOM file ({error})") from None
    if not any(tag in dataset for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise DataError(path, "is a DICOM file without pixel data (no image to segment)")
    try:
        height, width = int(dataset.Rows), int(dataset.Columns)
        n_frames = int(dataset.get("NumberOfFrames") or 1)
    except (AttributeError, TypeError, ValueError) as error:
        raise DataError(path, f"is a DICOM image without a valid frame size ({error})") from None
    monochrome1 = dataset.get("PhotometricInterpretation", "") == "MONOCHROME1"
    bits_stored = int(dataset.get("BitsStored") or 8)
    return Recording(
        path=path,
        name=name,
        kind="dicom",
        width=width,
        height=height,
        n_frames=n_frames,
        fps=_dicom_fps(dataset),
        pixel_spacing_mm=_dicom_spacing_mm(dataset),
        decode=lambda: _dicom_frames(path, bits_stored, monochrome1),
    )


def _dicom_frames(path: Path, bits_stored: int, monochrome1: bool) -> Iterator[np.ndarray]:
    from pydicom.pixels import iter_pixels

    index = 0
    try:
        # iter_pixels reads one frame at a time from the file and turns YBR into RGB.
        for frame in iter_pixels(path):
            yield _dicom_to_rgb(frame, bits_stored, monochrome1)
            index += 1
    except (ValueError, RuntimeError, NotImplementedError, OSError, EOFError) as error:
        raise DataError(
            path, f"has pixel data that cannot be decoded after {index} frames ({error})"
        ) from None


def _dicom_to_rgb(frame: np.ndarray, bits_stored: int, monochrome1: bool) -> np.ndarray:
    if frame.dtype != np.uint8:
        top = float(2 ** min(bits_stored, 16) - 1)
        frame = np.clip(frame.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    if frame.ndim == 2:
        if monochrome1:
            frame = 255 - frame
        return np.repeat(frame[:, :, None], 3, axis=2)
    return np.ascontiguousarray(frame[:, :, :3])


def _dicom_fps(dataset: object) -> float | None:
    """Frames per second from Frame Time (ms), Cine Rate or Recommended Display Frame Rate."""
    frame_time = _positive(getattr(dataset, "FrameTime", None))
    if frame_time:
        return 1000.0 / frame_time
    return _positive(getattr(dataset, "CineRate", None)) or _positive(
        getattr(dataset, "RecommendedDisplayFrameRate", None)
    )


def _dicom_spacing_mm(dataset: object) -> tuple[float, float] | None:
    """(row, column) pixel size in mm: Pixel Spacing, or the ultrasound region calibration.

    Ultrasound files calibrate regions (Sequence of Ultrasound Regions); Physical Delta X/Y
    are in cm when the physical units code is 3 (DICOM PS3.3 C.8.5.5.1.15).
    """
    spacing = getattr(dataset, "PixelSpacing", None)
    if spacing is not None and len(spacing) == 2:
        rows, columns = (_positive(value) for value in spacing)
        if rows and columns:
            return rows, columns
    for region in getattr(dataset, "SequenceOfUltrasoundRegions", None) or []:
        cm_units = 3
        if (
            getattr(region, "PhysicalUnitsXDirection", None) == cm_units
            and getattr(region, "PhysicalUnitsYDirection", None) == cm_units
        ):
            dx = _positive(getattr(region, "PhysicalDeltaX", None))
            dy = _positive(getattr(region, "PhysicalDeltaY", None))
            if dx and dy:
                return dy * 10.0, dx * 10.0
    return None


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


#: Opens a path of each kind; :func:`input_kind` picks the key.
READERS: dict[str, Callable[[Path, str], Recording]] = {
    "video": _open_video,
    "image": _open_image,
    "image-folder": _open_image_folder,
    "dicom": _open_dicom,
}
