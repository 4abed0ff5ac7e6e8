"""The bundled model's reference baseline, cross-validated on the folds of camus_cv.py.

The bundled model is measured against "a MONAI BasicUNet (0.5 M parameters) with
DiceCELoss, trained 60 epochs on the 101 dev frames alone with light augmentation", reported
at LV-wall Dice 0.83 on unseen CAMUS patients. That figure comes from other patients and a
model trained on all 101 frames, so it cannot be set beside ``camus_cv.py``'s estimate, whose
models train on 4/5 of them. This script trains that baseline on exactly the folds of
``camus_cv.py`` (same patients held out, same 224x224 frames, same scoring) and writes its
per-patient Dice in ``camus_cv.csv``'s format, so that the two are compared patient by
patient::

    python benchmarks/basicunet_cv.py --out runs/basicunet_cv --folds 0,1,2 --threads 1 &
    python benchmarks/basicunet_cv.py --out runs/basicunet_cv34 --folds 3,4 --threads 1
    python benchmarks/camus_cv.py --pool runs/basicunet_cv/camus_cv.csv \\
        runs/basicunet_cv34/camus_cv.csv runs/camus_cv/camus_cv.csv

The baseline: ``monai.networks.nets.BasicUNet`` with features (16, 16, 32, 64, 128, 16)
(495,905 parameters), ``monai.losses.DiceCELoss`` on the sigmoid, Adam at a constant 1e-3,
60 epochs of 80 frames (one pass over a fold's 81 training frames) in batches of 8, the
``light`` augmentation (small rotations, scaling, shifts, brightness), last epoch scored.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lightning as L
import pandas as pd
import torch
from monai.losses import DiceCELoss
from monai.networks.nets import BasicUNet

# The sibling script (a script's folder is on sys.path): its folds and its scoring.
from camus_cv import fold_splits, scored_rows
from lvwall.data import load_dataset
from lvwall.train import SegmentationDataModule, TrainConfig

FEATURES = (16, 16, 32, 64, 128, 16)


class BaselineNet(BasicUNet):
    """BasicUNet with the ``predict_proba`` that
    :func:`lvwall.experiment.evaluate.evaluate_model` calls."""

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(x))


class BaselineModule(L.LightningModule):
    """The baseline's loss and optimiser around the network."""

    def __init__(self, net: BaselineNet, lr: float) -> None:
        super().__init__()
        self.net = net
        self.lr = lr
        self.loss = DiceCELoss(sigmoid=True)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.loss(self.net(batch["image"]), batch["mask"])
        self.log("train/loss", loss, on_epoch=True, batch_size=batch["image"].shape[0])
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def train_baseline(train: list, args: argparse.Namespace) -> BaselineNet:
    """Train the baseline on ``train`` and return the last epoch's network."""
    L.seed_everything(args.seed, workers=True, verbose=False)
    config = TrainConfig(
        batch_size=8, frames_per_epoch=80, augment="light", seed=args.seed, num_workers=0
    )
    net = BaselineNet(spatial_dims=2, in_channels=1, out_channels=1, features=FEATURES)
    trainer = L.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    # No validation set: the held-out fold must not pick anything, so the last epoch is scored.
    trainer.fit(
        BaselineModule(net, args.lr), datamodule=SegmentationDataModule(train, config, 0, [])
    )
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camus", type=Path, default=Path("../shared/data/camus-a4c-dev"))
    parser.add_argument("--out", type=Path, default=Path("runs/basicunet_cv"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--folds", default=None, help="comma-separated folds to run (default: all)")
    args = parser.parse_args()
    if not (args.camus / "images").is_dir():
        parser.error(f"{args.camus}: no CAMUS dev folder (images/, masks/) there")
    torch.set_num_threads(args.threads)

    rows = []
    for fold, train, test in fold_splits(load_dataset(args.camus, progress=False), args.folds):
        started = time.perf_counter()
        net = train_baseline(train, args)
        rows += scored_rows("BasicUNet DiceCE", fold, net, {}, test, started)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "camus_cv.csv", index=False)


if __name__ == "__main__":
    main()
