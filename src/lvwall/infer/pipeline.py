"""The streamed segmentation of one recording's frames.

Frames flow one way and are never all in memory: decode -> :func:`network_inputs` (the
training preprocessing, then the overlays outside the ultrasound sector blanked) -> batches
through a :class:`~lvwall.infer.backends.Predictor` -> optional temporal smoothing ->
threshold and mask clean-up -> quality control (:mod:`lvwall.quality`: a score and named
checks per frame), each stage in step with the next (:func:`prefetched`). How many frames a
stage holds at once follows from their size (:func:`frames_in_flight`), so that memory stays
bounded whatever the frames' size and number.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import cv2
import numpy as np

from lvwall.data import SECTOR_FRAMES, Sector, find_sector, prepare_frame, whole_frame
from lvwall.infer.backends import Predictor, SegmentationModel
from lvwall.infer.postprocess import MASK_FILTERS, SMOOTHERS, TEST_TIME_AUGMENTATIONS
from lvwall.lookup import look_up
from lvwall.quality import FrameQuality, QualityControl

T = TypeVar("T")

#: Bytes of decoded frames (RGB image and mask at the frame's size) one stage of the pipeline
#: holds at most: with the decoder's, the network's and the writer's stages, and the largest
#: frame :data:`lvwall.data.MAX_FRAME_PIXELS` allows, predict stays under 1.5 GB
#: (benchmarks/bench_memory.py).
STAGE_BYTES = 64 * 2**20


def frames_in_flight(height: int, width: int, batch_size: int) -> int:
    """How many frames of ``height`` x ``width`` pixels one stage of the pipeline holds: twice
    ``batch_size`` (enough to keep the network busy), fewer where their images and masks would
    pass :data:`STAGE_BYTES`, and at least one."""
    if height < 1 or width < 1 or batch_size < 1:
        raise ValueError(
            f"height, width and batch_size must be positive, got {height}, {width}, {batch_size}"
        )
    per_frame = 4 * height * width  # RGB image and mask at full size: a bound, as a large
    # frame travels shrunk (preview_image) beside its full-size mask
    return max(1, min(2 * batch_size, STAGE_BYTES // per_frame))


#: The longest side of a frame as it is shown (:attr:`SegmentedFrame.image`, overlay.mp4,
#: .gif, .png, the page's video): a larger frame is shown shrunk, as no screen shows more,
#: while its masks keep the frame's own size. Shrunk as it is decoded, a 4096 x 4096 frame
#: holds 12 MB instead of 50 on its way, and the video encoder about 100 MB instead of 400.
MAX_PREVIEW_SIDE = 2048


def preview_image(image: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) shrunk by area averaging so that neither side passes
    :data:`MAX_PREVIEW_SIDE`; ``image`` itself where it already fits."""
    height, width = image.shape[:2]
    scale = MAX_PREVIEW_SIDE / max(height, width)
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


#: The fewest frames the sector is found from (of frames so large that fewer are in flight).
MIN_SECTOR_FRAMES = 2


@dataclass(frozen=True)
class PredictOptions:
    """How :func:`segment_frames` runs; names are keys of the registries in
    :mod:`lvwall.infer.postprocess`.

    ``threshold`` ``None`` takes the model's own; ``sector`` zeroes the scanner overlays
    outside the ultrasound sector (:mod:`lvwall.data.sector`) before the network sees them;
    ``quality`` scores and checks every frame (:class:`lvwall.quality.QualityControl`).
    """

    batch_size: int = 8
    tta: str | None = None
    smoothing: str | None = None
    mask_filter: str | None = None
    threshold: float | None = None
    sector: bool = True
    quality: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        for value, registry, what in (
            (self.tta, TEST_TIME_AUGMENTATIONS, "test-time augmentation"),
            (self.smoothing, SMOOTHERS, "smoothing"),
            (self.mask_filter, MASK_FILTERS, "mask filter"),
        ):
            if value is not None:
                look_up(registry, value, what)


@dataclass(frozen=True)
class SegmentedFrame:
    """One frame's result: the decoded RGB ``image`` as it is shown (at most
    :data:`MAX_PREVIEW_SIDE` pixels a side, :func:`preview_image`), the model-size
    ``probability``, binary masks (uint8 {0, 1}) at model size and at the frame's own size,
    the model-size ``grey`` frame (float32 in [0, 1],
    :func:`~lvwall.data.preprocess.prepare_frame`, before the sector is applied) and the
    frame's quality (score, flags and reasons; ``None`` with quality control off)."""

    image: np.ndarray
    probability: np.ndarray
    mask: np.ndarray
    mask_original: np.ndarray
    grey: np.ndarray
    quality: FrameQuality | None = None

    @property
    def flags(self) -> tuple[str, ...]:
        """The failed quality checks; empty when none failed or quality was not checked."""
        return () if self.quality is None else self.quality.flags


def network_inputs(
    prepared: Iterable[tuple[T, np.ndarray]],
    size: int,
    use_sector: bool = True,
    sector_frames: int = SECTOR_FRAMES,
) -> tuple[Sector, Iterator[tuple[T, np.ndarray]]]:
    """The recording's sector and each (payload, grey frame) pair with the grey frame as the
    network sees it: everything outside the sector blanked.

    ``prepared`` pairs come from :func:`lvwall.data.preprocess.prepare_frame` at model size
    ``size``. The sector is found from the first ``sector_frames`` frames (read ahead, with
    their payloads); without ``use_sector``, or with no frames, it is the whole frame.
    """
    if sector_frames < 1:
        raise ValueError(f"sector_frames must be positive, got {sector_frames}")
    prepared = iter(prepared)
    if not use_sector:
        return whole_frame(size, size), prepared
    head = list(itertools.islice(prepared, sector_frames))
    if not head:
        return whole_frame(size, size), iter(())
    sector = find_sector(np.stack([grey for _, grey in head]))
    return sector, (
        (payload, sector.apply(grey)) for payload, grey in itertools.chain(head, prepared)
    )


def segment_frames(
    frames: Iterable[np.ndarray], model: SegmentationModel, options: PredictOptions
) -> Iterator[SegmentedFrame]:
    """Segment RGB uint8 frames (H, W, 3) as they come, ``options.batch_size`` at a time
    (fewer for frames so large that :func:`frames_in_flight` allows fewer).

    Closing the returned iterator early stops the decoding thread and closes ``frames``.
    """
    source = iter(frames)
    first = next(source, None)
    if first is None:
        return
    in_flight = frames_in_flight(*first.shape[:2], options.batch_size)
    # Each frame travels as it is shown, with its own size and its grey model-size image
    # before the sector is applied: quality control measures the whole input, the network
    # sees the sector only.
    prefetch = prefetched(
        (
            ((preview_image(frame), frame.shape[:2], grey), grey)
            for frame in itertools.chain([first], source)
            for grey in [prepare_frame(frame, model.image_size)]
        ),
        in_flight,
        "lvwall-decode",
    )
    del first
    try:
        # The frames the sector is found from wait, whole, for the network: as few as two
        # of the largest frames, the usual sixteen of an echo video's.
        look_ahead = min(SECTOR_FRAMES, max(MIN_SECTOR_FRAMES, in_flight))
        sector, inputs = network_inputs(prefetch, model.image_size, options.sector, look_ahead)
        batch_size = min(options.batch_size, in_flight)
        yield from _segment_inputs(inputs, model, options, sector, batch_size)
    finally:
        # Now, not whenever the last reference to this chain of generators goes.
        prefetch.close()
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _segment_inputs(
    inputs: Iterator[tuple[tuple[np.ndarray, tuple[int, int], np.ndarray], np.ndarray]],
    model: SegmentationModel,
    options: PredictOptions,
    sector: Sector,
    batch_size: int,
) -> Iterator[SegmentedFrame]:
    predictor = model.predictor
    if options.tta is not None:
        predictor = TEST_TIME_AUGMENTATIONS[options.tta](predictor)
    probabilities = _predict_stream(inputs, predictor, batch_size)
    if options.smoothing is not None:
        probabilities = SMOOTHERS[options.smoothing]()(probabilities)
    threshold = model.threshold if options.threshold is None else options.threshold
    mask_filter = MASK_FILTERS[options.mask_filter] if options.mask_filter else _unchanged
    control = QualityControl() if options.quality else None
    for (image, (height, width), grey), probability in probabilities:
        original = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
        mask = mask_filter((probability >= threshold).astype(np.uint8))
        yield SegmentedFrame(
            image=image,
            probability=probability,
            mask=mask,
            mask_original=mask_filter((original >= threshold).astype(np.uint8)),
            grey=grey,
            quality=None if control is None else control.assess(grey, probability, mask, sector),
        )


def _unchanged(mask: np.ndarray) -> np.ndarray:
    return mask


def _predict_stream(
    inputs: Iterator[tuple[np.ndarray, np.ndarray]], predictor: Predictor, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    while chunk := list(itertools.islice(inputs, batch_size)):
        images, greys = zip(*chunk, strict=True)
        yield from zip(images, predictor.predict(np.stack(greys)[:, None])[:, 0], strict=True)


def prefetched(items: Iterator[T], depth: int, name: str) -> Iterator[T]:
    """Yield ``items`` as a background thread called ``name`` produces them, up to ``depth``
    ahead.

    One stage of the pipeline then overlaps the next (decoding with the network, the network
    with writing): FFmpeg, OpenCV, NumPy and ONNX Runtime all release the GIL. An exception
    in the thread is raised here, in order; when the consumer stops early, the thread stops
    and closes ``items``.
    """
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                slots.put(entry, timeout=0.05)
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    break
            else:
                put(("end", None))
        except BaseException as error:  # handed over to the consumer, which raises it
            put(("error", error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()
