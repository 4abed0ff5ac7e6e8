"""One training run into a run folder, with Lightning running the loop.

Lightning runs the loop, checkpoints, mixed precision, several GPUs and nodes (DDP) and the
loggers; :func:`fit` builds the trainer for a :class:`~lvwall.train.config.TrainConfig` (hardware
settings resolved for the machine), trains :class:`~lvwall.train.module.SegmentationModule`
on :class:`~lvwall.train.data.SegmentationDataModule` and writes the run folder
(:mod:`lvwall.train.run_folder`).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only

from lvwall.atomic import write_json
from lvwall.data import LabelledRecording, check_structures
from lvwall.errors import DataError, LvwallError, ModelError, OutputError, RunInterruptedError
from lvwall.model import UNet, build_model, load_model
from lvwall.train.config import RUN_DEFINING_FIELDS, TrainConfig, check_deep_supervision
from lvwall.train.data import SegmentationDataModule
from lvwall.train.module import SegmentationModule
from lvwall.train.progress import progress_bar
from lvwall.train.quiet import quiet_lightning
from lvwall.train.run_folder import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    CURVE_FILE,
    LAST_CHECKPOINT,
    MONITOR,
    SPLIT_FILE,
    SUMMARY_FILE,
    best_epoch,
    best_metrics,
    check_run_dir,
    plot_learning_curve,
    write_history,
)
from lvwall.train.swa import EpochWeightAveraging


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


def build_trainer(config: TrainConfig, out_dir: Path) -> L.Trainer:
    """A Lightning trainer for ``config`` writing checkpoints and logs into ``out_dir``.

    Checkpoints: ``best.ckpt`` (best ``val/dice``) and ``last.ckpt``; early stopping on
    ``val/dice``; learning rate, CSV and TensorBoard logs; a Rich progress bar; with
    ``config.swa_start``, stochastic weight averaging (checkpoints then hold the average). On a GPU:
    cuDNN autotuning and TF32 matrix multiplies. No model summary: ``lvwall train`` prints its
    own line about the model.
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
        progress_bar(),
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
        enable_model_summary=False,
    )


def fit(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    recordings: Sequence[LabelledRecording] | None = None,
    val_recordings: Sequence[LabelledRecording] | None = None,
) -> TrainResult:
    """Train a U-Net as ``config`` says, into the run folder ``out_dir``
    (:mod:`lvwall.run_folder` lists what it holds).

    ``resume=True`` continues an interrupted run from ``out_dir/last.ckpt`` (epochs, optimiser,
    schedule, early-stopping state) and requires ``config`` to match the run's saved
    ``config.yaml`` in every field of :data:`lvwall.train.config.RUN_DEFINING_FIELDS`; hardware
    settings (devices, precision, workers) may change. ``recordings`` and ``val_recordings``
    skip loading ``config.data`` and ``config.val_data`` (for callers that already hold the
    data). Lightning's banners and tips are silenced (:mod:`lvwall.train.quiet`).
    """
    out_dir = Path(out_dir).resolve()
    is_launcher = _launched_rank() == 0
    if is_launcher:
        check_run_dir(out_dir, resume)
        if resume:
            _check_resume_config(out_dir, config)
            load_model(out_dir / LAST_CHECKPOINT)  # a truncated or unsafe file fails here
    with quiet_lightning():
        L.seed_everything(config.seed, workers=True, verbose=False)
        # The trainer first, so that hardware settings Lightning cannot honour fail before
        # the data are read.
        trainer = build_trainer(config, out_dir)
        if recordings is None:
            recordings = _load_recordings(config, config.data, "train", is_launcher)
        if val_recordings is None and config.val_data:
            val_recordings = _load_recordings(config, config.val_data, "validate", is_launcher)
        _check_structures(recordings, config)
        datamodule = SegmentationDataModule(
            recordings, config, resolve_num_workers(config), val_recordings
        )
        module = SegmentationModule(config, _initial_model(config))
        if config.channels_last if config.channels_last is not None else on_gpu(config):
            module.use_channels_last()
        if config.compile:
            _check_compiler()
            module.use_compile()
        if is_launcher:
            out_dir.mkdir(parents=True, exist_ok=True)
            if not resume:
                config.to_yaml(out_dir / CONFIG_FILE)
                write_json(out_dir / SPLIT_FILE, datamodule.split())
        _fit_or_say_how_to_resume(trainer, module, datamodule, out_dir, resume)
    if not trainer.is_global_zero:
        epochs = trainer.current_epoch
        return TrainResult(
            **_run_paths(out_dir),
            best_val_dice=_score(trainer.checkpoint_callback.best_model_score),
            epochs_run=epochs,
            stopped_early=epochs < config.epochs,
        )
    return _summarise_run(out_dir, config, datamodule, module)


#: C++ compilers ``torch.compile`` can build its kernels with (``$CXX`` is tried first).
CXX_COMPILERS: tuple[str, ...] = ("g++", "clang++", "c++", "cl")


def _check_compiler() -> None:
    """``torch.compile`` builds kernels with a C++ compiler; without one it would fail at the
    first training step with a long traceback."""
    candidates = (os.environ.get("CXX", ""), *CXX_COMPILERS)
    if not any(name and shutil.which(name) for name in candidates):
        raise LvwallError(
            "--compile needs a C++ compiler (g++ or clang++) on the PATH; install one or train "
            "without --compile"
        )


def _fit_or_say_how_to_resume(
    trainer: L.Trainer,
    module: SegmentationModule,
    datamodule: SegmentationDataModule,
    out_dir: Path,
    resume: bool,
) -> None:
    """``trainer.fit``, loading a resumed checkpoint with ``weights_only=True``; Ctrl+C ends
    in :class:`RunInterruptedError` saying how to continue (Lightning itself exits with 1)."""
    try:
        trainer.fit(
            module,
            datamodule=datamodule,
            ckpt_path=out_dir / LAST_CHECKPOINT if resume else None,
            weights_only=True,
        )
    except (SystemExit, KeyboardInterrupt) as stop:
        if isinstance(stop, SystemExit) and not trainer.interrupted:
            raise
        if (out_dir / LAST_CHECKPOINT).is_file():
            advice = f"continue it with: lvwall train --out {out_dir} --resume"
        else:
            advice = f"no epoch had finished, so remove {out_dir} and start it again"
        raise RunInterruptedError(f"{out_dir}: training was interrupted; {advice}") from None


def _run_paths(out_dir: Path) -> dict[str, Path]:
    return {
        "run_dir": out_dir,
        "best_checkpoint": out_dir / BEST_CHECKPOINT,
        "last_checkpoint": out_dir / LAST_CHECKPOINT,
    }


def _summarise_run(
    out_dir: Path,
    config: TrainConfig,
    datamodule: SegmentationDataModule,
    module: SegmentationModule,
) -> TrainResult:
    """Write ``metrics.csv``, the learning curve and ``metrics.json``; return the result.

    Rank 0 reads the outcome from the logs and the last checkpoint: with spawned or forked
    workers (ddp_spawn, ddp_notebook) this process's trainer never saw the epochs run.
    """
    history = write_history(out_dir)
    plot_learning_curve(history, out_dir / CURVE_FILE)
    epochs = len(history)
    result = TrainResult(
        **_run_paths(out_dir),
        best_val_dice=float(history[MONITOR].max()) if MONITOR in history else math.nan,
        epochs_run=epochs,
        stopped_early=epochs < config.epochs,
    )
    summary = {
        **result.to_dict(),
        "best_epoch": best_epoch(history),
        "best_val_metrics": best_metrics(history),
        "seconds": round(_trained_seconds(out_dir / LAST_CHECKPOINT), 2),
        "train_recordings": len(datamodule.train_recordings),
        "val_recordings": len(datamodule.val_recordings),
        "model_config": module.model.config.to_dict(),
        "train_config": config.to_dict(),
    }
    write_json(out_dir / SUMMARY_FILE, summary)
    return result


def _trained_seconds(checkpoint: Path) -> float:
    """Training time of the whole run up to ``checkpoint``, over every attempt."""
    _, meta = load_model(checkpoint)
    return float(meta.get("train_seconds") or 0.0)


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
        raise OutputError(
            out_dir / CONFIG_FILE,
            "--resume must continue the same run, but "
            f"{', '.join(changed)} differ from the saved config",
        )


def _load_recordings(
    config: TrainConfig, paths: list[str], purpose: str, progress: bool
) -> list[LabelledRecording]:
    """The labelled recordings of ``config.views`` in the datasets at ``paths``, to
    ``purpose`` on."""
    from lvwall.data import load_labelled

    if not paths:
        raise ValueError(f"config names no dataset to {purpose} on")
    recordings = load_labelled(paths, size=config.image_size, progress=progress, views=config.views)
    if not recordings:
        raise DataError(paths[0], f"holds no labelled recordings to {purpose} on")
    return recordings


def _check_structures(recordings: Sequence[LabelledRecording], config: TrainConfig) -> None:
    """Before any epoch (the training dataset is built only once Lightning starts), that
    every training recording has the label map its auxiliary structures need."""
    try:
        check_structures(recordings, config.auxiliary)
    except ValueError as error:
        raise LvwallError(f"--auxiliary {','.join(config.auxiliary)}: {error}") from None


def _initial_model(config: TrainConfig) -> UNet:
    if config.init_checkpoint is not None:
        model, _ = load_model(config.init_checkpoint)
        try:
            check_deep_supervision(config.deep_supervision, model.config)
        except ValueError as error:
            raise ModelError(config.init_checkpoint, str(error)) from None
        return model.train()
    return build_model(config.preset, **config.model_overrides)


def _score(value: torch.Tensor | float | None) -> float:
    return float("nan") if value is None else float(value)
