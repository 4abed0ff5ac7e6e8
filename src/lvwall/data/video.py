"""Read and write echo videos (AVI, MP4, GIF, anything FFmpeg decodes) one frame at a time.

Decoding goes through PyAV (FFmpeg), so a recording is never held in memory whole unless the
caller asks for it with :func:`read_frames`. Writing is atomic (:func:`lvwall.atomic.atomic_path`):
a failed write leaves no half-written video behind.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from lvwall.atomic import atomic_path
from lvwall.errors import DataError


@dataclass(frozen=True)
class VideoInfo:
    """Size and timing of a video; ``n_frames`` is ``None`` when the container does not say."""

    width: int
    height: int
    fps: float
    n_frames: int | None


def _reason(error: av.FFmpegError) -> str:
    """FFmpeg's own wording of the failure, without the errno and file name it appends."""
    return error.strerror or str(error)


def _open_video(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise DataError(path, "video file not found")
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        raise DataError(
            path, f"cannot be decoded as a video: {_reason(error)} (is it a complete video file?)"
        ) from error
    if not container.streams.video:
        container.close()
        raise DataError(path, "contains no video stream")
    return container


def probe(path: str | Path) -> VideoInfo:
    """Read a video's frame size, frame rate and (where the container records it) frame count."""
    path = Path(path)
    with _open_video(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return VideoInfo(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate) if rate else 0.0,
            n_frames=stream.frames or None,
        )


#: Containers whose header counts the frames exactly, so that a video which decodes to fewer
#: was cut short. AVI records its frame count in the stream header (dropped frames included:
#: they are empty chunks, and each frame's timestamp is its index). MP4 counts samples, which
#: edit lists can trim on output; GIF has no count, and FFmpeg's is a guess.
FRAME_COUNTING_CONTAINERS = frozenset({"avi"})


_GIF_EXTENSION, _GIF_IMAGE, _GIF_TRAILER = 0x21, 0x2C, 0x3B


def gif_frame_count(path: str | Path) -> int:
    """The frames of a GIF file, counted from its blocks without decoding any pixels.

    A GIF is a header, then extension and image blocks, then a trailer byte (GIF89a
    specification, sections 17 to 27); FFmpeg decodes a GIF cut short without an error,
    only with fewer frames. Raises :class:`DataError` for a file that ends before its
    trailer, saying how many frames it holds whole, or whose blocks are not a GIF's.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return _count_gif_blocks(path, handle)
    except OSError as error:
        raise DataError(path, f"cannot be read ({error.strerror or error})") from None


def _count_gif_blocks(path: Path, handle: BinaryIO) -> int:
    header = handle.read(13)
    if len(header) < 13 or header[:3] != b"GIF":
        raise DataError(path, "is not a GIF file (its header is missing)")
    n_frames = 0

    def truncated() -> DataError:
        return DataError(
            path,
            f"is truncated: the GIF stops after {n_frames} whole frames, without the end marker "
            "a complete GIF ends with",
        )

    def skip(size: int) -> None:
        if len(handle.read(size)) < size:
            raise truncated()

    def skip_sub_blocks() -> None:
        while True:
            size = handle.read(1)
            if not size:
                raise truncated()
            if size[0] == 0:
                return
            skip(size[0])

    def colour_table(flags: int) -> int:
        return 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0

    skip(colour_table(header[10]))
    while True:
        block = handle.read(1)
        if not block:
            raise truncated()
        if block[0] == _GIF_TRAILER:
            return n_frames
        if block[0] == 0:
            continue  # stray padding some encoders leave between blocks
        if block[0] == _GIF_EXTENSION:
            skip(1)  # the extension's label
            skip_sub_blocks()
        elif block[0] == _GIF_IMAGE:
            descriptor = handle.read(9)
            if len(descriptor) < 9:
                raise truncated()
            skip(colour_table(descriptor[8]) + 1)  # local colour table, LZW code size
            skip_sub_blocks()
            n_frames += 1
        else:
            raise DataError(
                path,
                f"is not a valid GIF: an unknown block follows frame {n_frames} "
                "(is the file corrupt?)",
            )


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of a video one at a time as RGB uint8 arrays of shape (H, W, 3).

    A missing or undecodable file raises :class:`DataError` at once; a video with no frames,
    one that fails to decode part-way (a truncated download), or one that ends before the
    frame count its header announces (an AVI cut at a frame boundary, which FFmpeg decodes
    without complaint; see :data:`FRAME_COUNTING_CONTAINERS`) raises it during iteration,
    after the frames it could decode.
    """
    path = Path(path)
    return _decode(path, _open_video(path))


def _decode(path: Path, container: av.container.InputContainer) -> Iterator[np.ndarray]:
    with container:
        stream = container.streams.video[0]
        counts_frames = container.format.name in FRAME_COUNTING_CONTAINERS
        announced = stream.frames if counts_frames else 0
        n_decoded = n_reached = 0
        try:
            for frame in container.decode(stream):
                n_decoded += 1
                # A dropped frame leaves a gap in the timestamps but counts in the header.
                reached_by_time = frame.pts + 1 if counts_frames and frame.pts is not None else 0
                n_reached = max(n_reached + 1, reached_by_time)
                yield frame.to_ndarray(format="rgb24")
        except av.FFmpegError as error:
            raise DataError(
                path,
                f"cannot be decoded as a video: decoding failed after {n_decoded} frames with "
                f"'{_reason(error)}' (is the file truncated?)",
            ) from error
    if n_decoded == 0:
        raise DataError(path, "contains no decodable frames (is it empty or truncated?)")
    if n_reached < announced:
        raise DataError(
            path,
            f"is truncated: decoding ended after {n_reached} of the {announced} frames its "
            "header announces",
        )


def read_frames(path: str | Path, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Decode frames ``start:stop`` (0-based, half-open) into one (T, H, W, 3) uint8 array."""
    if start < 0 or (stop is not None and stop < start):
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    path = Path(path)
    frames = list(itertools.islice(iter_frames(path), start, stop))
    if not frames:
        raise DataError(path, f"has no frames in the range {start}:{stop}")
    return np.stack(frames)


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frame.dtype}")
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise ValueError(f"frames must be (H, W) grey or (H, W, 3) RGB, got shape {frame.shape}")


def _pad_to_even(frame: np.ndarray) -> np.ndarray:
    """Repeat the last row/column where needed: 4:2:0 chroma needs even sizes, and padding
    keeps every original pixel (cropping would drop a row of the image)."""
    pad_rows, pad_cols = frame.shape[0] % 2, frame.shape[1] % 2
    if not (pad_rows or pad_cols):
        return frame
    return np.pad(frame, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")


@dataclass(frozen=True)
class _PyavCodec:
    """An FFmpeg encoder and the options that make it near-lossless for echo frames."""

    name: str
    pix_fmt: str
    options: dict[str, str]
    even_size: bool


# MJPEG: intra-only (every frame stands alone) and decoded by both OpenCV and PyAV; full-range
# 4:4:4 at the finest quantiser (qmin = qmax = 1) keeps grey levels within a few units.
_MJPEG = _PyavCodec("mjpeg", "yuvj444p", {"qmin": "1", "qmax": "1"}, even_size=False)
_H264 = _PyavCodec("libx264", "yuv420p", {"crf": "12", "preset": "medium"}, even_size=True)
_MPEG4 = _PyavCodec("mpeg4", "yuv420p", {"qscale": "2"}, even_size=True)


def _fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _write_with_pyav(
    codec: _PyavCodec, path: Path, frames: Iterator[np.ndarray], fps: float
) -> None:
    first = next(frames)
    if codec.even_size:
        first = _pad_to_even(first)
    height, width = first.shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec.name, rate=_fps_fraction(fps), options=codec.options)
        stream.width, stream.height, stream.pix_fmt = width, height, codec.pix_fmt
        for frame in itertools.chain([first], frames):
            if codec.even_size:
                frame = _pad_to_even(frame)
            if frame.shape[:2] != (height, width):
                raise ValueError(f"all frames must be {height}x{width}, got {frame.shape[:2]}")
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def _write_gif(path: Path, frames: Iterator[np.ndarray], fps: float) -> None:
    # Pillow builds an adaptive 256-colour palette per frame; FFmpeg's GIF encoder alone only
    # offers a fixed 3-3-2 bit palette, which visibly bands echo grey levels.
    from PIL import Image

    first = next(frames)
    size = first.shape[:2]

    def images() -> Iterator[Image.Image]:
        for frame in frames:
            if frame.shape[:2] != size:
                raise ValueError(f"all frames must be {size[0]}x{size[1]}, got {frame.shape[:2]}")
            yield Image.fromarray(frame)

    Image.fromarray(first).save(
        path,
        format="GIF",
        save_all=True,
        append_images=images(),
        duration=round(1000 / fps),
        loop=0,
        optimize=False,
    )


_Writer = Callable[[Path, Iterator[np.ndarray], float], None]

#: Video writers by file suffix.
VIDEO_ENCODERS: dict[str, _Writer] = {
    ".avi": functools.partial(_write_with_pyav, _MJPEG),
    ".mp4": functools.partial(
        _write_with_pyav, _H264 if _H264.name in av.codecs_available else _MPEG4
    ),
    ".gif": _write_gif,
}


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 25.0) -> Path:
    """Write RGB (H, W, 3) or grey (H, W) uint8 frames to ``path`` atomically.

    The container follows the suffix (:data:`VIDEO_ENCODERS`): ``.avi`` (MJPEG), ``.mp4`` (H.264, or
    MPEG-4 part 2 where libx264 is missing; odd sizes are padded by one edge row/column) or
    ``.gif`` (adaptive palette). AVI and MP4 encode frames as they come, so a generator never
    has to fit in memory; GIF keeps them until the file is written.
    """
    path = Path(path)
    writer = VIDEO_ENCODERS.get(path.suffix.lower())
    if writer is None:
        raise ValueError(
            f"cannot write video with suffix {path.suffix!r}; use one of {sorted(VIDEO_ENCODERS)}"
        )
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    rgb_frames = (_as_rgb(frame) for frame in frames)
    first = next(rgb_frames, None)
    if first is None:
        raise ValueError(f"no frames to write to {path}")
    with atomic_path(path) as tmp:
        writer(tmp, itertools.chain([first], rgb_frames), fps)
    return path
