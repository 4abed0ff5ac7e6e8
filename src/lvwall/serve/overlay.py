"""The page's overlay video: the wall tinted by segment, frames flagged by quality control
marked, encoded as WebM (VP9) so that every browser plays it.

Wall pixels take the colour of their segment in the recording's view
(:func:`lvwall.wall.segment_colours`, the colours of the regional figures), or predict's wall
colour where the wall was not split. A flagged frame gets a border and its flags written
across its top.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from lvwall.atomic import atomic_path
from lvwall.infer import WALL_COLOUR, WALL_OPACITY, even_sided, mark_flagged, preview_size
from lvwall.wall import segment_colours

#: Options every overlay encoder gets: a quick encode (realtime), and no look-ahead, whose
#: 25 frames held by default took about 200 MB at 2048 x 2048 and serve no realtime encode.
_REALTIME = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
#: Encoders for the overlay video, in order of preference, with options for a quick encode
#: at a quality fit for looking (VP9 realtime is ~3x faster than VP8 here).
WEBM_CODECS: tuple[tuple[str, dict[str, str]], ...] = (
    ("libvpx-vp9", {**_REALTIME, "row-mt": "1", "crf": "28", "b": "0"}),
    ("libvpx", {**_REALTIME, "crf": "10", "b": "2M"}),
)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def segment_palette(view: str = "A4C") -> np.ndarray:
    """RGB colour of each label of ``view``: 0, wall the split did not reach, then 1..6."""
    return np.array([WALL_COLOUR, *map(_rgb, segment_colours(view))], dtype=np.uint8)


#: The A4C view's palette, the default one.
PALETTE = segment_palette()


def segment_overlay(
    image: np.ndarray,
    mask: np.ndarray,
    labels: np.ndarray | None,
    palette: np.ndarray = PALETTE,
) -> np.ndarray:
    """``image`` (H, W, 3) RGB uint8 with its wall (``mask`` (H, W) nonzero) tinted by segment.

    ``labels`` holds 0 (no segment) or 1..6 (label-map order of the view) at any size (the
    model's, 224 x 224); it is scaled to the frame by nearest neighbour. ``None``: the wall is
    tinted in predict's wall colour. ``palette`` is the view's (:func:`segment_palette`): the
    labels do not say which view they are of.
    """
    height, width = image.shape[:2]
    if mask.shape != (height, width):
        raise ValueError(f"mask {mask.shape} and image {image.shape} differ in size")
    shown = image.copy()
    mask = mask.astype(np.uint8, copy=False)
    # Tinted within the wall's bounding box only: the same pixels, without frame-sized
    # colour and tinted copies (50 MB each of a 4096 x 4096 frame).
    left, top, box_width, box_height = cv2.boundingRect(mask)
    if not (box_width and box_height):
        return shown
    rows, columns = slice(top, top + box_height), slice(left, left + box_width)
    box = shown[rows, columns]
    if labels is None:
        colours = np.broadcast_to(palette[0], box.shape)
    else:
        resized = cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)
        colours = palette[resized[rows, columns]]
    tinted = cv2.addWeighted(
        box, 1.0 - WALL_OPACITY, np.ascontiguousarray(colours), WALL_OPACITY, 0
    )
    cv2.copyTo(tinted, mask[rows, columns], box)
    return shown


def overlay_frames(
    images: Iterable[np.ndarray],
    masks: Iterable[np.ndarray],
    labels: np.ndarray | None,
    frame_flags: Sequence[Sequence[str]] | None,
    view: str = "A4C",
) -> Iterator[np.ndarray]:
    """The overlay of each decoded frame: ``masks`` at the frames' size, one per frame as they
    come, ``labels`` (T, h, w) or ``None``, ``frame_flags`` one sequence per frame or ``None``
    (quality not checked); the segments take the colours of ``view``. Frames larger than
    :data:`lvwall.infer.MAX_PREVIEW_SIDE` are shown shrunk (:func:`lvwall.infer.preview_size`)."""
    palette = segment_palette(view)
    for index, (image, mask) in enumerate(zip(images, masks, strict=True)):
        label = None if labels is None else labels[index]
        frame = segment_overlay(*preview_size(image, mask), label, palette)
        yield mark_flagged(frame, frame_flags[index] if frame_flags is not None else ())


def write_webm(path: str | Path, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Encode RGB uint8 frames (H, W, 3) to a WebM video at ``path``, atomically.

    Odd sides are padded by one edge row or column (4:2:0 chroma needs even sides).
    """
    import av

    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    codec, options = next((c, o) for c, o in WEBM_CODECS if c in av.codecs_available)
    path = Path(path)
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="webm") as container:
        stream = None
        for frame in frames:
            frame = even_sided(frame)
            if stream is None:
                rate = Fraction(fps).limit_denominator(1001)
                stream = container.add_stream(codec, rate=rate, options=options)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        if stream is None:
            raise ValueError(f"no frames to write to {path}")
        container.mux(stream.encode())
    return path
