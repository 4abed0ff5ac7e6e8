"""The training configuration: one dataclass, saved as ``config.yaml`` in every run folder.

A run is fully described by its :class:`TrainConfig`. Values come from the defaults, then a
YAML file (``lvwall train --config``), then command-line flags, each overriding the one
before (:meth:`TrainConfig.with_overrides`). Registry names (preset, loss, augmentation)
are checked against their registries when the config is built, so a typo fails before any
data is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lvwall.atomic import to_plain, write_text
from lvwall.data import MODEL_SIZE, VIEWS, check_auxiliary, check_views
from lvwall.lookup import from_settings, settings_from_yaml

if TYPE_CHECKING:
    from lvwall.model import UNetConfig

#: Lightning precisions; "auto" means bf16-mixed on a CUDA device that supports it, else 32.
PRECISIONS: tuple[str, ...] = ("auto", "32", "bf16-mixed", "16-mixed")

ACCELERATORS: tuple[str, ...] = ("auto", "cpu", "gpu", "cuda", "mps")

#: Lightning strategies that make sense for one model on one or more nodes.
STRATEGIES: tuple[str, ...] = ("auto", "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")

#: Loss keyword arguments a config may set (Focal Tversky: Abraham & Khan, ISBI 2019).
LOSS_KWARGS: tuple[str, ...] = ("alpha", "beta", "gamma", "smooth")

#: Fields that define what is learned; ``--resume`` refuses to change them mid-run.
RUN_DEFINING_FIELDS: tuple[str, ...] = (
    "data",
    "views",
    "val_data",
    "loss",
    "loss_kwargs",
    "preset",
    "model_overrides",
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "schedule",
    "augment",
    "val_fraction",
    "fold",
    "folds",
    "seed",
    "image_size",
    "init_checkpoint",
    "frames_per_epoch",
    "swa_start",
    "auxiliary",
    "deep_supervision",
)


def check_deep_supervision(levels: int, model: UNetConfig) -> None:
    """:class:`ValueError` unless ``model`` has ``levels`` decoder levels above its last."""
    if levels > model.depth - 2:
        raise ValueError(
            f"deep_supervision must be at most {model.depth - 2} for a {model.depth}-level "
            f"U-Net (its decoder levels above the last), got {levels}"
        )


def _default_preset() -> str:
    from lvwall.model import DEFAULT_PRESET

    return DEFAULT_PRESET


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    ``schedule`` defaults to one-cycle (Smith & Topin, "Super-Convergence", 2019): a short
    warm-up to ``lr`` and a cosine decay to almost zero, which reaches a good wall mask in
    few epochs, the case that matters on a CPU laptop. ``patience`` is the number of epochs
    without a better validation Dice before early stopping (``None`` never stops early).
    ``fold`` picks fold ``fold`` of a patient-wise ``folds``-fold split; when it is ``None``
    a patient-wise ``val_fraction`` of the recordings is held out. ``val_data`` names datasets
    to validate on instead: every recording of ``data`` then trains (the final model of a
    recipe whose accuracy was cross-validated). ``views`` keeps only the recordings of those
    apical views (:data:`lvwall.data.records.VIEWS`) in ``data`` and ``val_data``.
    ``num_workers`` ``None`` means 0 on CPU (the model already uses every core) and up to 8 on
    a GPU; ``channels_last`` ``None`` means on for GPUs. ``compile`` trains through
    ``torch.compile`` (a C++ compiler must be installed; a warm-up of about a minute). With
    ``init_checkpoint`` the architecture and starting weights come from that file, and
    ``preset``/``model_overrides`` are unused.
    ``frames_per_epoch`` draws that many training frames per epoch (with repeats when it
    exceeds the training set), which keeps epochs comparable across dataset sizes.
    ``swa_start`` switches on stochastic weight averaging (:mod:`lvwall.train.swa`): the weights at
    the end of every epoch from that fraction of ``epochs`` on are averaged, and checkpoints
    hold the average (``None``: no averaging). ``auxiliary`` names structures learned beside
    the wall (:data:`lvwall.data.AUXILIARY_STRUCTURES`, CAMUS's cavity and atrium) by a second
    1x1 head on the U-Net's last features, training only: the loss is the mean of the wall's
    and each structure's, and the model saved keeps the wall's head alone, so inference and
    its speed are unchanged. ``deep_supervision`` gives that many decoder levels above the
    last their own training-only wall head (:meth:`SegmentationModule.deep_supervision_loss
    <lvwall.train.module.SegmentationModule.deep_supervision_loss>`); 0 supervises the last
    level alone.
    """

    data: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=lambda: list(VIEWS))
    val_data: list[str] = field(default_factory=list)
    loss: str = "dice"
    loss_kwargs: dict[str, float] = field(default_factory=dict)
    preset: str = field(default_factory=_default_preset)
    model_overrides: dict[str, Any] = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    schedule: str = "one-cycle"
    patience: int | None = 10
    augment: str = "echo"
    val_fraction: float = 0.2
    fold: int | None = None
    folds: int = 5
    seed: int = 0
    num_workers: int | None = None
    precision: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    image_size: int = MODEL_SIZE
    init_checkpoint: str | None = None
    frames_per_epoch: int | None = None
    swa_start: float | None = None
    auxiliary: list[str] = field(default_factory=list)
    deep_supervision: int = 0

    def __post_init__(self) -> None:
        self.data = [str(path) for path in self.data]
        self.val_data = [str(path) for path in self.val_data]
        self.views = list(check_views(self.views))
        self.auxiliary = list(check_auxiliary(self.auxiliary))
        self.loss_kwargs = {key: float(value) for key, value in self.loss_kwargs.items()}
        self.model_overrides = to_plain(dict(self.model_overrides))
        if self.init_checkpoint is not None:
            self.init_checkpoint = str(self.init_checkpoint)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ValueError` naming the first field with a bad value."""
        self._check_choices()
        self._check_numbers()
        self._check_split()
        self._check_loss()
        self._check_model()

    def _check_choices(self) -> None:
        from lvwall.data import AUGMENTATIONS
        from lvwall.model import PRESETS
        from lvwall.train.losses import LOSSES
        from lvwall.train.schedules import LR_SCHEDULES

        _check_choice("loss", self.loss, tuple(LOSSES))
        _check_choice("preset", self.preset, tuple(PRESETS))
        _check_choice("schedule", self.schedule, tuple(LR_SCHEDULES))
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("accelerator", self.accelerator, ACCELERATORS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("augment", self.augment, tuple(AUGMENTATIONS))
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false, got {self.compile!r}")
        if not (self.devices == "auto" or _is_positive_int(self.devices)):
            raise ValueError(f"devices must be 'auto' or a positive integer, got {self.devices!r}")

    def _check_numbers(self) -> None:
        for name in ("epochs", "batch_size", "num_nodes", "image_size"):
            _check_positive_int(name, getattr(self, name))
        for name in ("patience", "frames_per_epoch"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        for name in ("seed", "deep_supervision"):
            if not _is_non_negative_int(getattr(self, name)):
                raise ValueError(
                    f"{name} must be a non-negative integer, got {getattr(self, name)!r}"
                )
        if self.num_workers is not None and not _is_non_negative_int(self.num_workers):
            raise ValueError(
                f"num_workers must be a non-negative integer, got {self.num_workers!r}"
            )
        if self.swa_start is not None and not (
            isinstance(self.swa_start, int | float) and 0.0 <= self.swa_start < 1.0
        ):
            raise ValueError(f"swa_start must be a fraction in [0, 1), got {self.swa_start!r}")
        if not isinstance(self.lr, int | float) or self.lr <= 0:
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not isinstance(self.weight_decay, int | float) or self.weight_decay < 0:
            raise ValueError(
                f"weight_decay must be a non-negative number, got {self.weight_decay!r}"
            )

    def _check_split(self) -> None:
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        if not _is_positive_int(self.folds) or self.folds < 2:
            raise ValueError(f"folds must be an integer of at least 2, got {self.folds!r}")
        if self.fold is not None and not (
            isinstance(self.fold, int) and 0 <= self.fold < self.folds
        ):
            raise ValueError(f"fold must be in 0..{self.folds - 1}, got {self.fold!r}")
        if self.val_data and self.fold is not None:
            raise ValueError(
                "val_data and fold exclude each other: with val_data every recording of data trains"
            )

    def _check_loss(self) -> None:
        """The loss must accept ``loss_kwargs`` (Dice takes no alpha, beta or gamma)."""
        from lvwall.train.losses import build_loss

        unknown = sorted(set(self.loss_kwargs) - set(LOSS_KWARGS))
        if unknown:
            raise ValueError(f"loss_kwargs: unknown keys {unknown}; allowed: {list(LOSS_KWARGS)}")
        try:
            build_loss(self.loss, **self.loss_kwargs)
        except TypeError:
            raise ValueError(
                f"loss {self.loss!r} does not take {sorted(self.loss_kwargs)}"
            ) from None

    def _check_model(self) -> None:
        """The preset with its overrides must build, and fit ``image_size``."""
        from lvwall.model import resolve_config

        if self.init_checkpoint is not None:
            return
        model = resolve_config(self.preset, **self.model_overrides)
        check_deep_supervision(self.deep_supervision, model)
        if self.image_size % model.size_divisor:
            raise ValueError(
                f"image_size must be a multiple of {model.size_divisor} for a "
                f"{model.depth}-level U-Net, got {self.image_size}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The config as plain YAML/JSON types (lists, not tuples)."""
        return to_plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build a config from :meth:`to_dict` output; unknown keys raise :class:`ValueError`."""
        return from_settings(cls, values, "training settings")

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with every override that is not ``None`` applied (flags over YAML).

        ``loss_kwargs`` and ``model_overrides`` are merged key by key, so ``--gamma`` keeps
        an ``alpha`` from the YAML file.
        """
        given = {key: value for key, value in overrides.items() if value is not None}
        for merged in ("loss_kwargs", "model_overrides"):
            if merged in given:
                given[merged] = {**getattr(self, merged), **given[merged]}
        values = {**self.to_dict(), **given}
        return TrainConfig.from_dict(values)

    def differences(self, other: TrainConfig, names: tuple[str, ...]) -> list[str]:
        """The names among ``names`` whose values differ between ``self`` and ``other``."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [name for name in names if mine[name] != theirs[name]]

    def to_yaml(self, path: str | Path) -> Path:
        """Write the config to ``path`` atomically."""
        return write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Read a config written by :meth:`to_yaml` (or by hand; missing keys get defaults);
        :class:`DataError` naming the file if it is missing or invalid."""
        return settings_from_yaml(cls.from_dict, path, "training config")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _is_non_negative_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive_int(value: Any) -> bool:
    return _is_non_negative_int(value) and value >= 1


def _check_positive_int(name: str, value: Any) -> None:
    if not _is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
