"""The LightningDataModule: frames of the recordings, split patient-wise, never frame-wise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, RandomSampler

from lvwall.data import LabelledRecording
from lvwall.errors import LvwallError
from lvwall.train.config import TrainConfig


class SegmentationDataModule(L.LightningDataModule):
    """Frames of the recordings, split patient-wise (never frame-wise) into train and val.

    With ``val_recordings`` every recording trains and those validate. Otherwise the split is
    :func:`lvwall.data.splits.kfold` fold ``config.fold`` when a fold is set, else
    :func:`lvwall.data.splits.train_val_split` with ``config.val_fraction``.
    """

    def __init__(
        self,
        recordings: Sequence[LabelledRecording],
        config: TrainConfig,
        num_workers: int,
        val_recordings: Sequence[LabelledRecording] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.num_workers = num_workers
        if val_recordings is not None:
            _check_no_shared_patients(recordings, val_recordings)
            self.train_recordings, self.val_recordings = list(recordings), list(val_recordings)
            return
        from lvwall.data import kfold, select_recordings, train_val_split

        try:
            if config.fold is None:
                train_idx, val_idx = train_val_split(recordings, config.val_fraction, config.seed)
            else:
                train_idx, val_idx = kfold(recordings, config.folds, config.seed)[config.fold]
        except ValueError as error:
            raise LvwallError(_split_advice(recordings, config, error)) from None
        self.train_recordings = select_recordings(recordings, train_idx)
        self.val_recordings = select_recordings(recordings, val_idx)

    def split(self) -> dict[str, list[str]]:
        """Recording names on each side of the split."""
        return {
            "train": [recording.name for recording in self.train_recordings],
            "val": [recording.name for recording in self.val_recordings],
        }

    def train_dataloader(self) -> DataLoader:
        from lvwall.data import FrameDataset, build_augment

        dataset = FrameDataset(
            self.train_recordings,
            augment=build_augment(self.config.augment),
            seed=self.config.seed,
            auxiliary=self.config.auxiliary,
        )
        sampler = None
        if self.config.frames_per_epoch is not None:
            generator = torch.Generator().manual_seed(self.config.seed)
            sampler = RandomSampler(
                dataset, num_samples=self.config.frames_per_epoch, generator=generator
            )
        return DataLoader(
            dataset,
            batch_size=self.config.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            drop_last=len(dataset) > self.config.batch_size,
            **self._loader_options(),
        )

    def val_dataloader(self) -> DataLoader:
        from lvwall.data import FrameDataset

        dataset = FrameDataset(self.val_recordings, augment=None, seed=self.config.seed)
        return DataLoader(dataset, batch_size=self.config.batch_size, **self._loader_options())

    def _loader_options(self) -> dict[str, Any]:
        return {
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
            "pin_memory": torch.cuda.is_available(),
        }


def _split_advice(
    recordings: Sequence[LabelledRecording], config: TrainConfig, error: ValueError
) -> str:
    """Why the recordings cannot be split for validation, and which option would work."""
    patients = {recording.patient for recording in recordings}
    with_mi = {recording.patient for recording in recordings if recording.label}
    split = (
        f"fold {config.fold} of a patient-wise {config.folds}-fold split"
        if config.fold is not None
        else f"a patient-wise hold-out of {config.val_fraction:.0%}"
    )
    reason = str(error).rstrip(".")
    return (
        f"the {len(recordings)} recordings ({len(patients)} patients, {len(with_mi)} with MI) "
        f"are too few for {split} stratified by MI ({reason}); use --fold 0 --folds 2, or "
        "validate on other recordings with --val-data"
    )


def _check_no_shared_patients(
    train: Sequence[LabelledRecording], validation: Sequence[LabelledRecording]
) -> None:
    shared = sorted({r.patient for r in train} & {r.patient for r in validation})
    if shared:
        listed = ", ".join(shared[:3]) + (f" and {len(shared) - 3} more" if len(shared) > 3 else "")
        raise LvwallError(
            f"the validation data shares patients with the training data ({listed}), "
            "so it would not measure generalisation"
        )
