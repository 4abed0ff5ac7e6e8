"""The quality score: a small regression from frame features to the frame's expected Dice.

Features are clipped to the range seen in fitting, standardised, and combined linearly by
ridge regression (Hoerl & Kennard, Technometrics 12(1):55-67, 1970) fitted to the Dice of
out-of-fold predictions; an isotonic regression of Dice on that linear score (Zadrozny &
Elkan, KDD 2002) then calibrates it monotonically into [0, 1], as piecewise-linear knots. The
whole model is a few numbers in a JSON file, read without pickle.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lvwall.model import ASSETS_DIR
from lvwall.quality.model_file import read_json_model

#: File name of the bundled quality model in :data:`lvwall.model.bundled.ASSETS_DIR`.
QUALITY_MODEL_NAME = "quality-model.json"
#: Said wherever a quality score comes from another model than the bundled one, which the
#: score was fitted for (its learned features read that model's probabilities).
UNCALIBRATED_NOTE = (
    "the quality score was fitted for the bundled model, not this one: read its scores as "
    "uncalibrated (the anatomical flags still apply)"
)
#: Version of the JSON layout :meth:`QualityModel.to_json` writes.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class QualityModel:
    """Features -> estimated Dice in [0, 1]; arrays are float64, one entry per feature.

    ``low``/``high`` clip each feature, ``centre``/``scale`` standardise it, ``coefficients``
    and ``intercept`` make the linear score, and ``knots_x``/``knots_y`` (increasing) map the
    linear score onto Dice by linear interpolation, flat beyond the end knots.
    """

    features: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    coefficients: np.ndarray
    intercept: float
    knots_x: np.ndarray
    knots_y: np.ndarray
    description: str = ""

    def __post_init__(self) -> None:
        n = len(self.features)
        for name in ("low", "high", "centre", "scale", "coefficients"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"{name} needs one value per feature ({n})")
        if np.any(np.asarray(self.scale) <= 0):
            raise ValueError("scale must be positive")
        if len(self.knots_x) < 1 or np.shape(self.knots_x) != np.shape(self.knots_y):
            raise ValueError("knots_x and knots_y need the same, non-zero length")
        if np.any(np.diff(self.knots_x) < 0) or np.any(np.diff(self.knots_y) < 0):
            raise ValueError("knots must be non-decreasing")
        if np.any((np.asarray(self.knots_y) < 0) | (np.asarray(self.knots_y) > 1)):
            raise ValueError("knots_y must lie in [0, 1]")

    def linear_score(self, table: np.ndarray) -> np.ndarray:
        """The uncalibrated linear score of feature rows ``table`` (N, n_features)."""
        table = np.asarray(table, dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != len(self.features):
            raise ValueError(
                f"expected rows of {len(self.features)} features, got shape {table.shape}"
            )
        # A missing feature (NaN) sits at the fitting data's centre: it adds nothing.
        filled = np.where(np.isnan(table), self.centre, table)
        clipped = np.clip(filled, self.low, self.high)
        return (clipped - self.centre) / self.scale @ self.coefficients + self.intercept

    def predict(self, table: np.ndarray) -> np.ndarray:
        """Estimated Dice in [0, 1] of feature rows ``table`` (N, n_features)."""
        return np.interp(self.linear_score(table), self.knots_x, self.knots_y)

    def predict_one(self, features: Mapping[str, float]) -> float:
        """Estimated Dice of one frame's features, by name (extra names are ignored)."""
        missing = [name for name in self.features if name not in features]
        if missing:
            raise ValueError(f"features lack {missing}")
        row = np.array([[features[name] for name in self.features]], dtype=np.float64)
        return float(self.predict(row)[0])

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON values."""
        return {
            "format_version": FORMAT_VERSION,
            "description": self.description,
            "features": list(self.features),
            "low": _floats(self.low),
            "high": _floats(self.high),
            "centre": _floats(self.centre),
            "scale": _floats(self.scale),
            "coefficients": _floats(self.coefficients),
            "intercept": float(self.intercept),
            "knots_x": _floats(self.knots_x),
            "knots_y": _floats(self.knots_y),
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> QualityModel:
        """The model :meth:`to_json` wrote; ValueError when ``values`` is not one."""
        if values.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"format_version {values.get('format_version')!r}, expected {FORMAT_VERSION}"
            )
        arrays = {
            name: np.asarray(values[name], dtype=np.float64)
            for name in ("low", "high", "centre", "scale", "coefficients", "knots_x", "knots_y")
        }
        return cls(
            features=tuple(str(name) for name in values["features"]),
            intercept=float(values["intercept"]),
            description=str(values.get("description", "")),
            **arrays,
        )


def _floats(array: np.ndarray) -> list[float]:
    return [float(value) for value in np.asarray(array, dtype=np.float64)]


def read_quality_model(path: str | Path) -> QualityModel:
    """A quality model JSON file; :class:`ModelError` naming the file if it is not one."""
    return read_json_model(path, "quality model", QualityModel.from_json)


@functools.lru_cache(maxsize=1)
def bundled_quality_model() -> QualityModel:
    """The quality model shipped in :data:`lvwall.model.bundled.ASSETS_DIR`, read once."""
    return read_quality_model(ASSETS_DIR / QUALITY_MODEL_NAME)


def fit_quality_model(
    table: np.ndarray,
    dice: np.ndarray,
    features: Sequence[str],
    *,
    groups: np.ndarray,
    weights: np.ndarray | None = None,
    alpha: float = 1.0,
    folds: int = 5,
    description: str = "",
) -> QualityModel:
    """Fit the score to feature rows ``table`` (N, len(features)) and their true ``dice``.

    The isotonic calibration is fitted to linear scores predicted for each row by a ridge
    fitted without its group (``groups``, e.g. patients: ``folds``-fold group-wise), so that
    it calibrates scores as they come on unseen frames, not the optimistic in-sample ones.
    ``weights`` weight the rows in both fits.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GroupKFold

    table = np.asarray(table, dtype=np.float64)
    dice = np.asarray(dice, dtype=np.float64)
    groups = np.asarray(groups)
    if table.ndim != 2 or table.shape != (len(dice), len(features)):
        raise ValueError(
            f"table {table.shape} needs one row per dice value ({len(dice)}) and one column "
            f"per feature ({len(features)})"
        )
    if len(groups) != len(dice):
        raise ValueError(f"need one group per row, got {len(groups)} for {len(dice)} rows")
    if np.isnan(dice).any() or (dice < 0).any() or (dice > 1).any():
        raise ValueError("dice must lie in [0, 1]")
    if alpha <= 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    weights = np.ones(len(dice)) if weights is None else np.asarray(weights, dtype=np.float64)
    centre = np.nanmedian(table, axis=0)
    filled = np.where(np.isnan(table), centre, table)
    low, high = filled.min(axis=0), filled.max(axis=0)
    scale = filled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    standard = (filled - centre) / scale

    def ridge(rows: np.ndarray) -> Ridge:
        return Ridge(alpha=alpha).fit(standard[rows], dice[rows], sample_weight=weights[rows])

    held_out_scores = np.empty(len(dice))
    splitter = GroupKFold(n_splits=min(folds, len(set(groups.tolist()))))
    for train, test in splitter.split(standard, dice, groups):
        held_out_scores[test] = ridge(train).predict(standard[test])
    final = ridge(np.arange(len(dice)))
    calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
        held_out_scores, dice, sample_weight=weights
    )
    return QualityModel(
        features=tuple(features),
        low=low,
        high=high,
        centre=centre,
        scale=scale,
        coefficients=np.asarray(final.coef_, dtype=np.float64),
        intercept=float(final.intercept_),
        knots_x=np.asarray(calibration.X_thresholds_, dtype=np.float64),
        knots_y=np.asarray(calibration.y_thresholds_, dtype=np.float64),
        description=description,
    )
