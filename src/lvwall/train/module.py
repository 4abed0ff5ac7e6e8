"""The LightningModule: the U-Net with its loss, optimiser, schedule and validation metrics.

The loss comes from :data:`lvwall.train.losses.LOSSES`, the optimiser is AdamW (Loshchilov & Hutter,
ICLR 2019) and the learning-rate schedule one of :data:`lvwall.train.schedules.LR_SCHEDULES`.
Validation accumulates pixel confusion counts over the whole validation fold (summed over
processes under DDP) and logs the study's metrics from them (Degerli et al., IEEE Access
2021: Dice, IoU, accuracy, precision, recall, F1; plus specificity) as ``val/<name>``.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
from torchmetrics import Metric

from lvwall.metrics import batch_confusion, metrics_from_confusion
from lvwall.model import DEFAULT_THRESHOLD, META_KEY, UNet
from lvwall.train.config import TrainConfig, check_deep_supervision
from lvwall.train.losses import build_loss
from lvwall.train.run_folder import VAL_METRICS
from lvwall.train.schedules import LR_SCHEDULES


class ConfusionCounts(Metric):
    """Pixel TP/FP/FN/TN summed over batches and, under DDP, over processes.

    Metrics from pooled counts (micro averaging) are exact for the whole validation fold
    however it is split into batches or processes, unlike an average of per-batch scores.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        # Integer counts: exact at any size, and Apple's MPS has no float64.
        for name in ("tp", "fp", "fn", "tn"):
            self.add_state(name, default=torch.zeros((), dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        tp, fp, fn, tn = batch_confusion(pred, target)
        self.tp += tp.sum()
        self.fp += fp.sum()
        self.fn += fn.sum()
        self.tn += tn.sum()

    def compute(self) -> dict[str, torch.Tensor]:
        return metrics_from_confusion(self.tp, self.fp, self.fn, self.tn)


class SegmentationModule(L.LightningModule):
    """The U-Net with its loss, optimiser, schedule and validation metrics.

    Hyper-parameters saved into checkpoints are plain dicts (``train_config``,
    ``model_config``), so :func:`lvwall.model.checkpoint.load_model` reads them with
    ``torch.load(weights_only=True)``.
    """

    def __init__(self, config: TrainConfig, model: UNet) -> None:
        super().__init__()
        self.save_hyperparameters(
            {"train_config": config.to_dict(), "model_config": model.config.to_dict()}
        )
        self.config = config
        self.model = model
        # Training only: checkpoints keep it beside the U-Net, load_model reads the U-Net alone.
        self.auxiliary_head = (
            torch.nn.Conv2d(model.head.in_channels, len(config.auxiliary), kernel_size=1)
            if config.auxiliary
            else None
        )
        check_deep_supervision(config.deep_supervision, model.config)
        # Training only as well: one wall head per supervised decoder level above the last,
        # finest first (widths[1], widths[2], ...).
        self.deep_heads = torch.nn.ModuleList(
            torch.nn.Conv2d(width, 1, kernel_size=1)
            for width in model.config.widths[1 : 1 + config.deep_supervision]
        )
        self.loss = build_loss(config.loss, **config.loss_kwargs)
        self.val_counts = ConfusionCounts()
        self.channels_last = False
        # Compiled copies of the U-Net's forward and features for training steps; held outside
        # the module's children so that checkpoints keep the U-Net's state dict alone.
        self.compiled: dict[str, Any] = {}
        self.latest_val_metrics: dict[str, float] = {}
        # Training time of the attempts before this one, restored on resume.
        self.earlier_seconds = 0.0
        self.attempt_started: float | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        forward = self.compiled.get("forward", self.model) if self.training else self.model
        return forward(self._in_memory_format(images))

    def _in_memory_format(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return images.contiguous(memory_format=torch.channels_last)
        return images

    def use_channels_last(self) -> None:
        """Keep weights and inputs in NHWC, which tensor cores prefer for convolutions."""
        self.channels_last = True
        self.model.to(memory_format=torch.channels_last)

    def use_compile(self) -> None:
        """Train through ``torch.compile`` (Ansel et al., "PyTorch 2", ASPLOS 2024): fused
        kernels for the training steps, after a warm-up of about a minute on a CPU.

        Evaluation stays eager: validation and checkpoints see the same weights either way, and
        switching to eval mode would otherwise compile a second graph.
        """
        self.compiled = {
            "forward": torch.compile(self.model.forward),
            "decoder_features": torch.compile(self.model.decoder_features),
        }

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.training_loss(batch)
        self.log(
            "train/loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            sync_dist=True,
            batch_size=batch["image"].shape[0],
        )
        return loss

    def training_loss(self, batch: dict[str, Any]) -> torch.Tensor:
        """The wall's loss, with the auxiliary structures' and the deeper levels' where the
        config asks for them."""
        if self.auxiliary_head is None and not self.deep_heads:
            return self.loss(self(batch["image"]), batch["mask"])
        levels = self.compiled.get("decoder_features", self.model.decoder_features)(
            self._in_memory_format(batch["image"]), keep=1 + len(self.deep_heads)
        )
        loss = self.last_level_loss(levels[-1], batch)
        return self.deep_supervision_loss(loss, levels, batch["mask"]) if self.deep_heads else loss

    def last_level_loss(self, features: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """The last decoder level's loss, from its ``features``: the mean over the wall and
        each auxiliary structure (the wall's alone without any), every structure weighted
        alike as in nnU-Net's class-averaged Dice (Isensee et al., Nature Methods 2021)."""
        wall = self.loss(self.model.head(features), batch["mask"])
        if self.auxiliary_head is None:
            return wall
        logits = self.auxiliary_head(features)
        targets = batch["auxiliary"]
        losses = [
            self.loss(logits[:, channel : channel + 1], targets[:, channel : channel + 1])
            for channel in range(logits.shape[1])
        ]
        return torch.stack([wall, *losses]).mean()

    def deep_supervision_loss(
        self, last_loss: torch.Tensor, levels: list[torch.Tensor], mask: torch.Tensor
    ) -> torch.Tensor:
        """Deep supervision as nnU-Net weighs it (Isensee et al., Nature Methods 2021; Lee et
        al., "Deeply-supervised nets", AISTATS 2015): ``last_loss`` and the wall's loss at
        each supervised level ``i`` above the last (``1 / 2**i`` of the size), weighted
        ``1 / 2**i`` and normalised to sum 1. A level's target is the mask averaged over
        ``2**i x 2**i`` blocks, the share of wall in each coarse pixel: nearest-neighbour
        downsampling, nnU-Net's, would break a wall a few pixels thick at 1/8 of the size."""
        losses = [last_loss]
        for index, head in enumerate(self.deep_heads, start=1):
            target = torch.nn.functional.avg_pool2d(mask, kernel_size=2**index)
            losses.append(self.loss(head(levels[-1 - index]), target))
        weights = torch.tensor([0.5**index for index in range(len(losses))])
        weights = (weights / weights.sum()).to(last_loss)
        return (torch.stack(losses) * weights).sum()

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logits = self(batch["image"])
        loss = self.loss(logits, batch["mask"])
        self.log("val/loss", loss, sync_dist=True, batch_size=batch["image"].shape[0])
        # sigmoid(logit) > 0.5 exactly when logit > 0; no need to compute the sigmoid.
        self.val_counts.update(logits.detach() > 0, batch["mask"] > 0.5)

    def on_validation_epoch_end(self) -> None:
        metrics = {name: float(value) for name, value in self.val_counts.compute().items()}
        self.val_counts.reset()
        for name in VAL_METRICS:
            # The counts are already summed over processes, so every rank holds the same value
            # and the mean that sync_dist takes leaves it unchanged.
            self.log(f"val/{name}", metrics[name], prog_bar=name == "dice", sync_dist=True)
        if not self.trainer.sanity_checking:
            self.latest_val_metrics = {name: metrics[name] for name in VAL_METRICS}

    def on_fit_start(self) -> None:
        self.attempt_started = time.perf_counter()

    def trained_seconds(self) -> float:
        """Seconds spent training this run, over every attempt (the first and each resume)."""
        attempt = (
            0.0 if self.attempt_started is None else time.perf_counter() - self.attempt_started
        )
        return self.earlier_seconds + attempt

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[META_KEY] = {
            "threshold": DEFAULT_THRESHOLD,
            "metrics": dict(self.latest_val_metrics),
            "train_seconds": self.trained_seconds(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.earlier_seconds = float((checkpoint.get(META_KEY) or {}).get("train_seconds", 0.0))

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        total_steps = max(int(self.trainer.estimated_stepping_batches), 1)
        scheduler = LR_SCHEDULES[self.config.schedule](optimizer, self.config.lr, total_steps)
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
