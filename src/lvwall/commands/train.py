"""``lvwall train``: train the LV-wall U-Net into a run folder."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.utilities import rank_zero_only
from rich.console import Console

from lvwall.commands._options import (
    deprecated,
    out_option,
    seed_option,
    threads_option,
    view_option,
    workers_option,
)
from lvwall.errors import DataError, LvwallError
from lvwall.model import build_model, count_parameters, default_model_paths, load_model
from lvwall.threads import use_torch_threads
from lvwall.train import CONFIG_FILE, LOSSES, TrainConfig, check_run_dir, fit

#: What ``--init`` takes for the bundled model.
BUNDLED_INIT = "default"


# Option callbacks: a wrong value is a usage error (exit 2), before anything runs.
def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def _positive_finite(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive finite number, got {value}")
    return value


def command(
    out: Path = out_option("Run folder for checkpoints, logs, curves (new, or the one to resume)."),
    data: list[Path] = typer.Option(
        None, "--data", help="Dataset folder (HMC-QU layout, phantom or CAMUS); repeat to mix."
    ),
    views: list[str] = view_option("Views to train and validate on"),
    val_data: list[Path] = typer.Option(
        None,
        "--val-data",
        help="Validate on this dataset instead of a held-out share of --data, so that every "
        "--data recording trains; repeat to mix.",
    ),
    loss: str = typer.Option(None, "--loss", help=f"Loss: {', '.join(LOSSES)} (default: dice)."),
    alpha: float = typer.Option(
        None, "--alpha", callback=_finite, help="Focal Tversky weight of false positives."
    ),
    beta: float = typer.Option(
        None, "--beta", callback=_finite, help="Focal Tversky weight of false negatives."
    ),
    gamma: float = typer.Option(None, "--gamma", callback=_finite, help="Focal Tversky exponent."),
    preset: str = typer.Option(
        None,
        "--preset",
        help="U-Net preset, e.g. fast4 or seed (default: fast6, the bundled model's).",
    ),
    epochs: int = typer.Option(None, "--epochs", min=1, help="Maximum epochs (default: 30)."),
    batch_size: int = typer.Option(
        None, "--batch-size", min=1, help="Frames per batch (default: 8)."
    ),
    lr: float = typer.Option(
        None,
        "--lr",
        callback=_positive_finite,
        help="Peak learning rate of AdamW, positive (default: 3e-3).",
    ),
    schedule: str = typer.Option(
        None, "--schedule", help="LR schedule: one-cycle, cosine or constant (default: one-cycle)."
    ),
    patience: int = typer.Option(
        None, "--patience", min=1, help="Stop after this many epochs without a better val Dice."
    ),
    augment: str = typer.Option(
        None,
        "--augment",
        help="Augmentation policy, e.g. none, echo or echo-apex (default: echo).",
    ),
    frames_per_epoch: int = typer.Option(
        None,
        "--frames-per-epoch",
        min=1,
        help="Training frames drawn per epoch (default: all).",
    ),
    swa_start: float = typer.Option(
        None,
        "--swa-start",
        help="Average the weights of every epoch from this fraction of --epochs on "
        "(stochastic weight averaging), e.g. 0.5; checkpoints hold the average.",
    ),
    auxiliary: str = typer.Option(
        None,
        "--auxiliary",
        help="Structures to learn beside the wall from CAMUS's label maps, e.g. cavity,atrium "
        "(a training-only head: the saved model segments the wall alone).",
    ),
    deep_supervision: int = typer.Option(
        None,
        "--deep-supervision",
        min=0,
        help="Decoder levels above the last that also learn the wall, each through a "
        "training-only head, as nnU-Net does (default: 0).",
    ),
    compile_: bool = typer.Option(
        None,
        "--compile/--no-compile",
        help="Train through torch.compile: faster steps after a warm-up of about a minute; "
        "needs a C++ compiler (default: off).",
    ),
    fold: int = typer.Option(
        None,
        "--fold",
        min=0,
        help="Validate on this fold (0-based) of a patient-wise k-fold split.",
    ),
    folds: int = typer.Option(None, "--folds", min=2, help="Number of folds (default: 5)."),
    seed: int = seed_option("the split, weights and augmentation (default 0)", default=None),
    config: Path = typer.Option(
        None, "--config", help="YAML training config; the flags given here override it."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted run from OUT/last.ckpt."
    ),
    init: Path = typer.Option(
        None,
        "--init",
        help="Start from this checkpoint's weights and architecture (fine-tune); 'default' "
        "fine-tunes the bundled model.",
    ),
    devices: str = typer.Option(
        None, "--devices", help="Devices per node: a number or 'auto' (default: auto)."
    ),
    accelerator: str = typer.Option(
        None, "--accelerator", help="auto, cpu, gpu, cuda or mps (default: auto)."
    ),
    num_nodes: int = typer.Option(None, "--num-nodes", min=1, help="Nodes for multi-node DDP."),
    strategy: str = typer.Option(
        None, "--strategy", help="auto, ddp, ddp_spawn, ddp_fork or ddp_notebook (default: auto)."
    ),
    precision: str = typer.Option(
        None, "--precision", help="auto, 32, bf16-mixed or 16-mixed (default: auto)."
    ),
    workers: int = workers_option(
        "DataLoader worker processes (default: 0 on CPU, up to 8 on GPU).", None
    ),
    num_workers: int = typer.Option(None, "--num-workers", min=0, hidden=True),
    threads: int = threads_option(),
) -> None:
    """Train the U-Net on labelled recordings and write OUT/best.ckpt and OUT/last.ckpt.

    Recordings are split by patient (never by frame) into training and validation; the best
    epoch by validation Dice is kept. OUT also gets config.yaml, metrics.csv (one row per
    epoch), metrics.json, learning_curve.png and TensorBoard logs.
    """

    if rank_zero_only.rank == 0:
        check_run_dir(out, resume)  # before anything else: a typo must not cost a run
    if folds is not None and fold is None:
        raise typer.BadParameter(
            "--folds sets how many patient-wise folds --fold chooses from; give --fold too, "
            "e.g. --fold 0 --folds 2 (or validate on other recordings with --val-data)",
            param_hint="--folds",
        )
    use_torch_threads(threads)
    if num_workers is not None:
        deprecated("--num-workers", "--workers")
        workers = num_workers if workers is None else workers
    for path in [*(data or []), *(val_data or []), *([config] if config else [])]:
        if not path.exists():
            raise DataError(path, "does not exist")
    if init is not None and str(init) == BUNDLED_INIT:
        init = default_model_paths().weights
    if init is not None and not init.is_file():
        raise DataError(init, "the --init checkpoint does not exist")
    if config is not None:
        base = TrainConfig.from_yaml(config)
    elif resume and (out / CONFIG_FILE).is_file():
        base = TrainConfig.from_yaml(out / CONFIG_FILE)
    else:
        base = TrainConfig()
    loss_kwargs = {
        name: value
        for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma))
        if value is not None
    }
    try:
        settings = base.with_overrides(
            data=[str(path.resolve()) for path in data] if data else None,
            views=views or None,
            val_data=[str(path.resolve()) for path in val_data] if val_data else None,
            loss=loss,
            loss_kwargs=loss_kwargs or None,
            preset=preset,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            schedule=schedule,
            patience=patience,
            augment=augment,
            frames_per_epoch=frames_per_epoch,
            swa_start=swa_start,
            auxiliary=auxiliary,
            deep_supervision=deep_supervision,
            compile=compile_,
            fold=fold,
            folds=folds,
            seed=seed,
            init_checkpoint=str(init.resolve()) if init else None,
            devices=_devices(devices),
            accelerator=accelerator,
            num_nodes=num_nodes,
            strategy=strategy,
            precision=precision,
            num_workers=workers,
        )
    except ValueError as error:
        raise LvwallError(f"bad training settings: {error}") from None
    if not settings.data:
        raise LvwallError("no training data: give --data PATH (or data: in --config)")
    console = Console(stderr=True)
    if rank_zero_only.rank == 0:
        console.print(_model_line(settings, resume, out), highlight=False, soft_wrap=True)
    try:
        result = fit(settings, out, resume=resume)
    except MisconfigurationException as error:
        raise LvwallError(f"Lightning cannot run these hardware settings: {error}") from None
    if rank_zero_only.rank != 0:
        return
    Console().print(
        f"best val Dice [bold]{result.best_val_dice:.4f}[/] after {result.epochs_run} epochs"
        f"{' (stopped early)' if result.stopped_early else ''}; "
        f"best: {result.best_checkpoint}, last: {result.last_checkpoint}",
        highlight=False,
        soft_wrap=True,
    )


def _model_line(settings: TrainConfig, resume: bool, out: Path) -> str:
    """What is about to train: the U-Net, its size, the loss and the budget."""

    if settings.init_checkpoint is not None:
        model, _ = load_model(settings.init_checkpoint)
        start = f"fine-tuning {settings.init_checkpoint}: "
    else:
        model = build_model(settings.preset, **settings.model_overrides)
        start = f"U-Net preset {settings.preset}: "
    verb = "resuming" if resume else "training"
    return (
        f"{start}{count_parameters(model):,} parameters, {settings.loss} loss, "
        f"{settings.epochs} epoch{'s' if settings.epochs != 1 else ''}; {verb} into {out}"
    )


def _devices(value: str | None) -> int | str | None:
    if value is None or value == "auto":
        return value
    if value.isdigit():
        return int(value)
    raise ValueError(f"--devices must be a number or 'auto', got {value!r}")
