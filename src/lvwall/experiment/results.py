"""The results of an experiment: per-recording metrics, their summaries and the paired tests.

The unit of analysis is the recording: each recording is scored once per loss, by the model
of the fold that held it out, with every metric of :mod:`lvwall.metrics` as the mean over
its frames. Losses are compared recording by recording (:func:`lvwall.experiment.stats.
paired_wilcoxon`); every loss after the first is compared with the first (the reference).

:func:`published_rows` puts the summaries in the layout of the HMC-QU results of Degerli et
al. (IEEE Access 9:34442, 2021), next to their published LV-wall segmentation figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lvwall.atomic import atomic_path, write_json
from lvwall.experiment.stats import (
    PairedTest,
    Summary,
    paired_wilcoxon,
    summarise,
    verdict,
)
from lvwall.metrics import METRIC_NAMES

#: Columns that identify a row of the results table, before the metrics.
ID_COLUMNS: tuple[str, ...] = ("recording", "patient", "mi", "fold", "loss", "n_frames")
#: The metric of the verdict sentence (the study's primary segmentation endpoint).
PRIMARY_METRIC = "dice"
#: Metrics where lower is better (distances in pixels); every other metric is a ratio.
DISTANCE_METRICS: tuple[str, ...] = ("hd95", "assd")

CSV_FILE = "results.csv"
JSON_FILE = "results.json"

#: The columns of the published-results table and the metric behind each.
PUBLISHED_COLUMNS: dict[str, str] = {
    "Sensitivity": "recall",
    "Specificity": "specificity",
    "Precision": "precision",
    "F1": "f1",
    "Dice": "dice",
}
#: LV-wall segmentation on real HMC-QU (162 A4C recordings, 5-fold cross-validation) as
#: published by Degerli et al., IEEE Access 9:34442, 2021 (abstract); ``None``: not quoted.
PUBLISHED_HMCQU_SEGMENTATION: dict[str, float | None] = {
    "Sensitivity": 95.72,
    "Specificity": 99.58,
    "Precision": None,
    "F1": None,
    "Dice": None,
}
PUBLISHED_SOURCE = "Degerli et al., IEEE Access 2021 (real HMC-QU, 5-fold CV)"


@dataclass(frozen=True)
class Comparison:
    """``loss`` against the ``reference`` loss: a paired test per metric and the verdict on
    :data:`PRIMARY_METRIC`. Differences are ``loss`` minus ``reference``."""

    loss: str
    reference: str
    tests: dict[str, PairedTest]
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "reference": self.reference,
            "tests": {metric: test.to_dict() for metric, test in self.tests.items()},
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class ExperimentResults:
    """Per-recording metrics of every loss, their summaries and the comparisons.

    ``table`` has :data:`ID_COLUMNS` then one column per metric; ``summaries[loss][metric]``
    summarise the recordings; ``hyperparameters[loss]`` lists, per fold, the chosen loss
    keywords and every candidate's inner-validation Dice.
    """

    table: pd.DataFrame
    losses: list[str]
    metrics: list[str]
    summaries: dict[str, dict[str, Summary]]
    comparisons: list[Comparison]
    hyperparameters: dict[str, list[dict[str, Any]]]

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame,
        losses: list[str],
        hyperparameters: dict[str, list[dict[str, Any]]] | None = None,
    ) -> ExperimentResults:
        """Summaries and comparisons of a results table (one row per recording and loss).

        Raises :class:`ValueError` for missing columns, a loss without rows, or losses that
        were not scored on the same recordings.
        """
        missing = [c for c in ID_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"the results table lacks the columns {missing}")
        metrics = [name for name in METRIC_NAMES if name in table.columns]
        by_loss = {loss: table[table["loss"] == loss].set_index("recording") for loss in losses}
        for loss, rows in by_loss.items():
            if rows.empty:
                raise ValueError(f"the results table has no rows for loss {loss!r}")
            if rows.index.has_duplicates:
                raise ValueError(f"loss {loss!r} scores some recordings more than once")
        reference = losses[0]
        for loss in losses[1:]:
            if set(by_loss[loss].index) != set(by_loss[reference].index):
                raise ValueError(f"losses {loss!r} and {reference!r} scored different recordings")
        summaries = {
            loss: {metric: summarise(rows[metric].to_numpy(float)) for metric in metrics}
            for loss, rows in by_loss.items()
        }
        comparisons = [
            _compare(by_loss[loss], by_loss[reference], loss, reference, metrics)
            for loss in losses[1:]
        ]
        ordered = table.sort_values(["fold", "recording", "loss"], kind="stable")
        return cls(
            table=ordered.reset_index(drop=True),
            losses=list(losses),
            metrics=metrics,
            summaries=summaries,
            comparisons=comparisons,
            hyperparameters=dict(hyperparameters or {}),
        )

    @property
    def verdicts(self) -> list[str]:
        return [comparison.verdict for comparison in self.comparisons]

    @property
    def n_recordings(self) -> int:
        return int(self.table["recording"].nunique())

    def to_dict(self) -> dict[str, Any]:
        """The summary, the comparisons and the chosen hyper-parameters as JSON types."""
        return {
            "n_recordings": self.n_recordings,
            "losses": list(self.losses),
            "metrics": list(self.metrics),
            "primary_metric": PRIMARY_METRIC,
            "summary": {
                loss: {metric: summary.to_dict() for metric, summary in per_metric.items()}
                for loss, per_metric in self.summaries.items()
            },
            "comparisons": [comparison.to_dict() for comparison in self.comparisons],
            "verdicts": self.verdicts,
            "hyperparameters": self.hyperparameters,
            "published": {
                "source": PUBLISHED_SOURCE,
                "values_percent": dict(PUBLISHED_HMCQU_SEGMENTATION),
            },
        }

    def write(self, out_dir: str | Path, **context: Any) -> tuple[Path, Path]:
        """Write ``results.csv`` (one row per recording and loss) and ``results.json``
        (:meth:`to_dict` plus ``context``, e.g. the config) into ``out_dir``, atomically."""
        out_dir = Path(out_dir)
        csv_path = out_dir / CSV_FILE
        with atomic_path(csv_path) as tmp:
            self.table.to_csv(tmp, index=False)
        json_path = write_json(out_dir / JSON_FILE, {**context, **self.to_dict()})
        return csv_path, json_path


def _compare(
    rows: pd.DataFrame, reference_rows: pd.DataFrame, loss: str, reference: str, metrics: list[str]
) -> Comparison:
    # Pair by recording name, never by row order.
    paired = rows.merge(
        reference_rows, left_index=True, right_index=True, suffixes=("", "__reference")
    )
    tests = {
        metric: paired_wilcoxon(
            paired[metric].to_numpy(float), paired[f"{metric}__reference"].to_numpy(float)
        )
        for metric in metrics
    }
    sentence = verdict(tests[PRIMARY_METRIC], PRIMARY_METRIC, loss, reference)
    return Comparison(loss, reference, tests, sentence)


def published_rows(results: ExperimentResults) -> list[tuple[str, list[float | None]]]:
    """Rows of the published-results table, in %: one per loss (mean over recordings),
    then the published HMC-QU row. ``None`` marks a value that is not available."""
    rows: list[tuple[str, list[float | None]]] = []
    for loss in results.losses:
        values: list[float | None] = []
        for metric in PUBLISHED_COLUMNS.values():
            summary = results.summaries[loss].get(metric)
            mean = None if summary is None or math.isnan(summary.mean) else 100 * summary.mean
            values.append(mean)
        rows.append((loss, values))
    rows.append((PUBLISHED_SOURCE, list(PUBLISHED_HMCQU_SEGMENTATION.values())))
    return rows
