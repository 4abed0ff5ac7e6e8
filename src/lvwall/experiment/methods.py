"""The report's methods: what the data was and how the study ran, as sentences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lvwall import __version__
from lvwall.data import detect_format
from lvwall.errors import DataError
from lvwall.experiment.plan import ExperimentPlan
from lvwall.experiment.presets import experiment_preset
from lvwall.experiment.tuning import describe_kwargs


def format_duration(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_dataset(paths: Sequence[str]) -> str:
    """A phrase naming the data, e.g. ``synthetic phantom (phantom)``."""
    names = {"hmcqu": "HMC-QU layout", "phantom": "synthetic phantom", "camus": "CAMUS"}
    parts = []
    for path in map(Path, paths):
        try:
            kind = names[detect_format(path)]
        except DataError:
            kind = "data"
        parts.append(f"{kind} ({path.name})")
    return "; ".join(parts)


def methods_table(
    plan: ExperimentPlan, training_seconds: float, device: str
) -> list[tuple[str, str]]:
    """The methods table: budget, splits, model, training and timing."""
    config, train = plan.config, plan.config.train
    overrides = ", ".join(f"{key} {value}" for key, value in train.model_overrides.items())
    model = train.preset + (f" ({overrides})" if overrides else "")
    searched = [
        f"{loss}: " + "; ".join(describe_kwargs(k) for k in config.candidates(loss))
        for loss in config.losses
        if len(config.candidates(loss)) > 1
    ]
    epochs = f"{train.epochs} epoch{'s' if train.epochs != 1 else ''}"
    stopping = (
        f"early stopping after {train.patience} epochs without a better inner Dice"
        if train.patience is not None
        else "no early stopping"
    )
    return [
        ("Experiment preset", f"{config.preset}: {experiment_preset(config.preset).description}"),
        ("Outer folds", f"{config.folds} (patient-wise, stratified by MI), seed {config.seed}"),
        ("Inner validation", f"{train.val_fraction:.0%} of the training fold's patients"),
        ("Model", f"U-Net preset {model}, input {train.image_size}x{train.image_size}"),
        (
            "Training",
            f"{epochs}, batch {train.batch_size}, "
            f"{train.frames_per_epoch or 'all'} frames per epoch, AdamW lr {train.lr:g}, "
            f"{train.schedule} schedule, augmentation '{train.augment}', {stopping}",
        ),
        ("Searched", "; ".join(searched) or "nothing"),
        (
            "Training time",
            f"{format_duration(training_seconds)} over {plan.n_runs} runs on {device}",
        ),
        ("Software", f"lvwall {__version__}"),
    ]
