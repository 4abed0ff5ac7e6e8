"""Train the LV-wall U-Net with PyTorch Lightning.

Lightning runs the loop, checkpoints, mixed precision, several GPUs and nodes (DDP) and the
loggers; this module supplies the parts that are specific to the study:

* :class:`SegmentationModule`: the U-Net, a loss from :data:`lvwall.losses.LOSSES`, AdamW
  (Loshchilov & Hutter, ICLR 2019) and a learning-rate schedule from :data:`SCHEDULES`.
  Validation accumulates pixel confusion counts over the whole validation fold (summed over
  processes under DDP) and logs the study's metrics from them (Degerli et al., IEEE Access
  2021: Dice, IoU, accuracy, precision, recall, F1; plus specificity) as ``val/<name>``.
* :class:`SegmentationDataModule`: frames of a patient-wise split of the recordings.
* :func:`fit`: one run into a run folder: ``config.yaml``, ``split.json``, ``best.ckpt`` (best
  ``val/dice``), ``last.ckpt``, ``metrics.csv`` (one row per epoch), ``learning_curve.png``,
  ``metrics.json``, and CSV and TensorBoard logs under ``logs/`` and ``tensorboard/``.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd
import torch
from lightning.pytorch.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    RichProgressBar,
)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, OneCycleLR
from torch.utils.data import DataLoader, RandomSampler
from torchmetrics import Metric

from lvwall.atomic import atomic_path, write_text
from lvwall.checkpoint import DEFAULT_THRESHOLD, META_KEY, load_model
from lvwall.config import RUN_DEFINING_FIELDS, TrainConfig
from lvwall.data.records import LabelledRecording
from lvwall.errors import DataError, LvwallError
from lvwall.losses import build_loss
from lvwall.metrics import OVERLAP_METRICS, batch_confusion, metrics_from_confusion
from lvwall.model import UNet, build_model
from lvwall.swa import EpochWeightAveraging

#: The metric that picks the best checkpoint and drives early stopping.
MONITOR = "val/dice"
#: Metrics logged every validation epoch, in the study's order (specificity added).
VAL_METRICS: tuple[str, ...] = OVERLAP_METRICS
BEST_CHECKPOINT = "best.ckpt"
LAST_CHECKPOINT = "last.ckpt"
CONFIG_FILE = "config.yaml"
SPLIT_FILE = "split.json"
HISTORY_FILE = "metrics.csv"
SUMMARY_FILE = "metrics.json"
CURVE_FILE = "learning_curve.png"

#: Lightning warnings that say nothing here: the run folder holds config.yaml before the first
#: checkpoint, and Lightning 2.6 calls a torch 2.13 pytree API that torch has deprecated.
QUIET_WARNINGS: tuple[str, ...] = (
    r"Checkpoint directory .* exists and is not empty",
    r".*isinstance\(treespec, LeafSpec\)",
)

ScheduleFactory = Callable[[torch.optim.Optimizer, float, int], LRScheduler | None]


def _one_cycle(optimizer: torch.optim.Optimizer, lr: float, total_steps: int) -> LRScheduler:
    """Warm up to ``lr`` over 30% of the steps, then cosine-anneal (Smith & Topin, 2019)."""
    return OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)


def _cosine(optimizer: torch.optim.Optimizer, lr: float, total_steps: int) -> LRScheduler:
    """Cosine decay from ``lr`` to zero over the run (SGDR without restarts, Loshchilov &
    Hutter, ICLR 2017)."""
    return CosineAnnealingLR(optimizer, T_max=total_steps)


def _constant(optimizer: torch.optim.Optimizer, lr: float, total_steps: int) -> None:
    return None


#: Learning-rate schedules by name, each stepped after every optimiser step.
SCHEDULES: dict[str, ScheduleFactory] = {
    "one-cycle": _one_cycle,
    "cosine": _cosine,
    "constant": _constant,
}


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
    ``model_config``), so :func:`lvwall.checkpoint.load_model` reads them with
    ``torch.load(weights_only=True)``.
    """

    def __init__(self, config: TrainConfig, model: UNet) -> None:
        super().__init__()
        self.save_hyperparameters(
            {"train_config": config.to_dict(), "model_config": model.config.to_dict()}
        )
        self.config = config
        self.model = model
        self.loss = build_loss(config.loss, **config.loss_kwargs)
        self.val_counts = ConfusionCounts()
        self.channels_last = False
        self.latest_val_metrics: dict[str, float] = {}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.model(images)

    def use_channels_last(self) -> None:
        """Keep weights and inputs in NHWC, which tensor cores prefer for convolutions."""
        self.channels_last = True
        self.model.to(memory_format=torch.channels_last)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch["image"]), batch["mask"])
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

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[META_KEY] = {
            "threshold": DEFAULT_THRESHOLD,
            "metrics": dict(self.latest_val_metrics),
        }

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        total_steps = max(int(self.trainer.estimated_stepping_batches), 1)
        scheduler = SCHEDULES[self.config.schedule](optimizer, self.config.lr, total_steps)
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


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
        from lvwall.data.splits import kfold, train_val_split

        try:
            if config.fold is None:
                train_idx, val_idx = train_val_split(recordings, config.val_fraction, config.seed)
            else:
                train_idx, val_idx = kfold(recordings, config.folds, config.seed)[config.fold]
        except ValueError as error:
            raise LvwallError(f"cannot split the recordings patient-wise: {error}") from None
        self.train_recordings = [recordings[i] for i in train_idx]
        self.val_recordings = [recordings[i] for i in val_idx]

    def split(self) -> dict[str, list[str]]:
        """Recording names on each side of the split."""
        return {
            "train": [recording.name for recording in self.train_recordings],
            "val": [recording.name for recording in self.val_recordings],
        }

    def train_dataloader(self) -> DataLoader:
        from lvwall.data.augment import build_augment
        from lvwall.data.dataset import FrameDataset

        dataset = FrameDataset(
            self.train_recordings, augment=build_augment(self.config.augment), seed=self.config.seed
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
        from lvwall.data.dataset import FrameDataset

        dataset = FrameDataset(self.val_recordings, augment=None, seed=self.config.seed)
        return DataLoader(dataset, batch_size=self.config.batch_size, **self._loader_options())

    def _loader_options(self) -> dict[str, Any]:
        return {
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
            "pin_memory": torch.cuda.is_available(),
        }


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


@dataclass(frozen=True)
class TrainResult:
    """What :func:`fit` produced. ``epochs_run`` counts epochs completed over all attempts."""

    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    best_val_dice: float
    epochs_run: int
    stopped_early: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }


def on_gpu(config: TrainConfig) -> bool:
    """Whether Lightning will train on CUDA devices with this config."""
    if config.accelerator in ("gpu", "cuda"):
        return True
    return config.accelerator == "auto" and torch.cuda.is_available()


def resolve_precision(config: TrainConfig) -> str:
    """``config.precision``, with "auto" made bf16-mixed on a CUDA device that has bf16
    (Ampere and later) and 32 elsewhere: fp16 would need loss scaling and CPU autocast is
    slower than float32 for these convolutions."""
    if config.precision != "auto":
        return config.precision
    if on_gpu(config) and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32"


def resolve_num_workers(config: TrainConfig) -> int:
    """``config.num_workers``, with ``None`` made 0 on CPU and up to 8 on a GPU."""
    if config.num_workers is not None:
        return config.num_workers
    return min(8, os.cpu_count() or 1) if on_gpu(config) else 0


def check_run_dir(out_dir: Path, resume: bool) -> None:
    """Refuse to start over a run folder with results, or to resume one without ``last.ckpt``.

    Raises :class:`LvwallError` naming the folder.
    """
    if resume:
        if not (out_dir / LAST_CHECKPOINT).is_file():
            raise LvwallError(f"{out_dir}: nothing to resume, there is no {LAST_CHECKPOINT}")
        return
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise LvwallError(
            f"{out_dir}: the run folder already exists and is not empty; "
            "pick a new --out or continue it with --resume"
        )


def build_trainer(config: TrainConfig, out_dir: Path, quiet: bool = False) -> L.Trainer:
    """A Lightning trainer for ``config`` writing checkpoints and logs into ``out_dir``.

    Checkpoints: ``best.ckpt`` (best ``val/dice``) and ``last.ckpt``; early stopping on
    ``val/dice``; learning rate, CSV and TensorBoard logs; a Rich progress bar; with
    ``config.swa_start``, stochastic weight averaging (checkpoints then hold the average). On a GPU:
    cuDNN autotuning and TF32 matrix multiplies. ``quiet`` skips the model summary (for
    ranks other than 0).
    """
    gpu = on_gpu(config)
    if gpu:
        # TF32 matmuls: about 2x faster on Ampere+, with ample accuracy for segmentation.
        torch.set_float32_matmul_precision("high")
    callbacks: list[L.Callback] = [
        ModelCheckpoint(
            dirpath=out_dir,
            filename=Path(BEST_CHECKPOINT).stem,
            monitor=MONITOR,
            mode="max",
            save_top_k=1,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        ),
        # Every epoch, replacing the one before. Not ``save_last``, which (Lightning 2.6)
        # writes last.ckpt only in epochs that also save a better best.ckpt.
        ModelCheckpoint(
            dirpath=out_dir,
            filename=Path(LAST_CHECKPOINT).stem,
            monitor=None,
            save_top_k=1,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        ),
        LearningRateMonitor(logging_interval="epoch"),
        RichProgressBar(),
    ]
    if config.patience is not None:
        callbacks.append(EarlyStopping(monitor=MONITOR, mode="max", patience=config.patience))
    if config.swa_start is not None:
        callbacks.append(EpochWeightAveraging(start_epoch=int(config.swa_start * config.epochs)))
    return L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=resolve_precision(config),
        callbacks=callbacks,
        logger=[
            CSVLogger(save_dir=out_dir, name="logs"),
            TensorBoardLogger(save_dir=out_dir, name="tensorboard", default_hp_metric=False),
        ],
        # Everything is logged per epoch; checking every step for step logs costs nothing.
        log_every_n_steps=1,
        benchmark=gpu,
        default_root_dir=out_dir,
        enable_model_summary=not quiet,
    )


def fit(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    recordings: Sequence[LabelledRecording] | None = None,
    val_recordings: Sequence[LabelledRecording] | None = None,
) -> TrainResult:
    """Train a U-Net as ``config`` says, into the run folder ``out_dir``.

    ``resume=True`` continues an interrupted run from ``out_dir/last.ckpt`` (epochs, optimiser,
    schedule, early-stopping state) and requires ``config`` to match the run's saved
    ``config.yaml`` in every field of :data:`lvwall.config.RUN_DEFINING_FIELDS`; hardware
    settings (devices, precision, workers) may change. ``recordings`` and ``val_recordings``
    skip loading ``config.data`` and ``config.val_data`` (for callers that already hold the
    data).
    """
    out_dir = Path(out_dir).resolve()
    is_launcher = _launched_rank() == 0
    if is_launcher:
        check_run_dir(out_dir, resume)
        if resume:
            _check_resume_config(out_dir, config)
    L.seed_everything(config.seed, workers=True, verbose=False)
    # The trainer first, so that hardware settings Lightning cannot honour fail before the
    # data are read.
    trainer = build_trainer(config, out_dir, quiet=not is_launcher)
    if recordings is None:
        recordings = _load_recordings(config.data, config.image_size, "train", is_launcher)
    if val_recordings is None and config.val_data:
        val_recordings = _load_recordings(
            config.val_data, config.image_size, "validate", is_launcher
        )
    datamodule = SegmentationDataModule(
        recordings, config, resolve_num_workers(config), val_recordings
    )
    module = SegmentationModule(config, _initial_model(config))
    if config.channels_last if config.channels_last is not None else on_gpu(config):
        module.use_channels_last()
    if is_launcher:
        out_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            config.to_yaml(out_dir / CONFIG_FILE)
            write_text(out_dir / SPLIT_FILE, json.dumps(datamodule.split(), indent=2))
    started = time.perf_counter()
    with warnings.catch_warnings():
        for message in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        trainer.fit(
            module, datamodule=datamodule, ckpt_path=out_dir / LAST_CHECKPOINT if resume else None
        )
    paths = {
        "run_dir": out_dir,
        "best_checkpoint": out_dir / BEST_CHECKPOINT,
        "last_checkpoint": out_dir / LAST_CHECKPOINT,
    }
    if not trainer.is_global_zero:
        epochs = trainer.current_epoch
        return TrainResult(
            **paths,
            best_val_dice=_score(trainer.checkpoint_callback.best_model_score),
            epochs_run=epochs,
            stopped_early=epochs < config.epochs,
        )
    # Rank 0 reads the outcome from the logs: with spawned or forked workers (ddp_spawn,
    # ddp_notebook) this process's trainer never saw the epochs run.
    history = write_history(out_dir)
    plot_learning_curve(history, out_dir / CURVE_FILE)
    epochs = len(history)
    result = TrainResult(
        **paths,
        best_val_dice=float(history[MONITOR].max()) if MONITOR in history else math.nan,
        epochs_run=epochs,
        stopped_early=epochs < config.epochs,
    )
    summary = {
        **result.to_dict(),
        "best_epoch": _best_epoch(history),
        "best_val_metrics": _best_row(history),
        "seconds": round(time.perf_counter() - started, 2),
        "train_recordings": len(datamodule.train_recordings),
        "val_recordings": len(datamodule.val_recordings),
        "model_config": module.model.config.to_dict(),
        "train_config": config.to_dict(),
    }
    write_text(out_dir / SUMMARY_FILE, json.dumps(summary, indent=2))
    return result


def _launched_rank() -> int:
    """This process's global rank as the launcher (torchrun, SLURM, Lightning) set it.

    Lightning's ``ddp`` strategy starts the other ranks by running the same program again;
    only rank 0 checks and prepares the run folder.
    """
    return int(getattr(rank_zero_only, "rank", 0) or 0)


def _check_resume_config(out_dir: Path, config: TrainConfig) -> None:
    saved = TrainConfig.from_yaml(out_dir / CONFIG_FILE)
    changed = saved.differences(config, RUN_DEFINING_FIELDS)
    if changed:
        raise LvwallError(
            f"{out_dir / CONFIG_FILE}: --resume must continue the same run, but "
            f"{', '.join(changed)} differ from the saved config"
        )


def _load_recordings(
    paths: list[str], size: int, purpose: str, progress: bool
) -> list[LabelledRecording]:
    """The labelled recordings of the datasets at ``paths``, to ``purpose`` on."""
    from lvwall.data.registry import load_labelled

    if not paths:
        raise ValueError(f"config names no dataset to {purpose} on")
    recordings = load_labelled(paths, size=size, progress=progress)
    if not recordings:
        raise DataError(paths[0], f"holds no labelled recordings to {purpose} on")
    return recordings


def _initial_model(config: TrainConfig) -> UNet:
    if config.init_checkpoint is not None:
        model, _ = load_model(config.init_checkpoint)
        return model.train()
    return build_model(config.preset, **config.model_overrides)


def _score(value: torch.Tensor | float | None) -> float:
    return float("nan") if value is None else float(value)


def write_history(run_dir: Path) -> pd.DataFrame:
    """Merge the CSV logs of every attempt (first run and resumes) into one row per epoch.

    An epoch logged twice (an attempt interrupted after logging it, then redone on resume)
    keeps its latest values. The table is written to ``run_dir/metrics.csv``.
    """
    frames = [
        pd.read_csv(path) for path in sorted((run_dir / "logs").glob("version_*/metrics.csv"))
    ]
    frames = [frame for frame in frames if "epoch" in frame]
    if not frames:
        history = pd.DataFrame({"epoch": pd.Series(dtype=int)})
    else:
        logs = pd.concat(frames, ignore_index=True).sort_values("step", kind="stable")
        # The learning-rate monitor logs at the start of an epoch, without its number.
        logs["epoch"] = logs["epoch"].bfill()
        history = logs.drop(columns="step").groupby("epoch", as_index=False).last()
        history["epoch"] = history["epoch"].astype(int)
    with atomic_path(run_dir / HISTORY_FILE) as tmp:
        history.to_csv(tmp, index=False)
    return history


def plot_learning_curve(history: pd.DataFrame, path: Path) -> Path:
    """Loss (train and val) and the validation metrics per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axes, metric_axes) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    epochs = history["epoch"] + 1 if "epoch" in history else []
    for column, label in (("train/loss", "train"), ("val/loss", "validation")):
        if column in history:
            loss_axes.plot(epochs, history[column], marker="o", label=label)
    loss_axes.set(xlabel="epoch", ylabel="loss", title="Loss")
    for name in VAL_METRICS:
        if f"val/{name}" in history:
            metric_axes.plot(epochs, history[f"val/{name}"], marker=".", label=name)
    metric_axes.set(xlabel="epoch", ylabel="score", title="Validation", ylim=(0.0, 1.0))
    for axes in (loss_axes, metric_axes):
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
        axes.grid(alpha=0.3)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
    return path


def _best_epoch(history: pd.DataFrame) -> int | None:
    if MONITOR not in history or history[MONITOR].isna().all():
        return None
    return int(history.loc[history[MONITOR].idxmax(), "epoch"])


def _best_row(history: pd.DataFrame) -> dict[str, float]:
    epoch = _best_epoch(history)
    if epoch is None:
        return {}
    row = history.loc[history["epoch"] == epoch].iloc[0]
    return {
        name: float(row[f"val/{name}"])
        for name in VAL_METRICS
        if f"val/{name}" in row and not math.isnan(row[f"val/{name}"])
    }
