"""A torch Dataset over the frames of labelled recordings, reproducible with any workers.

The n-th fetch of item i is augmented from its own generator, seeded by (seed, i, n) through
:class:`numpy.random.SeedSequence`. The fetch counts live in shared memory, so they survive
DataLoader workers (persistent or not) and do not depend on which worker fetches an item:
when every item is fetched once per epoch (shuffled or sequential sampling, or any sampler
without replacement), epoch n draws the n-th augmentation of every frame, whatever the
number of workers. Nothing has to be told the epoch. (A sampler with replacement may hand
one item to two workers at the same moment; those two fetches may then share a draw.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from lvwall.data.augment import Augment
from lvwall.data.records import STRUCTURE_LABELS, LabelledRecording

#: The structures a network can learn beside the wall (:data:`STRUCTURE_LABELS`).
AUXILIARY_STRUCTURES: tuple[str, ...] = tuple(name for name in STRUCTURE_LABELS if name != "wall")


def check_auxiliary(names: Sequence[str] | str) -> tuple[str, ...]:
    """``names`` (or one comma-separated string) as a tuple of :data:`AUXILIARY_STRUCTURES`,
    each once; :class:`ValueError` otherwise."""
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in names if name not in AUXILIARY_STRUCTURES]
    if unknown:
        raise ValueError(
            f"auxiliary structures must be among {list(AUXILIARY_STRUCTURES)}, got {unknown}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"auxiliary structures repeat: {list(names)}")
    return tuple(names)


def check_structures(recordings: Sequence[LabelledRecording], auxiliary: Sequence[str]) -> None:
    """:class:`ValueError` when ``auxiliary`` structures are asked for and a recording has no
    label map of its structures to learn them from."""
    unlabelled = [recording for recording in recordings if recording.structures is None]
    if auxiliary and unlabelled:
        sources = sorted({recording.source or "unnamed" for recording in unlabelled})
        raise ValueError(
            f"{unlabelled[0].name} has no label map of its structures: {len(unlabelled)} "
            f"recordings ({', '.join(sources)}) hold wall masks only, and learning "
            f"{', '.join(auxiliary)} beside the wall needs CAMUS's label maps"
        )


def select_recordings(
    recordings: Sequence[LabelledRecording], indices: Sequence[int] | np.ndarray
) -> list[LabelledRecording]:
    """The recordings at ``indices`` (e.g. one side of a fold from ``splits.kfold``)."""
    chosen = [int(index) for index in indices]
    outside = [index for index in chosen if not 0 <= index < len(recordings)]
    if outside:
        raise ValueError(f"indices {outside} lie outside 0..{len(recordings) - 1}")
    return [recordings[index] for index in chosen]


class FrameDataset(Dataset):
    """Every frame of ``recordings`` as one item, optionally augmented.

    An item is ``dict(image=float32 tensor (1, H, W), mask=float32 tensor (1, H, W),
    recording=str, frame=int)``, where ``recording`` is the recording's name and ``frame`` the
    frame's index within it. ``augment`` is called as ``augment(image, mask, rng)`` (see
    :data:`lvwall.data.augment.Augment`). With ``auxiliary`` structures (names from
    :data:`AUXILIARY_STRUCTURES`) every recording needs its ``structures``; the label map is
    augmented in place of the wall mask (its nearest-neighbour warp keeps labels), and the item
    also holds ``auxiliary``, float32 (len(auxiliary), H, W), one binary mask per structure.
    """

    def __init__(
        self,
        recordings: Sequence[LabelledRecording],
        augment: Augment | None = None,
        seed: int = 0,
        auxiliary: Sequence[str] = (),
    ) -> None:
        if seed < 0:
            raise ValueError(f"seed must not be negative, got {seed}")
        self.auxiliary = check_auxiliary(auxiliary)
        check_structures(recordings, self.auxiliary)
        self.recordings = list(recordings)
        self.augment = augment
        self.seed = seed
        self.frame_ids: list[tuple[int, int]] = [
            (recording, frame)
            for recording, item in enumerate(self.recordings)
            for frame in range(len(item))
        ]
        # Shared memory, so that fetches in DataLoader workers count for everyone.
        self._fetches = torch.zeros(len(self.frame_ids), dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return len(self.frame_ids)

    def rng(self, index: int, fetch: int = 0) -> np.random.Generator:
        """The generator that augments the ``fetch``-th fetch (from 0) of item ``index``."""
        return np.random.default_rng([self.seed, index, fetch])

    def fetches(self, index: int) -> int:
        """How often item ``index`` has been augmented so far."""
        return int(self._fetches[index])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str | int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} outside a dataset of {len(self)} frames")
        index %= len(self)
        recording_index, frame = self.frame_ids[index]
        recording = self.recordings[recording_index]
        image = recording.frames[frame]
        labels = recording.structures if self.auxiliary else recording.masks
        mask = labels[frame]
        if self.augment is not None:
            fetch = self.fetches(index)
            self._fetches[index] += 1
            image, mask = self.augment(image, mask, self.rng(index, fetch))
        item = {
            # torch.tensor copies, so training code cannot write into the recordings.
            "image": torch.tensor(image, dtype=torch.float32)[None],
            "recording": recording.name,
            "frame": frame,
        }
        if not self.auxiliary:
            return {**item, "mask": torch.tensor(mask, dtype=torch.float32)[None]}
        masks = np.stack([mask == STRUCTURE_LABELS[name] for name in ("wall", *self.auxiliary)])
        masks = torch.tensor(masks, dtype=torch.float32)
        return {**item, "mask": masks[:1], "auxiliary": masks[1:]}
