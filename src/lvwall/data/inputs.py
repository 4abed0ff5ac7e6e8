"""Any A4C or A2C recording a user has: videos, DICOM files, single images and folders of frames.

:func:`discover` turns the paths a user typed into :class:`InputSource` objects, one per
recording; :meth:`InputSource.open` checks the file and gives a :class:`Recording`, whose
:meth:`Recording.frames` decodes one frame at a time, so a recording is never held in memory
whole. Every problem with a file is a :class:`~lvwall.errors.DataError` naming it, raised when
that source is opened or read, so one bad file never stops the others.

Output names come from file and folder names only. Nothing read from a DICOM header other
than pixel geometry and timing (never patient, study or institution fields) leaves this
module.

One module because every reader here fills the one :class:`Recording` contract (geometry
when opened, frames one at a time, warnings, one-sentence errors) and ``discover`` must
know every kind it reads; the DICOM and image readers are short functions of that contract.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lvwall.errors import DataError

VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".gif", ".mov", ".mkv", ".m4v", ".wmv", ".mpg"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})

#: Frames larger than this on either side are refused (not resized): no echo is that large,
#: and decoding one would take gigabytes.
MAX_SIDE = 8192
#: Frames of more pixels than this (4096 x 4096) are refused too: the pipeline holds a few
#: frames at a time whatever their number (:func:`lvwall.infer.frames_in_flight`), and at
#: this size its peak stays under 1.5 GB (benchmarks/bench_memory.py).
MAX_FRAME_PIXELS = 4096 * 4096
#: Frames smaller than this on either side are refused: echo frames are hundreds of pixels a
#: side, and the 224-pixel model input would be mostly interpolation.
MIN_SIDE = 32

#: The pixel sizes (mm per pixel) a file or ``--spacing`` may give. An echo frame of
#: :data:`MIN_SIDE` to :data:`MAX_SIDE` pixels images a field of view of a few centimetres to
#: about 30 cm: at 0.001 mm a frame even 8192 pixels wide would span 8 mm, less than one
#: heart wall, and at 10 mm a 32-pixel frame would span 32 cm, the deepest echo sector.
#: Echo machines record about 0.1 to 1 mm. Values outside are header faults (a 1e60 mm pixel
#: made an EDV of 1e182 ml), so a file's spacing outside the range is ignored with a warning
#: and ``--spacing`` outside it is a usage error.
MIN_SPACING_MM, MAX_SPACING_MM = 0.001, 10.0
#: The frame durations (DICOM Frame Time, in ms) taken as timing: 0.1 ms (10 000 frames per
#: second, beyond the fastest plane-wave echo) to 10 s (0.1 frames per second). A Frame Time
#: outside it (0, negative, NaN, 1e300) is a header fault and the frame rate is unknown.
MIN_FRAME_TIME_MS, MAX_FRAME_TIME_MS = 0.1, 10_000.0

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

    ``warnings`` are sentences (without the path) for the caller to show beside the
    results: a header value that was ignored as absurd (a Frame Time of 0 ms, a pixel
    spacing of 1e60 mm) and, once :meth:`frames` has run to its end, a video whose decoded
    frame count differs from the estimate in its header.
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
    warnings: list[str] = field(default_factory=list, compare=False)

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
        if not self.frame_count_is_exact and self.n_frames and n_frames != self.n_frames:
            note = (
                f"decoded {n_frames} frames where its header estimates {self.n_frames} "
                "(a truncated file, or an estimate the container got wrong)"
            )
            if note not in self.warnings:
                self.warnings.append(note)


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
    paths: Iterable[str | Path],
    *,
    image_folders_as_recordings: bool = True,
    skip_folder: str | Path | None = None,
) -> list[InputSource]:
    """One :class:`InputSource` per recording found in ``paths``.

    A file is one recording (a multi-page TIFF too: its pages are the frames). A folder
    holding only single-page images is one recording whose frames are the images in natural
    order (``frame2`` before ``frame10``), unless
    ``image_folders_as_recordings`` is false, when each image is its own recording. Any
    other folder is searched, and each video, DICOM or image file in it (or image folder
    below it) is a recording; files of other kinds inside folders are skipped. Paths that
    do not exist still give a source, which fails when opened, so that the caller can report
    it beside the others. A folder met inside a searched one that is ``skip_folder`` (a
    command's ``--out``, whose outputs are videos and images too) is not searched.
    """
    skipped = _resolved(Path(skip_folder)) if skip_folder is not None else None
    found: list[Path] = []
    for path in paths:
        found.extend(_expand(Path(path), image_folders_as_recordings, skipped, top_level=True))
    # The same file named twice (or reached twice) is one recording; keep the path as typed.
    by_target: dict[Path, Path] = {}
    for path in found:
        by_target.setdefault(path.resolve(), path)
    unique = list(by_target.values())
    names = _unique_names(unique)
    return [InputSource(path, name) for path, name in zip(unique, names, strict=True)]


def _expand(
    path: Path, image_folders_as_recordings: bool, skipped: Path | None, *, top_level: bool
) -> list[Path]:
    if not path.is_dir():
        return [path] if top_level or _looks_like_recording(path) else []
    # Hidden files and files of other kinds (notes, thumbnails) are neither recordings nor
    # reasons to split a folder of frames.
    children = sorted(
        (
            child
            for child in path.iterdir()
            if not child.name.startswith(".")
            and (child.is_dir() or _looks_like_recording(child))
            and not (skipped is not None and child.is_dir() and _resolved(child) == skipped)
        ),
        key=lambda child: natural_key(child.name),
    )
    if not children:
        return [path] if top_level else []
    # A multi-page TIFF is a recording of its own, never one frame of a folder's.
    if image_folders_as_recordings and all(
        _is_image(child) and not _is_multi_page(child) for child in children
    ):
        return [path]
    return [
        recording
        for child in children
        for recording in _expand(child, image_folders_as_recordings, skipped, top_level=False)
    ]


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders the digit runs of ``name`` by value: ``f2`` before ``f10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", name)
        if part
    )


def _unique_names(paths: list[Path]) -> list[str]:
    """Output names: the file stem (folder name) where no other path of the batch shares it.

    Paths that share a stem in one folder keep today's names (the first its stem, the others
    ``stem_suffix``). Paths that share a stem across folders (``p2/echo.avi``,
    ``p3/echo.avi``) are each named by their folder too (``echo_p2``, ``echo_p3``), and by
    a short hash of their resolved path where that still collides (``echo-1a2b3c4d``): names
    that do not depend on the order of the inputs, so that a recording keeps its name in
    every run whose inputs share its stem the same way.
    """
    stems = [(path.name if path.is_dir() else path.stem) or "recording" for path in paths]
    groups: dict[str, list[int]] = {}
    for index, stem in enumerate(stems):
        groups.setdefault(stem, []).append(index)
    names = list(stems)
    for stem, members in groups.items():
        if len(members) == 1:
            continue
        if len({paths[index].parent for index in members}) == 1:
            for index in members[1:]:
                path = paths[index]
                if path.suffix and not path.is_dir():
                    names[index] = f"{stem}_{path.suffix.lstrip('.').lower()}"
            continue
        candidates = {index: f"{stem}_{_folder_name(paths[index])}" for index in members}
        for index, candidate in candidates.items():
            clashes = list(candidates.values()).count(candidate) > 1 or candidate in stems
            names[index] = f"{stem}-{_path_hash(paths[index])}" if clashes else candidate
    # Whatever still collides (a stem that equals another's disambiguated name): a counter.
    unique: list[str] = []
    for name in names:
        candidate, counter = name, 2
        while candidate in unique:
            candidate, counter = f"{name}-{counter}", counter + 1
        unique.append(candidate)
    return unique


def _folder_name(path: Path) -> str:
    return _resolved(path).parent.name or "root"


def _path_hash(path: Path) -> str:
    """Eight hex digits of the SHA-256 of the resolved path (its bytes, whatever they are)."""
    import hashlib
    import os

    return hashlib.sha256(os.fsencode(_resolved(path))).hexdigest()[:8]


def _resolved(path: Path) -> Path:
    """``path`` resolved, or made absolute where it cannot be (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _is_multi_page(path: Path) -> bool:
    return path.suffix.lower() in TIFF_SUFFIXES and _tiff_pages(path) > 1


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
    if width * height > MAX_FRAME_PIXELS:
        raise DataError(
            recording.path,
            f"has {width}x{height}-pixel frames, more than the limit of "
            f"{MAX_FRAME_PIXELS / 1e6:.1f} megapixels (4096x4096) per frame",
        )
    if min(width, height) < MIN_SIDE:
        raise DataError(
            recording.path,
            f"has {width}x{height}-pixel frames, smaller than the {MIN_SIDE}-pixel minimum "
            "per side of an echo frame",
        )


def _open_video(path: Path, name: str) -> Recording:
    from lvwall.data.video import gif_frame_count, iter_frames, probe

    info = probe(path)
    n_frames, exact = info.n_frames, False
    if path.suffix.lower() == ".gif":
        # FFmpeg's count of a GIF is a guess; the file's own blocks count it exactly.
        n_frames, exact = gif_frame_count(path), True
    return Recording(
        path=path,
        name=name,
        kind="video",
        width=info.width,
        height=info.height,
        n_frames=n_frames,
        fps=info.fps or None,
        pixel_spacing_mm=None,
        decode=lambda: iter_frames(path),
        frame_count_is_exact=exact,
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
        raise DataError(path, _undecodable_image_reason(path))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _undecodable_image_reason(path: Path) -> str:
    """Why an image whose header was read did not decode: a pixel format lvwall does not
    read (a 32-bit float TIFF, say), or a file cut short."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode = image.mode
    except (OSError, ValueError):
        mode = None
    if mode in {"F", "I", "I;32", "I;32B"}:
        return (
            f"holds {'floating-point' if mode == 'F' else '32-bit integer'} pixels, which "
            "lvwall does not read; export the frames as 8- or 16-bit images"
        )
    return "cannot be decoded as an image (is the file complete?)"


def _open_image(path: Path, name: str) -> Recording:
    width, height = _image_size(path)
    pages = _tiff_pages(path) if path.suffix.lower() in TIFF_SUFFIXES else 1
    return Recording(
        path=path,
        name=name,
        kind="image",
        width=width,
        height=height,
        n_frames=pages,
        fps=None,
        pixel_spacing_mm=None,
        decode=(
            (lambda: _read_tiff_pages(path, pages))
            if pages > 1
            else lambda: iter([_read_image(path)])
        ),
    )


#: Image suffixes whose files may hold several pages: each page is a frame.
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})


def _tiff_pages(path: Path) -> int:
    """How many pages (image directories) a TIFF file lists; 1 where it cannot say."""
    import cv2

    try:
        return max(1, int(cv2.imcount(str(path))))
    except cv2.error:
        return 1


def _read_tiff_pages(path: Path, pages: int) -> Iterator[np.ndarray]:
    """The pages of a multi-page TIFF as RGB frames, one at a time."""
    import cv2

    for index in range(pages):
        try:
            ok, images = cv2.imreadmulti(str(path), start=index, count=1, flags=cv2.IMREAD_COLOR)
        except cv2.error:
            ok, images = False, []
        if not ok or not images:
            raise DataError(
                path,
                f"has a page {index + 1} of its {pages} that cannot be decoded "
                "(is the file truncated?)",
            )
        yield cv2.cvtColor(images[0], cv2.COLOR_BGR2RGB)


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
    warnings: list[str] = []
    return Recording(
        path=path,
        name=name,
        kind="dicom",
        width=width,
        height=height,
        n_frames=n_frames,
        fps=_dicom_fps(dataset, warnings),
        pixel_spacing_mm=_dicom_spacing_mm(dataset, warnings),
        decode=lambda: _dicom_frames(path, bits_stored, monochrome1),
        warnings=warnings,
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


def _dicom_fps(dataset: object, warnings: list[str]) -> float | None:
    """Frames per second from Frame Time (ms), Cine Rate or Recommended Display Frame Rate.

    A value outside :data:`MIN_FRAME_TIME_MS`..:data:`MAX_FRAME_TIME_MS` (or the rates
    those give) is ignored with a note in ``warnings``: the frame rate is then unknown, as
    for a file that records none.
    """
    min_fps, max_fps = 1000.0 / MAX_FRAME_TIME_MS, 1000.0 / MIN_FRAME_TIME_MS
    frame_time = _number(getattr(dataset, "FrameTime", None))
    if frame_time is not None:
        if MIN_FRAME_TIME_MS <= frame_time <= MAX_FRAME_TIME_MS:
            return 1000.0 / frame_time
        warnings.append(
            f"ignored its Frame Time of {frame_time:g} ms, outside {MIN_FRAME_TIME_MS:g} to "
            f"{MAX_FRAME_TIME_MS:g} ms: the frame rate is unknown"
        )
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _number(getattr(dataset, keyword, None))
        if rate is None:
            continue
        if min_fps <= rate <= max_fps:
            return rate
        warnings.append(
            f"ignored its {keyword} of {rate:g} frames per second, outside {min_fps:g} to "
            f"{max_fps:g}: the frame rate is unknown"
        )
    return None


def _dicom_spacing_mm(dataset: object, warnings: list[str]) -> tuple[float, float] | None:
    """(row, column) pixel size in mm: Pixel Spacing, or the ultrasound region calibration.

    Ultrasound files calibrate regions (Sequence of Ultrasound Regions); Physical Delta X/Y
    are in cm when the physical units code is 3 (DICOM PS3.3 C.8.5.5.1.15). A spacing
    outside :data:`MIN_SPACING_MM`..:data:`MAX_SPACING_MM` is ignored with a note in
    ``warnings`` (volumes are then in px3, as for a file without spacing).
    """
    spacing = getattr(dataset, "PixelSpacing", None)
    if spacing is not None and len(spacing) == 2:
        found = _plausible_spacing("Pixel Spacing", *spacing, warnings=warnings)
        if found:
            return found
    for region in getattr(dataset, "SequenceOfUltrasoundRegions", None) or []:
        cm_units = 3
        if (
            getattr(region, "PhysicalUnitsXDirection", None) == cm_units
            and getattr(region, "PhysicalUnitsYDirection", None) == cm_units
        ):
            dx = _number(getattr(region, "PhysicalDeltaX", None))
            dy = _number(getattr(region, "PhysicalDeltaY", None))
            if dx is not None and dy is not None:
                found = _plausible_spacing(
                    "ultrasound region calibration", dy * 10.0, dx * 10.0, warnings=warnings
                )
                if found:
                    return found
    return None


def _plausible_spacing(
    source: str, rows: object, columns: object, *, warnings: list[str]
) -> tuple[float, float] | None:
    """(rows, columns) in mm when both are plausible, else ``None`` and a note."""
    row_mm, column_mm = _number(rows), _number(columns)
    if row_mm is None or column_mm is None:
        return None
    if all(spacing_is_plausible(value) for value in (row_mm, column_mm)):
        return row_mm, column_mm
    warnings.append(
        f"ignored its {source} of {row_mm:g} x {column_mm:g} mm, outside {MIN_SPACING_MM:g} "
        f"to {MAX_SPACING_MM:g} mm per pixel: volumes are in px3"
    )
    return None


def spacing_is_plausible(spacing_mm: float) -> bool:
    """Whether ``spacing_mm`` is a finite pixel size in the range of :data:`MIN_SPACING_MM`."""
    return math.isfinite(spacing_mm) and MIN_SPACING_MM <= spacing_mm <= MAX_SPACING_MM


def _number(value: object) -> float | None:
    """``value`` as a float; ``None`` for a missing or non-numeric value (NaN stays NaN)."""
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


#: Opens a path of each kind; :func:`input_kind` picks the key.
READERS: dict[str, Callable[[Path, str], Recording]] = {
    "video": _open_video,
    "image": _open_image,
    "image-folder": _open_image_folder,
    "dicom": _open_dicom,
}
