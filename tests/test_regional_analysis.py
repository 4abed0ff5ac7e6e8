"""One cycle's regional analysis, its table, its files and the thresholds file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lvwall.data.records import SEGMENT_NAMES
from lvwall.errors import DataError
from lvwall.regional.analysis import (
    OUTPUT_FILES,
    Thresholds,
    analyse_cycle,
    motion_table,
    write_regional,
)
from lvwall.regional.schematic import beating_wall

STILL = 1  # SEG9 does not move in these cycles


@pytest.fixture(scope="module")
def masks() -> np.ndarray:
    factors = np.ones(6)
    factors[STILL] = 0.0
    return beating_wall(factors, n_frames=5)


def test_analysis_scores_the_still_segment_lowest(masks: np.ndarray) -> None:
    analysis = analyse_cycle(masks)
    assert analysis.labels.shape == masks.shape
    assert int(np.argmin(analysis.scores)) == STILL
    assert analysis.flags is None
    table = analysis.table()
    assert list(table["segment"]) == list(SEGMENT_NAMES)
    assert "hypokinetic" not in table


@pytest.mark.parametrize("score", ["displacement", "inward", "thickening", "combined"])
def test_thresholds_flag_the_still_segment(masks: np.ndarray, score: str) -> None:
    scores = analyse_cycle(masks, score=score).scores
    cut = (scores[STILL] + np.delete(scores, STILL).min()) / 2
    analysis = analyse_cycle(masks, score=score, thresholds=Thresholds(score, np.full(6, cut)))
    expected = np.arange(6) == STILL
    assert np.array_equal(analysis.flags, expected)
    assert np.array_equal(analysis.table()["hypokinetic"].to_numpy(), expected)


def test_thresholds_of_another_score_are_refused(masks: np.ndarray) -> None:
    with pytest.raises(ValueError, match="thresholds are for score 'inward'"):
        analyse_cycle(masks, score="displacement", thresholds=Thresholds("inward", np.zeros(6)))


def test_outputs_hold_the_analysis(masks: np.ndarray, tmp_path: Path) -> None:
    analysis = analyse_cycle(masks)
    paths = write_regional(analysis, tmp_path / "rec", np.zeros(masks.shape[1:]), title="rec")
    assert {path.name for path in paths.values()} == set(OUTPUT_FILES.values())
    assert all(path.is_file() for path in paths.values())
    with np.load(paths["segments"]) as archive:
        assert np.array_equal(archive["segments"], analysis.labels)
        assert list(archive["segment_names"]) == list(SEGMENT_NAMES)
    curves = pd.read_csv(paths["motion_csv"])
    assert list(curves["frame"]) == [1, 2, 3, 4, 5]
    assert np.allclose(
        curves.drop(columns="frame"), motion_table(analysis.motion).drop(columns="frame")
    )
    table = pd.read_csv(paths["table"])
    assert np.allclose(table[f"score_{analysis.score}"], analysis.scores)


def test_motion_table_has_one_column_per_curve_and_segment(masks: np.ndarray) -> None:
    motion = analyse_cycle(masks).motion
    table = motion_table(motion)
    assert len(table) == len(masks)
    assert np.allclose(table["displacement_pct_SEG9"], 100 * motion.normalised_displacement[:, 1])
    assert np.allclose(table["inward_pct_SEG6"], 100 * motion.normalised_inward[:, 5])
    assert np.allclose(table["thickening_pct_SEG3"], 100 * motion.thickening[:, 0])


def test_thresholds_survive_a_round_trip(tmp_path: Path) -> None:
    saved = Thresholds("combined", np.array([0.1, 0.2, -np.inf, 0.4, np.inf, 0.6]))
    loaded = Thresholds.load(saved.save(tmp_path / "thresholds.json"))
    assert loaded.score == "combined"
    assert np.array_equal(loaded.values, saved.values)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        ("not json", "is not a thresholds file"),
        (json.dumps({"score": "displacement", "thresholds": {"SEG3": 0.1}}), "is not a thresholds"),
        (
            json.dumps({"score": "speed", "thresholds": dict.fromkeys(SEGMENT_NAMES, 0.1)}),
            "unknown score 'speed'",
        ),
    ],
)
def test_bad_thresholds_files_name_the_file_and_the_problem(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "thresholds.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=problem) as info:
        Thresholds.load(path)
    assert str(info.value).startswith(str(path))
