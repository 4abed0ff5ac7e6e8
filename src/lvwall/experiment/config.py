"""The experiment configuration, saved as ``config.yaml`` in the experiment folder.

An experiment is fully described by an :class:`ExperimentConfig`: the data, the losses to
compare, the outer cross-validation (folds, seed), the loss settings searched per loss, and
the base :class:`lvwall.train.config.TrainConfig` every run starts from (each run sets only its
loss and loss keywords). ``--resume`` continues only an experiment with the same config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lvwall.atomic import write_text
from lvwall.experiment.presets import DEFAULT_EXPERIMENT_PRESET, experiment_preset
from lvwall.lookup import from_settings, settings_from_yaml
from lvwall.train import TrainConfig

#: The losses compared when none are named, in the order of the report's columns.
DEFAULT_LOSSES: tuple[str, ...] = ("dice", "focal-tversky")


@dataclass
class ExperimentConfig:
    """Everything that defines an experiment.

    ``search`` maps a loss name to the loss keyword candidates tried on each training fold;
    a loss without an entry trains once with its defaults. ``train`` is the base training
    config; its ``seed`` and ``val_fraction`` also define the inner validation split.
    """

    data: list[str]
    preset: str = DEFAULT_EXPERIMENT_PRESET
    losses: list[str] = field(default_factory=lambda: list(DEFAULT_LOSSES))
    folds: int = 5
    seed: int = 0
    search: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        from lvwall.train import LOSSES, build_loss

        self.data = [str(Path(path).expanduser().resolve()) for path in self.data]
        if isinstance(self.train, dict):
            self.train = TrainConfig.from_dict(self.train)
        self.search = {
            str(loss): [{str(k): float(v) for k, v in kwargs.items()} for kwargs in candidates]
            for loss, candidates in self.search.items()
        }
        if not self.data:
            raise ValueError("data names no dataset folder")
        if not self.losses:
            raise ValueError("losses is empty; name at least one loss")
        unknown = sorted(set(self.losses) - set(LOSSES))
        if unknown:
            raise ValueError(f"unknown losses {unknown}; valid losses are {sorted(LOSSES)}")
        if len(set(self.losses)) != len(self.losses):
            raise ValueError(f"losses must not repeat, got {self.losses}")
        if isinstance(self.folds, bool) or not isinstance(self.folds, int) or self.folds < 2:
            raise ValueError(f"folds must be an integer >= 2, got {self.folds!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.train.seed != self.seed:
            raise ValueError(f"train.seed ({self.train.seed}) must equal seed ({self.seed})")
        for loss, candidates in self.search.items():
            if not candidates:
                raise ValueError(f"search[{loss!r}] is empty; give at least one candidate")
            for kwargs in candidates:
                # Building the loss rejects keywords it does not take before any training.
                try:
                    build_loss(loss, **kwargs)
                except TypeError as error:
                    raise ValueError(f"search[{loss!r}]: {error}") from None

    @classmethod
    def from_preset(
        cls,
        data: list[str | Path],
        preset: str = DEFAULT_EXPERIMENT_PRESET,
        *,
        losses: list[str] | None = None,
        folds: int | None = None,
        seed: int = 0,
        views: list[str] | None = None,
    ) -> ExperimentConfig:
        """The config of experiment preset ``preset`` on ``data``; ``folds`` overrides the
        preset's number of folds; ``views`` keeps those apical views only (default: all)."""
        budget = experiment_preset(preset)
        return cls(
            data=[str(path) for path in data],
            preset=preset,
            losses=list(losses or DEFAULT_LOSSES),
            folds=budget.folds if folds is None else folds,
            seed=seed,
            search={loss: list(candidates) for loss, candidates in budget.search.items()},
            train=TrainConfig(
                data=[str(path) for path in data],
                seed=seed,
                **({"views": list(views)} if views else {}),
                **budget.train,
            ),
        )

    def candidates(self, loss: str) -> list[dict[str, float]]:
        """The loss keyword settings trained for ``loss`` on each fold."""
        if loss not in self.losses:
            raise ValueError(f"{loss!r} is not one of this experiment's losses {self.losses}")
        return [dict(kwargs) for kwargs in self.search.get(loss, [{}])]

    def run_config(self, loss: str, loss_kwargs: dict[str, float]) -> TrainConfig:
        """The training config of one run: the base config with this loss and its keywords."""
        return self.train.with_overrides(loss=loss, loss_kwargs=loss_kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": list(self.data),
            "preset": self.preset,
            "losses": list(self.losses),
            "folds": self.folds,
            "seed": self.seed,
            "search": {loss: [dict(k) for k in cands] for loss, cands in self.search.items()},
            "train": self.train.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        """Build a config from :meth:`to_dict` output; unknown keys raise :class:`ValueError`."""
        return from_settings(cls, values, "experiment settings")

    def differences(self, other: ExperimentConfig) -> list[str]:
        """The top-level settings (and ``train.<field>``) whose values differ from ``other``."""
        mine, theirs = self.to_dict(), other.to_dict()
        changed = [key for key in mine if key != "train" and mine[key] != theirs[key]]
        changed += [
            f"train.{key}" for key in mine["train"] if mine["train"][key] != theirs["train"][key]
        ]
        return changed

    def to_yaml(self, path: str | Path) -> Path:
        """Write the config to ``path`` atomically."""
        return write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: str | Path) -> ExperimentConfig:
        """Read a config written by :meth:`to_yaml` (or by hand; missing keys get defaults);
        :class:`DataError` naming the file if it is missing or invalid."""
        return settings_from_yaml(cls.from_dict, path, "experiment config")
