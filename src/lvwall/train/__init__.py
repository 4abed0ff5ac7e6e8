"""Train the LV-wall U-Net with PyTorch Lightning.

* :mod:`~lvwall.train.module`: the LightningModule (U-Net, loss, AdamW, schedule, metrics);
* :mod:`~lvwall.train.data`: the LightningDataModule (a patient-wise split of the frames);
* :mod:`~lvwall.train.swa`: stochastic weight averaging along one run;
* :mod:`~lvwall.train.fit`: one run into a run folder;
* :mod:`~lvwall.train.run_folder`: what a run folder holds and how it is read;
* :mod:`~lvwall.train.quiet`: Lightning's banners and tips kept out of lvwall's output.
"""

from lvwall.train.config import TrainConfig
from lvwall.train.data import SegmentationDataModule
from lvwall.train.fit import (
    TrainResult,
    build_trainer,
    fit,
    on_gpu,
    resolve_num_workers,
    resolve_precision,
)
from lvwall.train.losses import LOSSES, build_loss
from lvwall.train.module import ConfusionCounts, SegmentationModule
from lvwall.train.run_folder import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    HISTORY_FILE,
    LAST_CHECKPOINT,
    SUMMARY_FILE,
    check_run_dir,
    read_summary,
    summary_best_val_dice,
)
from lvwall.train.schedules import LR_SCHEDULES
from lvwall.train.soup import average_models

__all__ = [
    "BEST_CHECKPOINT",
    "CONFIG_FILE",
    "HISTORY_FILE",
    "LAST_CHECKPOINT",
    "LOSSES",
    "LR_SCHEDULES",
    "SUMMARY_FILE",
    "ConfusionCounts",
    "SegmentationDataModule",
    "SegmentationModule",
    "TrainConfig",
    "TrainResult",
    "average_models",
    "build_loss",
    "build_trainer",
    "check_run_dir",
    "fit",
    "on_gpu",
    "read_summary",
    "resolve_num_workers",
    "resolve_precision",
    "summary_best_val_dice",
]
