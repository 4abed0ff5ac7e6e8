"""Tests for lvwall.experiment.results: summaries, paired comparisons and the result files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lvwall.experiment.results import (
    PUBLISHED_HMCQU_SEGMENTATION,
    PUBLISHED_SOURCE,
    ExperimentResults,
    published_rows,
)
from lvwall.experiment.stats import summarise
from lvwall.metrics import METRIC_NAMES


def results_table(n_recordings: int, seed: int, shift: float = 0.02) -> pd.DataFrame:
    """Two losses on the same recordings; focal-tversky's Dice is ``shift`` higher on average."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_recordings):
        base = {name: rng.uniform(0.6, 0.95) for name in METRIC_NAMES}
        base["hd95"], base["assd"] = rng.uniform(2, 9), rng.uniform(0.5, 3)
        for loss, offset in (("dice", 0.0), ("focal-tversky", shift)):
            noise = rng.normal(0, 0.01)
            rows.append(
                {
                    "recording": f"PH{i:04d} _4CH_1",
                    "patient": f"PH{i:04d}",
                    "mi": i % 2,
                    "fold": i % 3 + 1,
                    "loss": loss,
                    "n_frames": 20,
                    **{name: value + offset + noise for name, value in base.items()},
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("n_recordings", "seed"), [(6, 0), (15, 1), (40, 2)])
def test_summaries_are_per_loss_over_recordings(n_recordings: int, seed: int) -> None:
    table = results_table(n_recordings, seed)

    results = ExperimentResults.from_table(table, ["dice", "focal-tversky"])

    assert results.n_recordings == n_recordings
    assert results.metrics == list(METRIC_NAMES)
    for loss in results.losses:
        for metric in METRIC_NAMES:
            expected = summarise(table.loc[table["loss"] == loss, metric].to_numpy())
            assert results.summaries[loss][metric] == expected


@pytest.mark.parametrize(("n_recordings", "seed"), [(8, 3), (25, 4)])
def test_comparison_pairs_by_recording_not_by_row_order(n_recordings: int, seed: int) -> None:
    table = results_table(n_recordings, seed)
    shuffled = table.sample(frac=1.0, random_state=seed)
    a = table[table["loss"] == "focal-tversky"].sort_values("recording")
    b = table[table["loss"] == "dice"].sort_values("recording")

    results = ExperimentResults.from_table(shuffled, ["dice", "focal-tversky"])

    (comparison,) = results.comparisons
    assert (comparison.loss, comparison.reference) == ("focal-tversky", "dice")
    for metric in ("dice", "hd95"):
        expected = stats.wilcoxon(a[metric].to_numpy(), b[metric].to_numpy())
        assert comparison.tests[metric].p_value == pytest.approx(expected.pvalue)
        assert comparison.tests[metric].n == n_recordings
    assert comparison.verdict.startswith("Focal Tversky loss")
    assert f"n = {n_recordings} recordings" in comparison.verdict


def test_one_loss_has_no_comparison() -> None:
    table = results_table(5, 0)
    results = ExperimentResults.from_table(table[table["loss"] == "dice"], ["dice"])
    assert results.comparisons == []
    assert results.verdicts == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.drop(columns=["fold"]), "lacks the columns"),
        (lambda t: t[t["loss"] == "dice"], "no rows for loss 'focal-tversky'"),
        (lambda t: t.drop(index=t.index[-1]), "different recordings"),
        (lambda t: pd.concat([t, t.iloc[[0]]]), "more than once"),
    ],
)
def test_inconsistent_tables_are_refused(mutate, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExperimentResults.from_table(mutate(results_table(6, 0)), ["dice", "focal-tversky"])


def test_write_round_trips_and_is_strict_json(tmp_path: Path) -> None:
    table = results_table(7, 5)
    table.loc[0, "hd95"] = math.nan  # a distance with nothing to measure
    hyper = {"focal-tversky": [{"fold": 1, "chosen": {"alpha": 0.3}, "candidates": []}]}
    results = ExperimentResults.from_table(table, ["dice", "focal-tversky"], hyper)

    csv_path, json_path = results.write(tmp_path, config={"preset": "tiny"})

    back = pd.read_csv(csv_path)
    assert len(back) == len(table)
    assert set(back["recording"]) == set(table["recording"])
    text = json_path.read_text(encoding="utf-8")
    assert "NaN" not in text
    payload = json.loads(text)
    assert payload["config"] == {"preset": "tiny"}
    assert payload["hyperparameters"] == hyper
    assert payload["summary"]["dice"]["hd95"]["n"] == 6
    assert payload["summary"]["focal-tversky"]["dice"]["mean"] == pytest.approx(
        results.summaries["focal-tversky"]["dice"].mean
    )
    assert payload["verdicts"] == results.verdicts


def test_published_rows_are_percent_means_then_the_paper() -> None:
    results = ExperimentResults.from_table(results_table(6, 6), ["dice", "focal-tversky"])

    rows = published_rows(results)

    assert [label for label, _ in rows] == ["dice", "focal-tversky", PUBLISHED_SOURCE]
    sensitivity, specificity, precision, f1, dice = rows[0][1]
    assert sensitivity == pytest.approx(100 * results.summaries["dice"]["recall"].mean)
    assert specificity == pytest.approx(100 * results.summaries["dice"]["specificity"].mean)
    assert dice == pytest.approx(100 * results.summaries["dice"]["dice"].mean)
    assert rows[-1][1] == list(PUBLISHED_HMCQU_SEGMENTATION.values())
    assert rows[-1][1][:2] == [95.72, 99.58]
