"""What ``lvwall predict`` writes per recording, by ``--format`` (:data:`OUTPUT_WRITERS`)."""

from __future__ import annotations

import csv
import functools
import io
import json
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lvwall.atomic import atomic_dir, atomic_path, write_text
from lvwall.data import Recording
from lvwall.errors import DataError
from lvwall.infer.pipeline import SegmentedFrame
from lvwall.quality import FrameQuality

#: Frame rate of the overlay video when the input does not record one (image folders).
DEFAULT_FPS = 25.0
#: Colour (RGB) and opacity of the wall in overlay videos.
WALL_COLOUR, WALL_OPACITY = (255, 64, 32), 0.45
#: Colour (RGB) of the border and text that mark a frame quality control flagged: a magenta
#: that neither the wall's colour nor the segments' take.
FLAG_COLOUR = (255, 0, 160)
#: The per-frame quality file of a recording (one of ``--format png``'s whole batch).
QUALITY_FILE = "quality.csv"
#: The files of a recording's output folder that every recording gets.
REQUIRED_FILES = ("masks.npz", "wall_area.csv")
#: What a recording's output folder holds; an existing folder is replaced only if it holds
#: nothing else, so that a re-run never deletes a user's own files.
OUTPUT_FILES = frozenset(
    {*REQUIRED_FILES, QUALITY_FILE, "overlay.mp4", "overlay.gif", "overlay.png"}
)
#: Where an output records the input it was made from (:func:`source_identity`): a member of
#: masks.npz (beside its arrays), and a ``tEXt`` chunk of a ``--format png`` mask.
SOURCE_MEMBER, PNG_SOURCE_KEY = "source.json", "lvwall-source"


def source_identity(path: Path) -> dict[str, Any] | None:
    """Which input an output is made from: its resolved path, size in bytes and modification
    time (ns); of a folder of frame images, the sum of its files' sizes and the latest of
    their and its own times. ``None`` when the path cannot be read."""
    try:
        resolved = path.resolve()
        stat = resolved.stat()
        size, mtime_ns = stat.st_size, stat.st_mtime_ns
        if resolved.is_dir():
            files = [child.stat() for child in resolved.iterdir() if child.is_file()]
            size = sum(child.st_size for child in files)
            mtime_ns = max([mtime_ns, *(child.st_mtime_ns for child in files)])
    except (OSError, RuntimeError):
        return None
    return {"path": str(resolved), "size": size, "mtime_ns": mtime_ns}


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) RGB uint8 with the wall (``mask`` (H, W) uint8 nonzero) tinted."""
    tinted = cv2.addWeighted(
        image, 1.0 - WALL_OPACITY, _wall_colour_plane(image.shape), WALL_OPACITY, 0.0
    )
    # OpenCV's masked copy is ~20x faster than numpy's boolean-mask assignment here.
    return cv2.copyTo(tinted, mask, image.copy())


def mark_flagged(image: np.ndarray, flags: Sequence[str]) -> np.ndarray:
    """``image`` (RGB uint8) framed in :data:`FLAG_COLOUR` with the failed checks written at
    its top, so that a flagged frame stands out when an overlay video is played; unchanged
    when there are no ``flags``."""
    if not flags:
        return image
    marked = image.copy()
    height, width = marked.shape[:2]
    border = max(2, round(min(height, width) / 60))
    cv2.rectangle(marked, (0, 0), (width - 1, height - 1), FLAG_COLOUR, 2 * border)
    text = "flagged: " + ", ".join(flags)
    scale = max(0.35, height / 900)
    thickness = max(1, round(scale * 2))
    origin = (2 * border + 2, 2 * border + round(22 * scale))
    # A dark outline keeps the text legible on bright tissue.
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(marked, text, origin, font, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(marked, text, origin, font, scale, FLAG_COLOUR, thickness, cv2.LINE_AA)
    return marked


def frame_overlay(frame: SegmentedFrame) -> np.ndarray:
    """A segmented frame as it is shown: the wall tinted, and marked when it was flagged."""
    return mark_flagged(overlay(frame.image, frame.mask_original), frame.flags)


@functools.lru_cache(maxsize=4)
def _wall_colour_plane(shape: tuple[int, ...]) -> np.ndarray:
    """A frame filled with the wall colour, made once per frame size."""
    plane = np.empty(shape, dtype=np.uint8)
    plane[...] = WALL_COLOUR
    plane.flags.writeable = False
    return plane


#: Encoders for the overlay preview, in order of preference. x264's fastest preset: the
#: archive settings of :func:`lvwall.data.video.write_video` (preset medium, CRF 12) take
#: longer per frame than the network, and an overlay is for looking at, not for analysis.
_PREVIEW_CODECS = (("libx264", {"preset": "ultrafast", "crf": "23"}), ("mpeg4", {"qscale": "4"}))


def _write_preview_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> None:
    """Encode RGB frames to an H.264 MP4 as they come, atomically."""
    import av

    codec, options = next((c, o) for c, o in _PREVIEW_CODECS if c in av.codecs_available)
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w") as container:
        stream = None
        for frame in frames:
            # 4:2:0 chroma needs even sides: repeat the last row/column where needed.
            frame = np.pad(
                frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), "edge"
            )
            if stream is None:
                stream = container.add_stream(codec, rate=rate, options=options)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        if stream is not None:
            container.mux(stream.encode())


def _folder_target(out_dir: Path, name: str) -> Path:
    return out_dir / name


def _png_target(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}.png"


def write_recording_folder(
    recording: Recording, frames: Iterator[SegmentedFrame], out_dir: Path
) -> Path:
    """``out_dir/<name>/``: masks.npz, the overlay, wall_area.csv and (with quality control)
    quality.csv; atomically as one folder."""
    from lvwall.data import write_video

    target = _folder_target(out_dir, recording.name)
    _check_replaceable(target)
    source = source_identity(recording.path)
    model_masks: list[np.ndarray] = []
    original_masks: list[np.ndarray] = []
    qualities: list[FrameQuality | None] = []

    def overlays() -> Iterator[np.ndarray]:
        for frame in frames:
            model_masks.append(frame.mask)
            original_masks.append(frame.mask_original)
            qualities.append(frame.quality)
            yield frame_overlay(frame)

    with atomic_dir(target) as folder:
        if recording.kind == "image":
            first = next(overlays())
            if not cv2.imwrite(str(folder / "overlay.png"), cv2.cvtColor(first, cv2.COLOR_RGB2BGR)):
                # Named where it would have landed: the temporary folder goes with the error.
                raise DataError(target / "overlay.png", "could not be written (is the disk full?)")
        else:
            fps = recording.fps or DEFAULT_FPS
            if recording.path.suffix.lower() == ".gif":
                write_video(folder / "overlay.gif", overlays(), fps=fps)
            else:
                _write_preview_mp4(folder / "overlay.mp4", overlays(), fps)
        _save_npz(
            folder / "masks.npz",
            source,
            model=np.stack(model_masks),
            original=np.stack(original_masks),
        )
        _write_wall_areas(folder / "wall_area.csv", model_masks, original_masks, recording)
        if all(quality is not None for quality in qualities):
            rows = [[index, *quality_cells(quality)] for index, quality in enumerate(qualities, 1)]
            write_csv(folder / QUALITY_FILE, ["frame", "quality", "flags"], rows)
        if target.exists():
            shutil.rmtree(target)
    return target


def _save_npz(path: Path, source: dict[str, Any] | None, **arrays: np.ndarray) -> None:
    """:func:`numpy.savez_compressed` at deflate level 1 instead of 6: binary masks become
    ~1.8x larger but compress 2-10x faster (np.load reads both alike); with the input's
    identity as the member :data:`SOURCE_MEMBER` (np.load lists it, as raw bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)
        if source is not None:
            archive.writestr(SOURCE_MEMBER, json.dumps(source))


def _check_replaceable(target: Path) -> None:
    if target.is_file() or (
        target.is_dir() and any(p.name not in OUTPUT_FILES for p in target.iterdir())
    ):
        raise DataError(
            target, "exists and holds files lvwall did not write; choose another --out folder"
        )


def quality_cells(quality: FrameQuality) -> list[str]:
    """The ``quality`` and ``flags`` cells of a quality.csv row: the score to three decimals
    and the flags ``;``-separated (empty when none)."""
    return [f"{quality.quality:.3f}", quality.flag_text]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A CSV file of ``header`` and ``rows``, written atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def _write_wall_areas(
    path: Path,
    model_masks: list[np.ndarray],
    original_masks: list[np.ndarray],
    recording: Recording,
) -> None:
    """Per frame: wall pixels at model size, their share of the frame, and mm² if known."""
    spacing = recording.pixel_spacing_mm
    header = ["frame", "wall_pixels", "wall_area_fraction"]
    header += ["wall_area_mm2"] if spacing else []
    rows = []
    for frame, (mask, original) in enumerate(zip(model_masks, original_masks, strict=True), 1):
        pixels = int(mask.sum())
        row: list[Any] = [frame, pixels, f"{pixels / mask.size:.6f}"]
        if spacing:
            row.append(f"{int(original.sum()) * spacing[0] * spacing[1]:.3f}")
        rows.append(row)
    write_csv(path, header, rows)


def write_png_mask(recording: Recording, frames: Iterator[SegmentedFrame], out_dir: Path) -> Path:
    """``out_dir/<name>.png``: the mask at the image's own size, 0 background, 255 wall."""
    if recording.kind != "image":
        raise DataError(
            recording.path,
            f"is a recording ({recording.kind}), but --format png writes masks of single "
            "images only; use --format npz",
        )
    source = source_identity(recording.path)
    (frame,) = list(frames)
    target = _png_target(out_dir, recording.name)
    encoded, png = cv2.imencode(".png", frame.mask_original * np.uint8(255))
    if not encoded:
        raise DataError(target, "could not be written as PNG")
    data = png.tobytes()
    if source is not None:
        data = _with_text_chunk(data, PNG_SOURCE_KEY, json.dumps(source))
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def _with_text_chunk(png: bytes, key: str, text: str) -> bytes:
    """``png`` with a ``tEXt`` chunk ``key``: ``text`` (Latin-1; JSON is ASCII) before IEND."""
    body = b"tEXt" + key.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    iend = len(png) - 12  # the IEND chunk: length, type and CRC, no data
    return png[:iend] + chunk + png[iend:]


@dataclass(frozen=True)
class OutputWriter:
    """How one ``--format`` writes a recording: ``write`` (recording, segmented frames, output
    folder) -> path, where that path is for a recording name (``target``), and whether a path
    holds a complete output (``is_complete``; atomic writes give a final name to complete
    outputs only, so this tells a finished recording from one a killed run never finished)."""

    write: Callable[[Recording, Iterator[SegmentedFrame], Path], Path]
    target: Callable[[Path, str], Path]
    is_complete: Callable[[Path], bool]
    frames_written: Callable[[Path], int]
    #: The identity (:func:`source_identity`) a complete output records; :class:`DataError`
    #: where the output is incomplete, unreadable or records none.
    recorded_source: Callable[[Path], dict[str, Any]]


def _folder_is_complete(folder: Path) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in REQUIRED_FILES)


def npz_shape(path: Path, key: str) -> tuple[int, ...] | None:
    """The shape of array ``key`` in the NPZ file ``path``, from its header alone (nothing
    is decompressed); ``None`` when the file has no such array."""
    with zipfile.ZipFile(path) as archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            return None
        with archive.open(member) as handle:
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, _ = read_header(handle)
    return tuple(int(side) for side in shape)


def _frames_in_folder(folder: Path) -> int:
    """The frame count of a complete output folder, from the header of its masks."""
    shape = npz_shape(folder / "masks.npz", "model")
    return 0 if shape is None else shape[0]


def _folder_source(folder: Path) -> dict[str, Any]:
    """The identity recorded in a folder's masks.npz, once every required file is there and
    the masks read back whole (every member's CRC checked, one frame count)."""
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if not folder.is_dir() or missing:
        raise DataError(folder, f"is incomplete (no {', '.join(missing) or 'folder'})")
    masks = folder / "masks.npz"
    try:
        with zipfile.ZipFile(masks) as archive:
            if archive.testzip() is not None:
                raise zipfile.BadZipFile("a member fails its CRC check")
            recorded = archive.read(SOURCE_MEMBER) if SOURCE_MEMBER in archive.namelist() else None
        shapes = [npz_shape(masks, key) for key in ("model", "original")]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(masks, f"cannot be read (truncated or corrupt: {error})") from None
    if None in shapes or len({shape[0] for shape in shapes if shape}) != 1:
        raise DataError(masks, "does not hold one model and one original mask per frame")
    return _parse_source(masks, recorded)


def _png_source(path: Path) -> dict[str, Any]:
    """The identity recorded in a PNG mask, once the image decodes whole."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            recorded = image.info.get(PNG_SOURCE_KEY)
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(path, f"cannot be read (truncated or corrupt: {error})") from None
    return _parse_source(path, recorded)


def _parse_source(path: Path, recorded: str | bytes | None) -> dict[str, Any]:
    if recorded is None:
        raise DataError(path, "records no input (written by an earlier lvwall)")
    try:
        source = json.loads(recorded)
    except ValueError:
        source = None
    if not isinstance(source, dict) or not {"path", "size", "mtime_ns"} <= source.keys():
        raise DataError(path, "records its input in a form this lvwall does not read")
    return source


#: What is written per recording, by ``--format``.
OUTPUT_WRITERS: dict[str, OutputWriter] = {
    "npz": OutputWriter(
        write_recording_folder,
        target=_folder_target,
        is_complete=_folder_is_complete,
        frames_written=_frames_in_folder,
        recorded_source=_folder_source,
    ),
    "png": OutputWriter(
        write_png_mask,
        target=_png_target,
        is_complete=Path.is_file,
        frames_written=lambda path: 1,
        recorded_source=_png_source,
    ),
}
