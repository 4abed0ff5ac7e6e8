"""lvwall.train.data: the patient-wise split of the frames."""

from __future__ import annotations

import pytest

from lvwall.errors import LvwallError
from lvwall.train import (
    SegmentationDataModule,
)
from tiny_training import tiny_config, tiny_recordings


def test_validation_data_must_not_share_patients_with_training_data() -> None:
    recordings = tiny_recordings(6)
    with pytest.raises(LvwallError, match=r"shares patients with the training data \(patient4"):
        SegmentationDataModule(recordings, tiny_config(), 0, val_recordings=recordings[4:])
