"""One segmented recording: what measurement, regional analysis and the page take.

A :class:`SegmentedRecording` holds a recording's model-size wall masks and what else is
known of it: the grey frames they were predicted on, the model's probabilities, each frame's
quality, the video frame's size and pixel spacing. It comes from segmenting a recording now
(:func:`segment_recording`, or :class:`SegmentedCollector` beside a writer) or from a
``masks.npz`` that ``lvwall predict`` wrote (:func:`read_masks_npz`), which holds masks only.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from lvwall.errors import DataError
from lvwall.infer.mask_npz import npz_shape
from lvwall.infer.pipeline import PredictOptions, SegmentedFrame, segment_frames
from lvwall.quality import ViewCall, load_view_classifier

if TYPE_CHECKING:
    from lvwall.data import InputSource, Recording
    from lvwall.infer.backends import SegmentationModel
    from lvwall.infer.batch import PredictProgress
    from lvwall.quality import FrameQuality

#: Keys of a masks NPZ, in order of preference: ``lvwall predict``'s model-size masks, then
#: a plain ``masks`` array.
MASK_KEYS: tuple[str, ...] = ("model", "masks")
#: The most frames :class:`SegmentedCollector` keeps of one recording (``lvwall measure``,
#: ``lvwall regional``, the page): 100 s at 30 frames/s, 40 s at 75, about 0.75 GB at model
#: size; echo clips hold one to a few cycles.
MAX_ANALYSED_FRAMES = 3000
#: The key of ``lvwall predict``'s masks at the video frame's own size (their shape gives
#: the frame's).
ORIGINAL_KEY = "original"


class FrameCounter(Protocol):
    """Told after each frame is segmented (a progress bar, say)."""

    def advance(self) -> None: ...


@dataclass(frozen=True)
class SegmentedRecording:
    """A recording's wall masks, uint8 (T, H, W) in {0, 1} at model size, and what else is
    known of it.

    ``greys`` (float32 (T, H, W) in [0, 1], the frames the masks were predicted on),
    ``probabilities`` (float32 (T, H, W), the model's) and ``qualities`` (each frame's
    quality control) are ``None`` when only masks were read; ``frame_size`` is the video
    frame's (height, width) and ``spacing_mm`` its (row, column) pixel size, ``None`` where
    unknown; ``path`` the file it came from.
    """

    name: str
    masks: np.ndarray
    greys: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    qualities: tuple[FrameQuality | None, ...] | None = None
    frame_size: tuple[int, int] | None = None
    spacing_mm: tuple[float, float] | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def frame_flags(self) -> list[tuple[str, ...]] | None:
        """Each frame's failed quality checks, or ``None`` when quality was not checked."""
        if self.qualities is None or any(quality is None for quality in self.qualities):
            return None
        return [quality.flags for quality in self.qualities]

    def recognise_view(self) -> ViewCall:
        """The view the bundled view classifier recognises from the grey frames and walls;
        A4C by default where there are no frames (masks read from an NPZ) or no wall."""
        if self.greys is None:
            return ViewCall.default()
        try:
            return load_view_classifier().classify(self.greys, self.masks)
        except ValueError:
            return ViewCall.default()

    @property
    def flagged(self) -> list[int]:
        """0-based indices of the frames quality control flagged."""
        return [index for index, flags in enumerate(self.frame_flags or []) if flags]

    def cycle(self, start: int, end: int | None, source: str | Path) -> SegmentedRecording:
        """Frames ``start`` .. ``end`` (1-based, inclusive, as in HMC-QU's A4C.xlsx).

        :class:`DataError` (naming ``source``) when the range does not fit the recording or
        holds fewer than two frames.
        """
        n_frames = len(self.masks)
        end = n_frames if end is None else end
        if not 1 <= start < end <= n_frames:
            raise DataError(
                source,
                f"has {n_frames} frames, so the cycle --start {start} --end {end} does not "
                "fit (need 1 <= start < end <= frames)",
            )
        part = slice(start - 1, end)
        return dataclasses.replace(
            self,
            masks=self.masks[part],
            greys=None if self.greys is None else self.greys[part],
            probabilities=None if self.probabilities is None else self.probabilities[part],
            qualities=None if self.qualities is None else self.qualities[part],
        )


class SegmentedCollector:
    """Keeps what a :class:`SegmentedRecording` needs of each frame as frames stream past
    (to a writer, say), and builds it at the end.

    Each frame's parts are copied at once into arrays made for the whole recording (sized by
    the frame count its header announces), so that memory holds what is kept and little
    else: the mask, and the grey frame and probabilities at half precision, 0.25 MB a frame
    at 224 x 224, whatever the video's frame size. A recording of
    more than :data:`MAX_ANALYSED_FRAMES` frames is refused, so that an analysis stays within
    a known bound (``lvwall predict``, which keeps nothing, has no such limit).
    """

    def __init__(self, recording: Recording, progress: FrameCounter | None = None) -> None:
        self.recording = recording
        self.progress = progress
        expected = recording.n_frames if 0 < recording.n_frames <= MAX_ANALYSED_FRAMES else 64
        self._masks = _FrameStack(expected, np.uint8)
        # Half precision (11 significant bits: probabilities to within 0.0005, finer than
        # any threshold an analysis applies) halves what a long recording keeps.
        self._greys = _FrameStack(expected, np.float16)
        self._probabilities = _FrameStack(expected, np.float16)
        self._qualities: list[FrameQuality | None] = []

    def keep(self, frames: Iterable[SegmentedFrame]) -> Iterator[SegmentedFrame]:
        """Yield ``frames`` unchanged, keeping their model-size parts; :class:`DataError`
        past :data:`MAX_ANALYSED_FRAMES` frames."""
        for frame in frames:
            if len(self._qualities) == MAX_ANALYSED_FRAMES:
                raise DataError(
                    self.recording.path,
                    f"has more than {MAX_ANALYSED_FRAMES} frames, the most one analysis "
                    "takes; cut it to a few cycles (lvwall predict segments any length)",
                )
            self._masks.append(frame.mask)
            self._greys.append(frame.grey)
            self._probabilities.append(frame.probability)
            self._qualities.append(frame.quality)
            if self.progress is not None:
                self.progress.advance()
            yield frame

    def result(self) -> SegmentedRecording:
        """The recording of every frame kept so far; :class:`DataError` if there was none."""
        if not self._qualities:
            raise DataError(self.recording.path, "holds no frames")
        return SegmentedRecording(
            name=self.recording.name,
            masks=self._masks.frames(),
            greys=self._greys.frames(),
            probabilities=self._probabilities.frames(),
            qualities=tuple(self._qualities),
            frame_size=(self.recording.height, self.recording.width),
            spacing_mm=self.recording.pixel_spacing_mm,
            path=self.recording.path,
        )


class _FrameStack:
    """Frames of one shape copied into one array of ``dtype`` as they come, made for
    ``expected`` frames and doubled (up to :data:`MAX_ANALYSED_FRAMES`) when more come."""

    def __init__(self, expected: int, dtype: type[np.generic]) -> None:
        self._expected = max(1, expected)
        self._dtype = dtype
        self._array: np.ndarray | None = None
        self._count = 0

    def append(self, frame: np.ndarray) -> None:
        if self._array is None:
            self._array = np.empty((self._expected, *frame.shape), self._dtype)
        elif self._count == len(self._array):
            grown = np.empty((min(2 * self._count, MAX_ANALYSED_FRAMES), *frame.shape), self._dtype)
            grown[: self._count] = self._array
            self._array = grown
        self._array[self._count] = frame
        self._count += 1

    def frames(self) -> np.ndarray:
        """The frames so far, (count, ...): a view of the array they were copied into."""
        if self._array is None:
            raise ValueError("no frame was appended")
        return self._array[: self._count]


def segment_recording(
    source: InputSource,
    model: SegmentationModel,
    progress: PredictProgress | None = None,
) -> SegmentedRecording:
    """Segment every frame of a recording with ``lvwall predict``'s default pipeline;
    ``progress`` is told when the recording starts and after each frame."""
    recording = source.open()
    if progress is not None:
        progress.start(recording)
    collector = SegmentedCollector(recording, progress)
    for _ in collector.keep(segment_frames(recording.frames(), model, PredictOptions())):
        pass
    return collector.result()


def join_stills(ed: SegmentedRecording, es: SegmentedRecording, name: str) -> SegmentedRecording:
    """One two-frame recording, frame 0 the ED still and frame 1 the ES still, each still
    segmented on its own (so that no check of consecutive frames compares them).

    Stills are single frames of one cycle (CAMUS's, or two frames a scanner exported);
    :class:`DataError` when either holds more than one frame or their frames differ in size.
    """
    for phase, still in (("ED", ed), ("ES", es)):
        if len(still.masks) != 1:
            raise DataError(
                still.path or still.name,
                f"is the {phase} still but holds {len(still.masks)} frames; give one image",
            )
    if ed.frame_size != es.frame_size:
        raise DataError(
            es.path or es.name,
            f"is {es.frame_size} pixels, the ED still {ed.frame_size}: stills of one view "
            "must have the same size",
        )

    def both(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
        return None if first is None or second is None else np.concatenate([first, second])

    return SegmentedRecording(
        name=name,
        masks=np.concatenate([ed.masks, es.masks]),
        greys=both(ed.greys, es.greys),
        probabilities=both(ed.probabilities, es.probabilities),
        qualities=None
        if ed.qualities is None or es.qualities is None
        else (*ed.qualities, *es.qualities),
        frame_size=ed.frame_size,
        spacing_mm=ed.spacing_mm or es.spacing_mm,
        path=ed.path,
    )


def read_masks_npz(path: str | Path) -> SegmentedRecording:
    """Masks from an NPZ file: key ``model`` (``lvwall predict``) or ``masks``, (T, H, W),
    with the frame size where ``lvwall predict`` also stored the masks at the frame's own
    size.

    A ``masks.npz`` inside ``lvwall predict``'s ``OUT/<name>/`` folder is named after that
    folder; any other file after its stem.
    """
    path = Path(path)
    try:
        with np.load(path) as archive:
            key = next((k for k in MASK_KEYS if k in archive.files), None)
            if key is None:
                raise DataError(
                    path, f"holds no wall masks (expected an array named {' or '.join(MASK_KEYS)})"
                )
            masks = archive[key]
    except FileNotFoundError:
        raise DataError(path, "does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(path, f"is not a readable NPZ file ({error})") from None
    if masks.ndim != 3 or masks.shape[0] < 2:
        raise DataError(path, f"masks must be (frames >= 2, H, W), got shape {masks.shape}")
    return SegmentedRecording(
        name=npz_recording_name(path),
        masks=(masks > 0).astype(np.uint8),
        frame_size=_original_frame_size(path),
        path=path,
    )


def npz_recording_name(path: Path) -> str:
    """The recording name of a masks NPZ: its folder's inside ``lvwall predict``'s
    ``OUT/<name>/masks.npz``, else the file's stem."""
    return path.parent.name if path.name == "masks.npz" and path.parent.name else path.stem


def _original_frame_size(path: Path) -> tuple[int, int] | None:
    """(height, width) of the ``original`` masks of an NPZ, read from the array's header."""
    shape = npz_shape(path, ORIGINAL_KEY)
    return (shape[1], shape[2]) if shape is not None and len(shape) == 3 else None
