"""Segment the LV wall in any recording: predictors, post-processing and the streamed pipeline.

Frames flow one way and are never all in memory: decode -> :func:`prepare_frame` (the
training preprocessing) -> sector masking -> batches through a :class:`Predictor` -> optional
temporal smoothing -> threshold and mask clean-up -> writers. Variants are registered by
name: :data:`BACKENDS` (how the network runs), :data:`TEST_TIME_AUGMENTATIONS`,
:data:`SMOOTHERS`, :data:`MASK_FILTERS` and :data:`WRITERS` (what is written per recording).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import itertools
import os
import queue
import shutil
import tempfile
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import cv2
import numpy as np

from lvwall.atomic import atomic_dir, atomic_path
from lvwall.data.inputs import InputSource, Recording
from lvwall.data.preprocess import prepare_frame
from lvwall.data.records import MODEL_SIZE
from lvwall.data.sector import SECTOR_FRAMES, Sector, find_sector, whole_frame
from lvwall.errors import DataError, ModelError

if TYPE_CHECKING:
    import torch
    from torch import nn

T = TypeVar("T")

#: Probability above which a pixel is wall when the model's metadata does not say.
DEFAULT_THRESHOLD = 0.5
#: Frame rate of the overlay video when the input does not record one (image folders).
DEFAULT_FPS = 25.0
#: Colour (RGB) and opacity of the wall in overlay videos.
WALL_COLOUR, WALL_OPACITY = (255, 64, 32), 0.45
#: What a recording's output folder holds; an existing folder is replaced only if it holds
#: nothing else, so that a re-run never deletes a user's own files.
OUTPUT_FILES = frozenset(
    {"masks.npz", "wall_area.csv", "overlay.mp4", "overlay.gif", "overlay.png"}
)
WEIGHT_SUFFIXES, ONNX_SUFFIX = frozenset({".ckpt", ".safetensors"}), ".onnx"


class Predictor(Protocol):
    """Runs the network: grey frames (B, 1, H, W) float32 in [0, 1] -> wall probabilities."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Wall probabilities (B, 1, H, W) float32 for ``batch`` (B, 1, H, W) float32."""
        ...


def default_threads() -> int:
    """CPU cores this process may use: the right intra-op thread count for inference."""
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _check_batch(batch: np.ndarray) -> np.ndarray:
    if batch.ndim != 4 or batch.shape[1] != 1:
        raise ValueError(f"expected a batch of grey frames (B, 1, H, W), got {batch.shape}")
    return np.ascontiguousarray(batch, dtype=np.float32)


class TorchPredictor:
    """Runs a U-Net with PyTorch on ``device``, in ``dtype``; ``model`` is moved and cast in
    place. bfloat16 about doubles CPU speed on processors with AVX512-BF16 or AMX, at about
    two to three significant digits of probability."""

    def __init__(
        self,
        model: nn.Module,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
    ) -> None:
        import torch

        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        # Channels-last lets oneDNN (CPU) and cuDNN (GPU) pick their fastest convolutions.
        self.model = model.to(self.device, self.dtype).to(memory_format=torch.channels_last).eval()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        import torch

        images = torch.from_numpy(_check_batch(batch)).to(self.device, self.dtype)
        with torch.inference_mode():
            logits = self.model(images.contiguous(memory_format=torch.channels_last))
            return torch.sigmoid(logits.float()).cpu().numpy()


class OnnxPredictor:
    """Runs an exported model (:func:`lvwall.export.export_onnx`) with ONNX Runtime on the CPU.

    All graph optimisations are on; ``threads`` intra-op threads (default: every core this
    process may use) and one inter-op thread, as the U-Net is one chain of operators.
    """

    def __init__(self, onnx_path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        from lvwall.export import read_onnx_meta

        path = Path(onnx_path)
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be positive, got {threads}")
        self.meta = read_onnx_meta(path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime's errors share no base class but Exception
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ModelError(path, f"cannot be loaded by ONNX Runtime ({first_line})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = inputs[0].shape if len(inputs) == 1 else []
        fits = len(outputs) == 1 and len(shape) == 4 and shape[1] == 1
        if not fits or isinstance(shape[0], int) or not isinstance(shape[2], int):
            raise ModelError(
                path,
                f"is an ONNX model with inputs {[i.shape for i in inputs]}, not a segmentation "
                "model taking grey frames (any batch, 1, height, width) as `lvwall export` "
                "writes them",
            )
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        self.image_size = int(shape[2])

    def predict(self, batch: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run(
            [self.output_name], {self.input_name: _check_batch(batch)}
        )
        return probabilities


class FlipAverage:
    """Test-time augmentation: the mean of the prediction for the frames and the flipped-back
    prediction for their left-right mirror images (one batched model call), the mirroring
    test-time augmentation of nnU-Net (Isensee et al., Nature Methods 18:203-211, 2021)."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = _check_batch(batch)
        both = self.predictor.predict(np.concatenate([batch, batch[..., ::-1]]))
        n = len(batch)
        return 0.5 * (both[:n] + both[n:, ..., ::-1])


#: Wrappers that turn a predictor into a test-time-augmented one, by name.
TEST_TIME_AUGMENTATIONS: dict[str, Callable[[Predictor], Predictor]] = {"flip": FlipAverage}


class CentredMean:
    """Temporal smoothing: each frame's probabilities become the mean over a centred window of
    ``window`` frames (fewer at the ends). Streamed: a frame leaves once the ``window // 2``
    frames after it have arrived, so at most ``window`` frames are held."""

    def __init__(self, window: int = 3) -> None:
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd number, got {window}")
        self.window = window

    def __call__(self, frames: Iterable[tuple[T, np.ndarray]]) -> Iterator[tuple[T, np.ndarray]]:
        """Smooth a stream of (payload, probability) pairs; payloads pass through unchanged."""
        half = self.window // 2
        recent: deque[tuple[T, np.ndarray]] = deque(maxlen=self.window)
        n_in = n_out = 0
        for item in frames:
            recent.append(item)
            n_in += 1
            if n_in - 1 - n_out >= half:
                yield self._centred(recent, n_out, n_in)
                n_out += 1
        for index in range(n_out, n_in):
            yield self._centred(recent, index, n_in)

    def _centred(
        self, recent: deque[tuple[T, np.ndarray]], index: int, n_in: int
    ) -> tuple[T, np.ndarray]:
        first = n_in - len(recent)
        half = self.window // 2
        window = range(max(index - half, first), min(index + half, n_in - 1) + 1)
        mean = sum(recent[k - first][1] for k in window) / np.float32(len(window))
        return recent[index - first][0], mean


#: Temporal smoothers of probability streams, by name.
SMOOTHERS: dict[str, Callable[[], CentredMean]] = {
    "mean3": lambda: CentredMean(3),
    "mean5": lambda: CentredMean(5),
}


def keep_largest_component(mask: np.ndarray) -> np.ndarray:
    """Only the largest 8-connected region of a {0, 1} uint8 mask (the wall is one piece)."""
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n_labels <= 2:
        return mask
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8)


#: Clean-ups of binary masks, by name.
MASK_FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "largest": keep_largest_component,
}


@dataclass(frozen=True)
class SegmentationModel:
    """A ready predictor with the threshold and input size it was trained for."""

    predictor: Predictor
    threshold: float
    image_size: int
    description: str


@dataclass(frozen=True)
class PredictOptions:
    """How :func:`segment_frames` and :func:`predict_sources` run; names are registry keys.

    ``threshold`` ``None`` takes the model's own; ``sector`` zeroes the scanner overlays
    outside the ultrasound sector (:mod:`lvwall.data.sector`) before the network sees them.
    """

    batch_size: int = 8
    tta: str | None = None
    smoothing: str | None = None
    mask_filter: str | None = None
    threshold: float | None = None
    sector: bool = True
    output_format: str = "npz"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        for value, registry, what in (
            (self.tta, TEST_TIME_AUGMENTATIONS, "test-time augmentation"),
            (self.smoothing, SMOOTHERS, "smoothing"),
            (self.mask_filter, MASK_FILTERS, "mask filter"),
            (self.output_format, WRITERS, "output format"),
        ):
            if value is not None and value not in registry:
                raise ValueError(f"unknown {what} {value!r}; choose one of {sorted(registry)}")


@dataclass(frozen=True)
class SegmentedFrame:
    """One frame's result: the decoded RGB ``image``, the model-size ``probability`` and
    binary masks (uint8 {0, 1}) at model size and at the frame's own size."""

    image: np.ndarray
    probability: np.ndarray
    mask: np.ndarray
    mask_original: np.ndarray


def segment_frames(
    frames: Iterable[np.ndarray], model: SegmentationModel, options: PredictOptions
) -> Iterator[SegmentedFrame]:
    """Segment RGB uint8 frames (H, W, 3) as they come, ``options.batch_size`` at a time.

    Closing the returned iterator early stops the decoding thread and closes ``frames``.
    """
    source = iter(frames)
    prefetch = _prefetched(
        ((frame, prepare_frame(frame, model.image_size)) for frame in source),
        2 * options.batch_size,
        "lvwall-decode",
    )
    try:
        yield from _segment_prepared(prefetch, model, options)
    finally:
        # Now, not whenever the last reference to this chain of generators goes.
        prefetch.close()
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _segment_prepared(
    prepared: Iterator[tuple[np.ndarray, np.ndarray]],
    model: SegmentationModel,
    options: PredictOptions,
) -> Iterator[SegmentedFrame]:
    size = model.image_size
    if options.sector:
        head = list(itertools.islice(prepared, SECTOR_FRAMES))
        if not head:
            return
        sector = find_sector(np.stack([grey for _, grey in head]))
        prepared = itertools.chain(head, prepared)
    else:
        sector = whole_frame(size, size)
    predictor = model.predictor
    if options.tta is not None:
        predictor = TEST_TIME_AUGMENTATIONS[options.tta](predictor)
    probabilities = _predict_stream(prepared, predictor, sector, options)
    if options.smoothing is not None:
        probabilities = SMOOTHERS[options.smoothing]()(probabilities)
    threshold = model.threshold if options.threshold is None else options.threshold
    mask_filter = MASK_FILTERS[options.mask_filter] if options.mask_filter else _unchanged
    for image, probability in probabilities:
        height, width = image.shape[:2]
        original = cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
        yield SegmentedFrame(
            image=image,
            probability=probability,
            mask=mask_filter((probability >= threshold).astype(np.uint8)),
            mask_original=mask_filter((original >= threshold).astype(np.uint8)),
        )


def _prefetched(items: Iterator[T], depth: int, name: str) -> Iterator[T]:
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


def _unchanged(mask: np.ndarray) -> np.ndarray:
    return mask


def _predict_stream(
    prepared: Iterator[tuple[np.ndarray, np.ndarray]],
    predictor: Predictor,
    sector: Sector,
    options: PredictOptions,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    while chunk := list(itertools.islice(prepared, options.batch_size)):
        images, greys = zip(*chunk, strict=True)
        batch = sector.apply(np.stack(greys))[:, None]
        yield from zip(images, predictor.predict(batch)[:, 0], strict=True)


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) RGB uint8 with the wall (``mask`` (H, W) uint8 nonzero) tinted."""
    tinted = cv2.addWeighted(
        image, 1.0 - WALL_OPACITY, _wall_colour_plane(image.shape), WALL_OPACITY, 0.0
    )
    # OpenCV's masked copy is ~20x faster than numpy's boolean-mask assignment here.
    return cv2.copyTo(tinted, mask, image.copy())


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


def _write_recording_folder(
    recording: Recording, frames: Iterator[SegmentedFrame], out_dir: Path
) -> Path:
    """``out_dir/<name>/``: masks.npz, the overlay, wall_area.csv; atomically as one folder."""
    from lvwall.data.video import write_video

    target = out_dir / recording.name
    _check_replaceable(target)
    model_masks: list[np.ndarray] = []
    original_masks: list[np.ndarray] = []

    def overlays() -> Iterator[np.ndarray]:
        for frame in frames:
            model_masks.append(frame.mask)
            original_masks.append(frame.mask_original)
            yield overlay(frame.image, frame.mask_original)

    with atomic_dir(target) as folder:
        if recording.kind == "image":
            first = next(overlays())
            cv2.imwrite(str(folder / "overlay.png"), cv2.cvtColor(first, cv2.COLOR_RGB2BGR))
        else:
            fps = recording.fps or DEFAULT_FPS
            if recording.path.suffix.lower() == ".gif":
                write_video(folder / "overlay.gif", overlays(), fps=fps)
            else:
                _write_preview_mp4(folder / "overlay.mp4", overlays(), fps)
        _save_npz(
            folder / "masks.npz", model=np.stack(model_masks), original=np.stack(original_masks)
        )
        _write_wall_areas(folder / "wall_area.csv", model_masks, original_masks, recording)
        if target.exists():
            shutil.rmtree(target)
    return target


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """:func:`numpy.savez_compressed` at deflate level 1 instead of 6: binary masks become
    ~1.8x larger but compress 2-10x faster (np.load reads both alike)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)


def _check_replaceable(target: Path) -> None:
    if target.is_file() or (
        target.is_dir() and any(p.name not in OUTPUT_FILES for p in target.iterdir())
    ):
        raise DataError(
            target, "exists and holds files lvwall did not write; choose another --out folder"
        )


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
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index, (mask, original) in enumerate(zip(model_masks, original_masks, strict=True)):
            pixels = int(mask.sum())
            row: list[Any] = [index, pixels, f"{pixels / mask.size:.6f}"]
            if spacing:
                row.append(f"{int(original.sum()) * spacing[0] * spacing[1]:.3f}")
            writer.writerow(row)


def _write_png_mask(recording: Recording, frames: Iterator[SegmentedFrame], out_dir: Path) -> Path:
    """``out_dir/<name>.png``: the mask at the image's own size, 0 background, 255 wall."""
    if recording.kind != "image":
        raise DataError(
            recording.path,
            f"is a recording ({recording.kind}), but --format png writes masks of single "
            "images only; use --format npz",
        )
    (frame,) = list(frames)
    target = out_dir / f"{recording.name}.png"
    with atomic_path(target) as tmp:
        if not cv2.imwrite(str(tmp), frame.mask_original * np.uint8(255)):
            raise DataError(target, "could not be written as PNG")
    return target


#: What is written per recording, by ``--format``.
WRITERS: dict[str, Callable[[Recording, Iterator[SegmentedFrame], Path], Path]] = {
    "npz": _write_recording_folder,
    "png": _write_png_mask,
}


class PredictProgress(Protocol):
    """Receives progress from :func:`predict_sources` (a Rich progress bar in the CLI)."""

    def start(self, recording: Recording) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What became of one input: its output path, or the error (one sentence) it failed with."""

    source: InputSource
    output: Path | None
    n_frames: int
    seconds: float
    error: DataError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str:
        """Why it failed, without the input's path where the error names the input itself."""
        if self.error is None:
            return ""
        return self.error.problem if self.error.path == self.source.path else str(self.error)


def predict_sources(
    sources: Iterable[InputSource],
    model: SegmentationModel,
    options: PredictOptions,
    out_dir: str | Path,
    *,
    progress: PredictProgress | None = None,
) -> list[Outcome]:
    """Segment every source into ``out_dir``; a failing source leaves nothing behind and
    does not stop the others."""
    out_dir = Path(out_dir)
    outcomes = []
    for source in sources:
        start = time.perf_counter()
        counter = _FrameCounter(progress)
        try:
            recording = source.open()
            if progress is not None:
                progress.start(recording)
            # Segmenting runs ahead in its own thread while this one writes (encoding the
            # overlay video takes about a quarter of the network's time per frame).
            segmented = _prefetched(
                segment_frames(counter.count(recording.frames()), model, options),
                2 * options.batch_size,
                "lvwall-segment",
            )
            output = WRITERS[options.output_format](recording, segmented, out_dir)
        except DataError as error:
            seconds = time.perf_counter() - start
            outcomes.append(Outcome(source, None, counter.n_frames, seconds, error))
        else:
            seconds = time.perf_counter() - start
            outcomes.append(Outcome(source, output, counter.n_frames, seconds))
    return outcomes


class _FrameCounter:
    """Counts decoded frames on their way into the pipeline and reports them as progress."""

    def __init__(self, progress: PredictProgress | None) -> None:
        self.progress = progress
        self.n_frames = 0

    def count(self, frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            self.n_frames += 1
            if self.progress is not None:
                self.progress.advance()
            yield frame


def load_segmentation_model(
    model_path: str | Path | None = None, backend: str = "auto", *, threads: int | None = None
) -> SegmentationModel:
    """A model from a ``.ckpt``/``.safetensors``/``.onnx`` file, or the bundled default.

    ``backend`` is a key of :data:`BACKENDS` or ``"auto"``: PyTorch on a CUDA GPU when one is
    available and the model is not an ONNX file, otherwise ONNX Runtime on the CPU (a PyTorch
    model is exported on the fly).
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be positive, got {threads}")
    path = None if model_path is None else Path(model_path)
    if backend == "auto":
        is_onnx = path is not None and path.suffix.lower() == ONNX_SUFFIX
        backend = "torch" if _cuda_available() and not is_onnx else "onnx"
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose 'auto' or one of {sorted(BACKENDS)}")
    if path is not None:
        _check_model_file(path)
    return BACKENDS[backend](path, threads)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _check_model_file(path: Path) -> None:
    if not path.is_file():
        raise ModelError(path, "the model file does not exist")
    if path.suffix.lower() not in WEIGHT_SUFFIXES | {ONNX_SUFFIX}:
        raise ModelError(
            path,
            f"is not a model file lvwall knows (suffix {path.suffix or 'none'}; expected "
            ".ckpt, .safetensors or .onnx)",
        )


def _load_onnx(path: Path | None, threads: int | None) -> SegmentationModel:
    from lvwall.bundled import default_model_paths

    if path is None:
        path = default_model_paths().onnx
        description = "bundled default model"
    else:
        description = str(path)
    if path.suffix.lower() != ONNX_SUFFIX:
        return _export_and_load(path, threads)
    predictor = OnnxPredictor(path, threads)
    threshold = float(predictor.meta.get("threshold", DEFAULT_THRESHOLD))
    return SegmentationModel(
        predictor, threshold, predictor.image_size, f"{description} (ONNX Runtime)"
    )


def _export_and_load(path: Path, threads: int | None) -> SegmentationModel:
    """Export a PyTorch model to a temporary ONNX file and load it into ONNX Runtime."""
    from lvwall.export import export_checkpoint

    with tempfile.TemporaryDirectory(prefix="lvwall-onnx-") as folder:
        onnx_path = Path(folder) / "model.onnx"
        export_checkpoint(path, onnx_path)
        # The session holds the graph in memory, so the file can go with the folder.
        predictor = OnnxPredictor(onnx_path, threads)
    threshold = float(predictor.meta.get("threshold", DEFAULT_THRESHOLD))
    return SegmentationModel(
        predictor, threshold, predictor.image_size, f"{path} (ONNX Runtime, exported now)"
    )


def _torch_loader(precision: str) -> Callable[[Path | None, int | None], SegmentationModel]:
    def load(path: Path | None, threads: int | None) -> SegmentationModel:
        import torch

        from lvwall.bundled import default_model_paths
        from lvwall.checkpoint import load_model

        if path is not None and path.suffix.lower() == ONNX_SUFFIX:
            raise ModelError(
                path,
                "is an ONNX model, which only the onnx backend runs; use --backend onnx or "
                "give a .ckpt or .safetensors model",
            )
        weights = path or default_model_paths().weights
        network, meta = load_model(weights)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cpu":
            torch.set_num_threads(threads or default_threads())
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        predictor = TorchPredictor(network, device, dtype)
        size = int(meta.get("image_size") or MODEL_SIZE)
        threshold = float(meta.get("threshold") or DEFAULT_THRESHOLD)
        name = "bundled default model" if path is None else str(path)
        return SegmentationModel(
            predictor, threshold, size, f"{name} (PyTorch {precision} on {device})"
        )

    return load


#: How the network runs, by ``--backend``; each loads a model path (``None``: the bundled one).
BACKENDS: dict[str, Callable[[Path | None, int | None], SegmentationModel]] = {
    "onnx": _load_onnx,
    "torch": _torch_loader("fp32"),
    "torch-bf16": _torch_loader("bf16"),
}
