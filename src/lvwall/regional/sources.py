"""Where a recording's wall masks come from: a ``masks.npz`` of ``lvwall predict``, or a
recording segmented now with :mod:`lvwall.infer`."""

from __future__ import annotations

import dataclasses
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lvwall.errors import DataError

if TYPE_CHECKING:
    from lvwall.infer import PredictProgress

#: Keys of a masks NPZ, in order of preference: ``lvwall predict``'s model-size masks, then
#: a plain ``masks`` array.
MASK_KEYS: tuple[str, ...] = ("model", "masks")


@dataclass(frozen=True)
class RecordingMasks:
    """A recording's wall masks, uint8 (T, H, W) in {0, 1}, and what else is known of it.

    ``frames`` (float32 (T, H, W) in [0, 1], the frames the masks were predicted on),
    ``probabilities`` (float32 (T, H, W), the model's) and ``frame_flags`` (each frame's
    quality-control flags) are ``None`` when only masks were read; ``frame_size`` is the
    video frame's (height, width) and ``spacing_mm`` its (row, column) pixel size, ``None``
    where unknown.
    """

    name: str
    masks: np.ndarray
    frames: np.ndarray | None
    probabilities: np.ndarray | None = None
    frame_size: tuple[int, int] | None = None
    spacing_mm: tuple[float, float] | None = None
    frame_flags: list[tuple[str, ...]] | None = None

    @property
    def flagged(self) -> list[int]:
        """0-based indices of the frames quality control flagged."""
        return [index for index, flags in enumerate(self.frame_flags or []) if flags]

    def cycle(self, start: int, end: int | None, source: str | Path) -> RecordingMasks:
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
            frames=None if self.frames is None else self.frames[part],
            probabilities=None if self.probabilities is None else self.probabilities[part],
            frame_flags=None if self.frame_flags is None else self.frame_flags[part],
        )


def read_masks_npz(path: str | Path) -> RecordingMasks:
    """Masks from an NPZ file: key ``model`` (``lvwall predict``) or ``masks``, (T, H, W).

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
    name = path.parent.name if path.name == "masks.npz" and path.parent.name else path.stem
    return RecordingMasks(name=name, masks=(masks > 0).astype(np.uint8), frames=None)


def segment_recording(
    path: str | Path,
    model_path: str | Path | None = None,
    progress: PredictProgress | None = None,
) -> RecordingMasks:
    """Segment every frame of a recording (video, GIF, DICOM, image folder) with ``lvwall
    predict``'s pipeline and model (the bundled one when ``model_path`` is ``None``).

    ``progress`` is told when the recording starts and after each frame.
    """
    from lvwall.data.inputs import discover
    from lvwall.data.preprocess import prepare_frame
    from lvwall.infer import PredictOptions, load_segmentation_model, segment_frames

    path = Path(path)
    sources = discover([path])
    if len(sources) != 1:
        raise DataError(
            path, f"holds {len(sources)} recordings; regional analysis takes one at a time"
        )
    recording = sources[0].open()
    model = load_segmentation_model(model_path)
    if progress is not None:
        progress.start(recording)
    masks, frames, probabilities, flags = [], [], [], []
    for segmented in segment_frames(recording.frames(), model, PredictOptions()):
        masks.append(segmented.mask)
        frames.append(prepare_frame(segmented.image, model.image_size))
        probabilities.append(segmented.probability)
        flags.append(segmented.flags)
        if progress is not None:
            progress.advance()
    if len(masks) < 2:
        raise DataError(path, f"has {len(masks)} frame; motion needs a cycle of at least two")
    return RecordingMasks(
        name=sources[0].name,
        masks=np.stack(masks),
        frames=np.stack(frames),
        probabilities=np.stack(probabilities),
        frame_size=(recording.height, recording.width),
        spacing_mm=recording.pixel_spacing_mm,
        frame_flags=flags,
    )
