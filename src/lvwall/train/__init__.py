"""Train the LV-wall U-Net with PyTorch Lightning.

* :mod:`~lvwall.train.module`: the LightningModule (U-Net, loss, AdamW, schedule, metrics);
* :mod:`~lvwall.train.data`: the LightningDataModule (a patient-wise split of the frames);
* :mod:`~lvwall.train.swa`: stochastic weight averaging along one run;
* :mod:`~lvwall.train.fit`: one run into a run folder;
* :mod:`~lvwall.train.run_folder`: what a run folder holds and how it is read;
* :mod:`~lvwall.train.quiet`: Lightning's banners and tips kept out of lvwall's output.
"""

from lvwall.train.data import SegmentationDataModule
from lvwall.train.fit import (
    TrainResult,
    build_trainer,
    fit,
    on_gpu,
    resolve_num_workers,
    resolve_precision,
)
from lvwall.train.module import ConfusionCounts, SegmentationModule

__all__ = [
    "ConfusionCounts",
    "SegmentationDataModule",
    "SegmentationModule",
    "TrainResult",
    "build_trainer",
    "fit",
    "on_gpu",
    "resolve_num_workers",
    "resolve_precision",
]
