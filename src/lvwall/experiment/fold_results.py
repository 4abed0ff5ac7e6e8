"""Per-fold results: saved as each fold and loss finishes, collected into the study's table."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lvwall.atomic import to_plain, write_json
from lvwall.errors import DataError, LvwallError
from lvwall.experiment.plan import ExperimentPlan
from lvwall.experiment.results import ExperimentResults
from lvwall.experiment.tuning import Candidate
from lvwall.train import HISTORY_FILE, read_summary


@dataclass(frozen=True)
class FoldResult:
    """One loss on one fold: the candidates tried, the chosen one, and its test metrics
    (index: recording; ``n_frames`` and :data:`lvwall.metrics.METRIC_NAMES`)."""

    fold: int
    loss: str
    chosen: Candidate
    candidates: list[Candidate]
    metrics: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        rows = {
            str(name): to_plain(row) for name, row in self.metrics.to_dict(orient="index").items()
        }
        return {
            "fold": self.fold,
            "loss": self.loss,
            "chosen": self.chosen.to_dict(),
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "recordings": rows,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FoldResult:
        metrics = pd.DataFrame.from_dict(values["recordings"], orient="index").astype(float)
        metrics.index.name = "recording"
        metrics["n_frames"] = metrics["n_frames"].astype(int)
        return cls(
            fold=int(values["fold"]),
            loss=str(values["loss"]),
            chosen=Candidate.from_dict(values["chosen"]),
            candidates=[Candidate.from_dict(c) for c in values["candidates"]],
            metrics=metrics,
        )

    def save(self, path: Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> FoldResult:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(path, f"is not a readable fold result ({error})") from None


def collect_results(plan: ExperimentPlan, fold_results: Sequence[FoldResult]) -> ExperimentResults:
    """The results table (one row per recording and loss) with its summaries and tests."""
    by_name = {recording.name: recording for recording in plan.recordings}
    rows = []
    for result in fold_results:
        for name, metrics in result.metrics.iterrows():
            recording = by_name[str(name)]
            rows.append(
                {
                    "recording": recording.name,
                    "patient": recording.patient,
                    "mi": int(recording.label),
                    "fold": result.fold,
                    "loss": result.loss,
                    **metrics.to_dict(),
                }
            )
    table = pd.DataFrame(rows)
    table["n_frames"] = table["n_frames"].astype(int)
    hyperparameters = {
        loss: [
            {
                "fold": result.fold,
                "chosen": dict(result.chosen.loss_kwargs),
                "inner_val_dice": to_plain(result.chosen.inner_val_dice),
                "run": result.chosen.run,
                "candidates": [candidate.to_dict() for candidate in result.candidates],
            }
            for result in fold_results
            if result.loss == loss
        ]
        for loss in plan.config.losses
    }
    return ExperimentResults.from_table(table, plan.config.losses, hyperparameters)


def fold_histories(
    plan: ExperimentPlan, fold_results: Sequence[FoldResult]
) -> dict[str, dict[int, pd.DataFrame]]:
    """The per-epoch history of each chosen candidate's run, by loss and fold."""
    histories: dict[str, dict[int, pd.DataFrame]] = {loss: {} for loss in plan.config.losses}
    for result in fold_results:
        path = plan.out_dir / result.chosen.run / HISTORY_FILE
        if path.is_file():
            histories[result.loss][result.fold] = pd.read_csv(path)
    return histories


def training_seconds(plan: ExperimentPlan, fold_results: Sequence[FoldResult]) -> float:
    """Seconds spent training every candidate of ``fold_results``, from their run summaries."""
    total = 0.0
    for result in fold_results:
        for candidate in result.candidates:
            with contextlib.suppress(LvwallError, KeyError, TypeError, ValueError):
                total += float(read_summary(plan.out_dir / candidate.run)["seconds"])
    return total
