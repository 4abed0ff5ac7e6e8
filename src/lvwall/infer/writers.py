"""What ``lvwall predict`` writes per recording, by ``--format`` (:data:`OUTPUT_WRITERS`)."""

from __future__ import annotations

import csv
import io
import json
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
from lvwall.infer.mask_npz import MaskSpool, npz_shape
from lvwall.infer.pipeline import SegmentedFrame, preview_image
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
    shown = image.copy()
    # Tinted within the wall's bounding box only: the same pixels, without a frame-sized
    # tinted copy (50 MB of a 4096 x 4096 frame).
    left, top, width, height = cv2.boundingRect(mask)
    if width and height:
        box = shown[top : top + height, left : left + width]
        tinted = cv2.addWeighted(
            box, 1.0 - WALL_OPACITY, _wall_colour_plane(box.shape), WALL_OPACITY, 0.0
        )
        # OpenCV's masked copy is ~20x faster than numpy's boolean-mask assignment here.
        cv2.copyTo(tinted, mask[top : top + height, left : left + width], box)
    return shown


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
    """A segmented frame as it is shown: the wall tinted, and marked when it was flagged; at
    the size of its :attr:`~SegmentedFrame.image` (:func:`preview_image`)."""
    return mark_flagged(
        overlay(frame.image, _fitted(frame.mask_original, frame.image)), frame.flags
    )


def preview_size(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H, W, 3) and its wall ``mask`` (H, W) shrunk for an overlay preview so that
    neither side passes :data:`MAX_PREVIEW_SIDE` (:func:`preview_image`; nearest neighbour
    for the mask); unchanged where they already fit."""
    shown = preview_image(image)
    return shown, _fitted(mask, shown)


def _fitted(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``mask`` at the size of ``image``, by nearest neighbour (itself where they agree)."""
    height, width = image.shape[:2]
    if mask.shape == (height, width):
        return mask
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)


def _wall_colour_plane(shape: tuple[int, ...]) -> np.ndarray:
    """An image of ``shape`` filled with the wall colour."""
    plane = np.empty(shape, dtype=np.uint8)
    plane[...] = WALL_COLOUR
    return plane


#: Encoders for the overlay preview, in order of preference. x264's fastest preset: the
#: archive settings of :func:`lvwall.data.video.write_video` (preset medium, CRF 12) take
#: longer per frame than the network, and an overlay is for looking at, not for analysis.
_PREVIEW_CODECS = (("libx264", {"preset": "ultrafast", "crf": "23"}), ("mpeg4", {"qscale": "4"}))


def even_sided(frame: np.ndarray) -> np.ndarray:
    """``frame`` (H, W, 3) with its last row or column repeated where a side is odd, as 4:2:0
    chroma needs; the frame itself (no copy) where both sides are even."""
    odd_rows, odd_columns = frame.shape[0] % 2, frame.shape[1] % 2
    if not (odd_rows or odd_columns):
        return frame
    return np.pad(frame, ((0, odd_rows), (0, odd_columns), (0, 0)), "edge")


def _write_preview_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> None:
    """Encode RGB frames to an H.264 MP4 as they come, atomically."""
    import av

    codec, options = next((c, o) for c, o in _PREVIEW_CODECS if c in av.codecs_available)
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w") as container:
        stream = None
        for frame in frames:
            frame = even_sided(frame)
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
    quality.csv; atomically as one folder.

    The masks go to disk frame by frame (:class:`MaskSpool`), so that memory does not grow
    with the recording's length or frame size.
    """
    from lvwall.data import write_video

    target = _folder_target(out_dir, recording.name)
    _check_replaceable(target)
    source = source_identity(recording.path)
    wall_pixels: list[tuple[int, int]] = []
    qualities: list[FrameQuality | None] = []

    with atomic_dir(target, replace=True) as folder:
        model_masks = MaskSpool(folder / ".model.raw")
        original_masks = MaskSpool(folder / ".original.raw")

        def overlays() -> Iterator[np.ndarray]:
            for frame in frames:
                model_masks.append(frame.mask)
                original_masks.append(frame.mask_original)
                wall_pixels.append((int(frame.mask.sum()), int(frame.mask_original.sum())))
                qualities.append(frame.quality)
                yield frame_overlay(frame)

        with model_masks, original_masks:
            if recording.kind == "image":
                first = cv2.cvtColor(next(overlays()), cv2.COLOR_RGB2BGR)
                if not cv2.imwrite(str(folder / "overlay.png"), first):
                    # Named where it would have landed: the temporary folder goes with the error.
                    raise DataError(
                        target / "overlay.png", "could not be written (is the disk full?)"
                    )
            else:
                fps = recording.fps or DEFAULT_FPS
                if recording.path.suffix.lower() == ".gif":
                    write_video(folder / "overlay.gif", overlays(), fps=fps)
                else:
                    _write_preview_mp4(folder / "overlay.mp4", overlays(), fps)
            _save_npz(folder / "masks.npz", source, model=model_masks, original=original_masks)
        _write_wall_areas(folder / "wall_area.csv", wall_pixels, model_masks.shape, recording)
        if all(quality is not None for quality in qualities):
            rows = [[index, *quality_cells(quality)] for index, quality in enumerate(qualities, 1)]
            write_csv(folder / QUALITY_FILE, ["frame", "quality", "flags"], rows)
    return target


def _save_npz(path: Path, source: dict[str, Any] | None, **spools: MaskSpool) -> None:
    """An NPZ of spooled masks as :func:`numpy.savez_compressed` writes one, but at deflate
    level 1 instead of 6 (binary masks become ~1.8x larger but compress 2-10x faster; np.load
    reads both alike), with the input's identity as the member :data:`SOURCE_MEMBER` (np.load
    lists it, as raw bytes)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, spool in spools.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                spool.write_npy(handle)
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
    wall_pixels: Sequence[tuple[int, int]],
    model_shape: tuple[int, ...],
    recording: Recording,
) -> None:
    """Per frame: wall pixels at model size, their share of the frame, and mm² if known, from
    each frame's (model-size, frame-size) count of wall pixels."""
    spacing = recording.pixel_spacing_mm
    header = ["frame", "wall_pixels", "wall_area_fraction"]
    header += ["wall_area_mm2"] if spacing else []
    model_pixels = model_shape[1] * model_shape[2]
    rows = []
    for frame, (pixels, original) in enumerate(wall_pixels, 1):
        row: list[Any] = [frame, pixels, f"{pixels / model_pixels:.6f}"]
        if spacing:
            row.append(f"{original * spacing[0] * spacing[1]:.3f}")
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
