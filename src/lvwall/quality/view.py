"""Which apical view a recording shows, A4C or A2C, recognised from its frames and wall.

The six wall segments have different names in the apical 4-chamber and 2-chamber views
(:data:`lvwall.data.VIEW_SEGMENTS`), so a recording's view must be known before its segments
are named. The user may give it; otherwise :class:`ViewClassifier` recognises it.

What tells the views apart lies around the left ventricle: in A4C the right ventricle beside
the septum and two atria below the valves, in A2C no right heart and one atrium. The
classifier therefore reads the grey frame in a window placed and scaled by the predicted
wall's bounding box (:class:`WallCrop`), not the whole frame, and inside the ultrasound
sector only (:func:`lvwall.data.find_sector`): scanners differ in zoom, depth, sector width,
aspect ratio and overlays. Fitted on CAMUS, the same fit on the whole frame called every
frame of the real HMC-QU A4C recording A2C; the wall window with the black around the fan
and beyond the frame kept called the HMC-QU A2C recording A4C for two of three window
sizes; with that space filled, both HMC-QU recordings came out right for all three, at
about the same cross-validated accuracy on CAMUS (``benchmarks/view_classifier.py``,
docs/results.md, 2026-12-06).

The window's pixels, divided by a bright percentile against gain, go through one linear
function and a logistic: principal components of the standardised pixels and a logistic
regression on them (the eigenface recipe of Turk & Pentland, J. Cognitive Neuroscience
3(1):71-86, 1991), folded into one weight per pixel once fitted. The parameters are plain
numbers in a JSON file, read without pickle and applied with NumPy alone; scikit-learn is
needed only to fit them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lvwall.atomic import write_json
from lvwall.data import VIEWS, Sector, check_view, find_sector
from lvwall.model import ASSETS_DIR
from lvwall.quality.model_file import read_json_model

#: File name of the bundled view classifier in :data:`lvwall.model.ASSETS_DIR`.
VIEW_MODEL_NAME = "view-model.json"
#: Version of the JSON layout :meth:`ViewClassifier.to_json` writes.
VIEW_FORMAT_VERSION = 1
#: The most frames of a recording :meth:`ViewClassifier.classify` looks at, evenly spaced:
#: the view does not change within a recording, and a cycle or two of frames is plenty.
MAX_VIEW_FRAMES = 32
#: How the view of a :class:`ViewCall` was decided: by the classifier, by the user, or taken
#: as A4C where nothing could decide it (masks without their frames).
VIEW_SOURCES: tuple[str, ...] = ("recognised", "given", "default")


@dataclass(frozen=True)
class ViewCall:
    """The view a recording is analysed in, and how it was decided (:data:`VIEW_SOURCES`).

    A ``"recognised"`` view comes with ``probability``, the classifier's averaged probability
    of that view; a ``"given"`` or ``"default"`` one has none. ``view`` is one of
    :data:`lvwall.data.VIEWS` (any case is accepted).
    """

    view: str
    probability: float | None
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", check_view(self.view))
        if self.source not in VIEW_SOURCES:
            raise ValueError(f"source must be one of {list(VIEW_SOURCES)}, got {self.source!r}")
        if self.recognised != (self.probability is not None):
            raise ValueError(
                "a recognised view needs its probability, a given one has none; got "
                f"source={self.source!r}, probability={self.probability}"
            )
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {self.probability}")

    @classmethod
    def given(cls, view: str) -> ViewCall:
        """The view the user named (``--view a2c``), any case."""
        return cls(view=view, probability=None, source="given")

    @classmethod
    def default(cls) -> ViewCall:
        """A4C, taken where nothing decides the view (the view of HMC-QU's masks)."""
        return cls(view=VIEWS[0], probability=None, source="default")

    @property
    def recognised(self) -> bool:
        return self.source == "recognised"

    def to_dict(self) -> dict[str, Any]:
        """For JSON outputs: ``{"view": "A2C", "source": "recognised", "probability": 0.97}``;
        a given or default view has no probability."""
        values: dict[str, Any] = {"view": self.view, "source": self.source}
        if self.probability is not None:
            values["probability"] = round(self.probability, 4)
        return values

    def describe(self) -> str:
        """One phrase for console output: ``A2C (recognised, p = 0.97)`` or ``A4C (given)``."""
        if self.probability is None:
            return f"{self.view} ({self.source})"
        return f"{self.view} (recognised, p = {self.probability:.2f})"


#: Each window is divided by this percentile of its pixels, so that gain and depth settings
#: do not change what the classifier reads.
BRIGHT_PERCENTILE = 90.0


@dataclass(frozen=True)
class WallCrop:
    """The window around the wall that the classifier reads, as a ``side`` x ``side`` image.

    The wall's bounding box, ``width`` x ``height``, is widened by ``left`` x width on the
    image's left (where A4C shows the right ventricle), ``right`` x width on its right,
    ``above`` x height above the apex and ``below`` x height below the base (the atria).
    Scaling both axes by the wall's own box removes the scanners' differences in zoom,
    depth and the frame's aspect ratio. Window pixels outside the ultrasound sector (or the
    frame) take the mean of those inside: how far a scanner's fan reaches beside and below
    the heart says nothing about the view.
    """

    side: int = 24
    left: float = 0.7
    right: float = 0.7
    above: float = 0.1
    below: float = 0.8

    def __post_init__(self) -> None:
        if self.side < 4:
            raise ValueError(f"side must be at least 4 pixels, got {self.side}")
        margins = {name: getattr(self, name) for name in ("left", "right", "above", "below")}
        negative = {name: value for name, value in margins.items() if value < 0}
        if negative:
            raise ValueError(f"margins must not be negative, got {negative}")

    @property
    def n_features(self) -> int:
        return self.side * self.side

    def describe(self) -> str:
        return (
            f"grey frame in the predicted wall's bounding box widened by {self.left} x its "
            f"width on the left, {self.right} on the right, {self.above} x its height above "
            f"and {self.below} below, blurred against aliasing, resampled to "
            f"{self.side}x{self.side}, pixels outside the sector set to the mean of those "
            f"inside, divided by its {BRIGHT_PERCENTILE:g}th percentile"
        )

    def features(self, grey: np.ndarray, mask: np.ndarray, sector: np.ndarray) -> np.ndarray | None:
        """The window of one grey frame (H, W) around its wall ``mask`` (H, W), bool ``sector``
        (H, W) true inside the fan, flattened to float64 (side * side,); ``None`` when the
        mask holds no wall."""
        rows, columns = np.nonzero(mask)
        if len(rows) == 0:
            return None
        width = float(columns.max() + 1 - columns.min())
        height = float(rows.max() + 1 - rows.min())
        x0 = columns.min() - self.left * width
        x1 = columns.max() + 1 + self.right * width
        y0 = rows.min() - self.above * height
        y1 = rows.max() + 1 + self.below * height
        transform = cv2.getAffineTransform(
            np.float32([[x0, y0], [x1, y0], [x0, y1]]),
            np.float32([[0, 0], [self.side, 0], [0, self.side]]),
        )
        # Blur to about half the window's pixel size first, so that the resampling does not
        # alias speckle.
        pixel = max((x1 - x0) / self.side, (y1 - y0) / self.side)
        blurred = cv2.GaussianBlur(np.asarray(grey, dtype=np.float32), (0, 0), max(pixel / 2, 0.5))
        window = self._warp(blurred, transform).astype(np.float64)
        inside = self._warp(sector.astype(np.float32), transform) > 0.5
        if inside.any():
            window = np.where(inside, window, window[inside].mean())
        return window.ravel() / (np.percentile(window, BRIGHT_PERCENTILE) + 1e-3)

    def _warp(self, image: np.ndarray, transform: np.ndarray) -> np.ndarray:
        """``image`` resampled into the window; beyond the frame counts as 0."""
        return cv2.warpAffine(
            image,
            transform,
            (self.side, self.side),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )

    def windows(
        self, greys: np.ndarray, masks: np.ndarray, sector: Sector | None = None
    ) -> np.ndarray:
        """The window of each frame of one recording, float64 (T, side * side); a row of NaN
        for a frame whose mask holds no wall.

        ``greys`` float (T, H, W) in [0, 1] or one frame (H, W); ``masks`` the predicted
        walls, the same shape, {0, 1}; ``sector`` the recording's fan, found from ``greys``
        as the prediction pipeline finds it when ``None``.
        """
        greys, masks = _check_frames(greys, masks)
        sector = find_sector(greys) if sector is None else sector
        if sector.mask.shape != greys.shape[1:]:
            raise ValueError(f"sector {sector.mask.shape} does not match frames {greys.shape}")
        rows = np.full((len(greys), self.n_features), np.nan)
        for index, (grey, mask) in enumerate(zip(greys, masks, strict=True)):
            window = self.features(grey, mask, sector.mask)
            if window is not None:
                rows[index] = window
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "left": self.left,
            "right": self.right,
            "above": self.above,
            "below": self.below,
        }


@dataclass(frozen=True)
class ViewClassifier:
    """Wall-relative window (:class:`WallCrop`) -> probability of each view in
    :data:`lvwall.data.VIEWS`.

    The logit of A2C over A4C is ``weights @ features + intercept``, one float64 weight per
    window pixel. ``trained_on`` says what it was fitted on and ``cv_accuracy`` is its
    patient-wise cross-validated frame accuracy, when measured; both travel in the JSON.
    """

    crop: WallCrop
    weights: np.ndarray
    intercept: float
    trained_on: str = ""
    cv_accuracy: float | None = None

    def __post_init__(self) -> None:
        if np.shape(self.weights) != (self.crop.n_features,):
            raise ValueError(
                f"weights need one value per window pixel ({self.crop.n_features}), "
                f"got shape {np.shape(self.weights)}"
            )
        if not np.all(np.isfinite(self.weights)) or not np.isfinite(self.intercept):
            raise ValueError("weights and intercept must be finite")

    def predict_proba(
        self, greys: np.ndarray, masks: np.ndarray, sector: Sector | None = None
    ) -> np.ndarray:
        """Each frame's probability of each view, float64 (T, 2) in :data:`VIEWS` order;
        rows of NaN for frames without a wall (nothing to place the window by). Arguments
        as :meth:`WallCrop.windows`: the frames of one recording."""
        logits = self.crop.windows(greys, masks, sector) @ self.weights + self.intercept
        second = 1.0 / (1.0 + np.exp(-np.clip(logits, -500.0, 500.0)))
        return np.column_stack([1.0 - second, second])

    def classify(
        self,
        greys: np.ndarray,
        masks: np.ndarray,
        sector: Sector | None = None,
        max_frames: int = MAX_VIEW_FRAMES,
    ) -> ViewCall:
        """The view of one recording: the per-frame probabilities averaged over up to
        ``max_frames`` evenly spaced frames that have a wall, and the likelier view.

        ``greys`` float (T, H, W) in [0, 1] (a :class:`SegmentedRecording`'s ``greys``) or
        one frame (H, W); ``masks`` its predicted walls, the same shape; ``sector`` its fan,
        found from all of ``greys`` when ``None``. ValueError when no chosen frame has a
        wall.
        """
        if max_frames < 1:
            raise ValueError(f"max_frames must be positive, got {max_frames}")
        greys, masks = _check_frames(greys, masks)
        sector = find_sector(greys) if sector is None else sector
        chosen = np.unique(np.linspace(0, len(greys) - 1, min(max_frames, len(greys))).round())
        chosen = chosen.astype(int)
        probabilities = self.predict_proba(greys[chosen], masks[chosen], sector)
        measured = probabilities[~np.isnan(probabilities[:, 0])]
        if len(measured) == 0:
            raise ValueError("no frame has a wall in its mask: the view cannot be recognised")
        mean = measured.mean(axis=0)
        best = int(np.argmax(mean))
        return ViewCall(view=VIEWS[best], probability=float(mean[best]), source="recognised")

    def to_json(self) -> dict[str, Any]:
        """The classifier as plain JSON values."""
        return {
            "format_version": VIEW_FORMAT_VERSION,
            "views": list(VIEWS),
            "features": self.crop.describe(),
            "trained_on": self.trained_on,
            "cv_accuracy": self.cv_accuracy,
            "crop": self.crop.to_json(),
            "intercept": float(self.intercept),
            "weights": [float(value) for value in self.weights],
        }

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> ViewClassifier:
        """The classifier :meth:`to_json` wrote; ValueError when ``values`` is not one."""
        if values.get("format_version") != VIEW_FORMAT_VERSION:
            raise ValueError(
                f"format_version {values.get('format_version')!r}, expected {VIEW_FORMAT_VERSION}"
            )
        if tuple(values.get("views", ())) != VIEWS:
            raise ValueError(f"views {values.get('views')!r}, expected {list(VIEWS)}")
        accuracy = values.get("cv_accuracy")
        return cls(
            crop=WallCrop(**values["crop"]),
            weights=np.asarray(values["weights"], dtype=np.float64),
            intercept=float(values["intercept"]),
            trained_on=str(values.get("trained_on", "")),
            cv_accuracy=None if accuracy is None else float(accuracy),
        )

    def save(self, path: str | Path) -> Path:
        """Write the classifier to ``path`` as JSON, atomically."""
        return write_json(path, self.to_json())


def _check_frames(greys: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``greys`` and ``masks`` as (T, H, W) stacks; ValueError naming what is wrong."""
    greys, masks = np.asarray(greys), np.asarray(masks)
    if greys.ndim == 2:
        greys = greys[None]
    if masks.ndim == 2:
        masks = masks[None]
    if greys.ndim != 3 or 0 in greys.shape:
        raise ValueError(f"greys must be frames (T, H, W) or one frame (H, W), got {greys.shape}")
    if masks.shape != greys.shape:
        raise ValueError(f"masks {masks.shape} must have the shape of greys {greys.shape}")
    if not np.issubdtype(greys.dtype, np.floating):
        raise ValueError(f"greys must be float in [0, 1], got {greys.dtype}")
    if float(greys.min()) < 0.0 or float(greys.max()) > 1.0:
        raise ValueError(f"greys must lie in [0, 1], got [{greys.min()}, {greys.max()}]")
    return greys, masks != 0


def read_view_classifier(path: str | Path) -> ViewClassifier:
    """A view classifier JSON file; :class:`ModelError` naming the file if it is not one."""
    return read_json_model(path, "view classifier", ViewClassifier.from_json)


@functools.lru_cache(maxsize=1)
def _bundled_view_classifier() -> ViewClassifier:
    return read_view_classifier(ASSETS_DIR / VIEW_MODEL_NAME)


def load_view_classifier(path: str | Path | None = None) -> ViewClassifier:
    """The view classifier at ``path``, or the bundled one (read once) when ``None``."""
    return _bundled_view_classifier() if path is None else read_view_classifier(path)


def fit_view_classifier(
    recordings: Sequence[tuple[np.ndarray, np.ndarray, str]],
    *,
    crop: WallCrop | None = None,
    components: int = 50,
    regularisation: float = 0.1,
    trained_on: str = "",
    cv_accuracy: float | None = None,
) -> ViewClassifier:
    """Fit the classifier to ``recordings``, each ``(greys, masks, view)``: one recording's
    grey frames (T, H, W) or frame (H, W), its predicted walls, and its view (from
    :data:`VIEWS`, any case). Each recording's sector is found from its own frames, as at
    inference.

    The windows' pixels are standardised, projected on their first ``components`` principal
    components and fed to an L2-penalised logistic regression (inverse strength
    ``regularisation``, scikit-learn's ``C``); the three linear steps are then folded into
    one weight per pixel. Every frame needs a wall in its mask.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    crop = WallCrop() if crop is None else crop
    if regularisation <= 0:
        raise ValueError(f"regularisation must be positive, got {regularisation}")
    tables, views = [], []
    for greys, masks, view in recordings:
        tables.append(crop.windows(greys, masks))
        views += [check_view(view)] * len(tables[-1])
    if set(views) != set(VIEWS):
        raise ValueError(f"need recordings of every view {list(VIEWS)}, got {sorted(set(views))}")
    table = np.concatenate(tables)
    wall_less = np.flatnonzero(np.isnan(table[:, 0]))
    if len(wall_less):
        raise ValueError(
            f"{len(wall_less)} frame(s) have no wall in their mask (first: frame "
            f"{wall_less[0]} of all recordings' frames); every training frame needs one"
        )
    if not 1 <= components <= min(table.shape):
        raise ValueError(f"components must be in 1..{min(table.shape)}, got {components}")
    scaler = StandardScaler().fit(table)
    standard = scaler.transform(table)
    pca = PCA(n_components=components, random_state=0).fit(standard)
    regression = LogisticRegression(C=regularisation, max_iter=5000).fit(
        pca.transform(standard), np.array(views) == VIEWS[1]
    )
    # logit = ((x - mean) / scale - pca.mean) @ components.T @ coef + intercept
    direction = pca.components_.T @ regression.coef_[0]
    weights = direction / scaler.scale_
    intercept = float(regression.intercept_[0] - pca.mean_ @ direction - scaler.mean_ @ weights)
    return ViewClassifier(
        crop=crop,
        weights=weights,
        intercept=intercept,
        trained_on=trained_on,
        cv_accuracy=cv_accuracy,
    )
