"""The quality score model: fitting, calibration into [0, 1], JSON round trip, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lvwall.errors import ModelError
from lvwall.quality.score_model import (
    FORMAT_VERSION,
    QualityModel,
    bundled_quality_model,
    fit_quality_model,
    read_quality_model,
)

FEATURES = ("signal", "noise")


def synthetic(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dice rises with ``signal``; ``noise`` says nothing about it."""
    rng = np.random.default_rng(seed)
    signal, noise = rng.uniform(0, 1, n), rng.normal(0, 1, n)
    dice = np.clip(0.3 + 0.6 * signal + rng.normal(0, 0.02, n), 0, 1)
    return np.stack([signal, noise], axis=1), dice, np.arange(n) // 4


def test_the_fitted_score_follows_the_signal_within_unit_range() -> None:
    table, dice, groups = synthetic()
    model = fit_quality_model(table, dice, FEATURES, groups=groups)
    predicted = model.predict(table)
    assert np.abs(predicted - dice).mean() < 0.03
    assert ((predicted >= 0) & (predicted <= 1)).all()
    assert abs(model.coefficients[0]) > 10 * abs(model.coefficients[1])
    far_outside = np.array([[-50.0, 0.0], [50.0, 0.0]])
    assert np.all((model.predict(far_outside) >= 0) & (model.predict(far_outside) <= 1))


def test_json_round_trip_predicts_the_same(tmp_path) -> None:
    table, dice, groups = synthetic()
    model = fit_quality_model(table, dice, FEATURES, groups=groups, description="test")
    path = tmp_path / "quality.json"
    path.write_text(json.dumps(model.to_json()))
    again = read_quality_model(path)
    assert again.features == FEATURES and again.description == "test"
    np.testing.assert_allclose(again.predict(table), model.predict(table))


def test_a_missing_feature_value_counts_as_the_centre() -> None:
    table, dice, groups = synthetic()
    model = fit_quality_model(table, dice, FEATURES, groups=groups)
    row = {"signal": float(model.centre[0]), "noise": float("nan")}
    centred = {"signal": float(model.centre[0]), "noise": float(model.centre[1])}
    assert model.predict_one(row) == pytest.approx(model.predict_one(centred))
    with pytest.raises(ValueError, match="lack"):
        model.predict_one({"signal": 0.5})


def make_model(**changes) -> QualityModel:
    fields = {
        "features": ("a",),
        "low": np.zeros(1),
        "high": np.ones(1),
        "centre": np.zeros(1),
        "scale": np.ones(1),
        "coefficients": np.ones(1),
        "intercept": 0.0,
        "knots_x": np.array([0.0, 1.0]),
        "knots_y": np.array([0.2, 0.9]),
    }
    return QualityModel(**{**fields, **changes})


def test_a_hand_made_model_interpolates_its_knots() -> None:
    # Linear score = (clip(x, 0, 1) - 0) / 1 * 1 + 0; knots map 0 -> 0.2 and 1 -> 0.9.
    np.testing.assert_allclose(
        make_model().predict(np.array([[0.5], [3.0], [-1.0]])), [0.55, 0.9, 0.2]
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"scale": np.zeros(1)},
        {"coefficients": np.ones(2)},
        {"knots_y": np.array([0.9, 0.2])},
        {"knots_y": np.array([0.2, 1.5])},
        {"knots_x": np.array([0.0])},
    ],
)
def test_inconsistent_models_are_refused(changes) -> None:
    with pytest.raises(ValueError):
        make_model(**changes)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "cannot be read"),
        (json.dumps({"format_version": FORMAT_VERSION + 1}), "not a quality model"),
        (json.dumps({"format_version": FORMAT_VERSION, "features": ["a"]}), "not a quality model"),
    ],
)
def test_bad_files_raise_model_errors(tmp_path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelError, match=problem):
        read_quality_model(path)


def test_a_missing_file_raises_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        read_quality_model(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"groups": np.zeros(3)}, "group"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, match: str) -> None:
    table, dice, groups = synthetic()
    with pytest.raises(ValueError, match=match):
        fit_quality_model(table, dice, FEATURES, **{"groups": groups, **kwargs})


def test_fit_rejects_dice_outside_unit_range() -> None:
    table, dice, groups = synthetic()
    with pytest.raises(ValueError, match="dice"):
        fit_quality_model(table, dice + 1.0, FEATURES, groups=groups)


def test_the_bundled_asset_loads_and_scores_in_unit_range() -> None:
    model = bundled_quality_model()
    rng = np.random.default_rng(0)
    rows = rng.uniform(model.low - 1.0, model.high + 1.0, (50, len(model.features)))
    predicted = model.predict(rows)
    assert ((predicted >= 0) & (predicted <= 1)).all()
    assert np.ptp(model.predict(np.stack([model.low, model.high]))) > 0
