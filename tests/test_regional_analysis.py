"""One cycle's regional analysis, its table, its files and the thresholds file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lvwall.data.records import SEGMENT_NAMES, SEGMENT_TITLES, VIEW_SEGMENTS
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


# --------------------------------------------------------------------------------------------
# Views: the A2C segments name the same positional labels


@pytest.mark.parametrize("view", ["A4C", "A2C", "a2c"])
def test_every_output_names_the_segments_of_the_view(
    masks: np.ndarray, tmp_path: Path, view: str
) -> None:
    names = VIEW_SEGMENTS[view.upper()]
    analysis = analyse_cycle(masks, view=view)
    assert analysis.view == view.upper()
    assert int(np.argmin(analysis.scores)) == STILL  # the split does not depend on the view
    table = analysis.table()
    assert list(table["segment"]) == list(names)
    assert list(table["title"]) == [SEGMENT_TITLES[name] for name in names]
    assert set(table["view"]) == {view.upper()}
    paths = write_regional(analysis, tmp_path, np.zeros(masks.shape[1:]))
    with np.load(paths["segments"]) as archive:
        assert list(archive["segment_names"]) == list(names)
        assert str(archive["view"]) == view.upper()
    curves = pd.read_csv(paths["motion_csv"])
    assert [c for c in curves.columns if c.startswith("inward_pct_")] == [
        f"inward_pct_{name}" for name in names
    ]
    assert list(pd.read_csv(paths["table"])["segment"]) == list(names)


def test_a2c_labels_run_from_seg4_at_the_left_base_to_seg1_at_the_right_base(
    masks: np.ndarray,
) -> None:
    analysis = analyse_cycle(masks, view="A2C")
    labels = analysis.labels[0]
    columns = {
        name: np.argwhere(labels == index + 1)[:, 1].mean()
        for index, name in enumerate(analysis.segment_names)
    }
    rows = {
        name: np.argwhere(labels == index + 1)[:, 0].mean()
        for index, name in enumerate(analysis.segment_names)
    }
    assert columns["SEG4"] < columns["SEG13"] < columns["SEG1"]
    assert rows["SEG4"] > rows["SEG10"] > rows["SEG15"]  # up the left wall to the apex
    assert rows["SEG1"] > rows["SEG7"] > rows["SEG13"]  # up the right wall to the apex


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: analyse_cycle(m, view="PLAX"), "view must be one of"),
        (
            lambda m: analyse_cycle(m, view="A2C", thresholds=Thresholds("combined", np.zeros(6))),
            "thresholds are for the A4C view, not A2C",
        ),
        (lambda m: Thresholds("combined", np.zeros(5)), "need 6 thresholds"),
        (lambda m: Thresholds("combined", np.zeros(6), view="A3C"), "view must be one of"),
    ],
)
def test_bad_views_raise_value_error(masks: np.ndarray, call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(masks)


@pytest.mark.parametrize("view", ["A4C", "A2C"])
def test_thresholds_of_each_view_survive_a_round_trip(tmp_path: Path, view: str) -> None:
    saved = Thresholds("thickening", np.array([0.1, -np.inf, 0.3, 0.4, np.inf, 0.6]), view=view)
    path = saved.save(tmp_path / "thresholds.json")
    content = json.loads(path.read_text())
    assert content["view"] == view
    assert list(content["thresholds"]) == list(VIEW_SEGMENTS[view])
    loaded = Thresholds.load(path, view=view)
    assert (loaded.score, loaded.view) == ("thickening", view)
    assert np.array_equal(loaded.values, saved.values)


@pytest.mark.parametrize(("saved", "wanted"), [("A4C", "A2C"), ("A2C", "A4C")])
def test_a_thresholds_file_of_the_other_view_is_refused_in_one_sentence(
    tmp_path: Path, saved: str, wanted: str
) -> None:
    path = Thresholds("combined", np.zeros(6), view=saved).save(tmp_path / "thresholds.json")
    with pytest.raises(DataError) as info:
        Thresholds.load(path, view=wanted)
    message = str(info.value)
    assert message.startswith(f"{path}: holds thresholds for the {saved} segments")
    assert f"not for the {wanted} view" in message and "\n" not in message


def test_a_thresholds_file_without_a_view_is_read_by_its_segment_names(tmp_path: Path) -> None:
    """Files written before views existed name the A4C segments and have no view field."""
    path = tmp_path / "thresholds.json"
    path.write_text(
        json.dumps({"score": "combined", "thresholds": dict.fromkeys(SEGMENT_NAMES, 0.1)})
    )
    assert Thresholds.load(path).view == "A4C"
    with pytest.raises(DataError, match="holds thresholds for the A4C segments"):
        Thresholds.load(path, view="A2C")


@pytest.mark.parametrize("view", ["A4C", "A2C"])
def test_without_a_view_asked_a_thresholds_file_of_either_view_loads(
    tmp_path: Path, view: str
) -> None:
    path = Thresholds("combined", np.zeros(6), view=view).save(tmp_path / "thresholds.json")
    assert Thresholds.load(path).view == view
