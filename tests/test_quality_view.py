"""The view classifier: what a view call says, the JSON round trip, bad arguments, averaging
over frames, the folded fit, and the bundled classifier on real CAMUS and HMC-QU frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lvwall.data import VIEWS, InputSource, whole_frame
from lvwall.errors import ModelError
from lvwall.quality import (
    VIEW_MODEL_NAME,
    ViewCall,
    ViewClassifier,
    WallCrop,
    fit_view_classifier,
    load_view_classifier,
    read_view_classifier,
)
from lvwall.quality.view import VIEW_FORMAT_VERSION

SIDE = 64


def wall_mask(side: int = SIDE) -> np.ndarray:
    """An inverted U in the middle of the frame, like an LV wall open at the valves."""
    mask = np.zeros((side, side), np.uint8)
    top, bottom, left, right = side // 4, 3 * side // 4, 3 * side // 8, 5 * side // 8
    mask[top:bottom, left : left + 3] = 1
    mask[top:bottom, right - 3 : right] = 1
    mask[top : top + 3, left:right] = 1
    return mask


def noisy_frames(count: int, seed: int, side: int = SIDE) -> np.ndarray:
    """Blocks of random brightness, 8 to a side, so that frames differ at the window's scale."""
    blocks = np.random.default_rng(seed).uniform(0.1, 0.9, (count, 8, 8))
    return np.kron(blocks, np.ones((side // 8, side // 8))).astype(np.float32)


def random_classifier(seed: int = 0, crop: WallCrop | None = None) -> ViewClassifier:
    """Small random weights: probabilities that differ from frame to frame, none saturated."""
    crop = WallCrop(side=8) if crop is None else crop
    weights = np.random.default_rng(seed).normal(0.0, 0.3, crop.n_features)
    return ViewClassifier(crop, weights, intercept=0.1, trained_on="noise", cv_accuracy=0.5)


# ---------------------------------------------------------------------------------------------
# ViewCall


@pytest.mark.parametrize(
    ("call", "view", "source", "as_dict", "phrase"),
    [
        (
            ViewCall.given("a2c"),
            "A2C",
            "given",
            {"view": "A2C", "source": "given"},
            "A2C (given)",
        ),
        (
            ViewCall("A4C", 0.97, source="recognised"),
            "A4C",
            "recognised",
            {"view": "A4C", "source": "recognised", "probability": 0.97},
            "A4C (recognised, p = 0.97)",
        ),
        (
            ViewCall.default(),
            "A4C",
            "default",
            {"view": "A4C", "source": "default"},
            "A4C (default)",
        ),
    ],
    ids=["given", "recognised", "default"],
)
def test_a_view_call_says_which_view_and_how_it_was_decided(
    call: ViewCall, view: str, source: str, as_dict: dict, phrase: str
) -> None:
    assert call.view == view
    assert call.recognised is (source == "recognised")
    assert call.source == source
    assert call.to_dict() == as_dict
    assert json.loads(json.dumps(call.to_dict())) == as_dict
    assert call.describe() == phrase


@pytest.mark.parametrize(
    ("view", "probability", "source", "match"),
    [
        ("A3C", None, "given", "view must be one of"),
        ("A4C", None, "recognised", "needs its probability"),
        ("A4C", 0.9, "given", "needs its probability"),
        ("A4C", 0.9, "default", "needs its probability"),
        ("A4C", None, "guessed", "source must be one of"),
        ("A2C", 1.5, "recognised", r"probability must be in \[0, 1\]"),
    ],
)
def test_an_impossible_view_call_is_refused(
    view: str, probability: float | None, source: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        ViewCall(view, probability, source)


# ---------------------------------------------------------------------------------------------
# The classifier's parameters and arguments


def test_a_classifier_round_trips_through_json(tmp_path: Path) -> None:
    classifier = random_classifier(crop=WallCrop(side=6, left=0.4, right=0.6, above=0.2))
    path = classifier.save(tmp_path / VIEW_MODEL_NAME)
    values = json.loads(path.read_text(encoding="utf-8"))
    assert values["format_version"] == VIEW_FORMAT_VERSION
    assert values["views"] == list(VIEWS)
    assert {"features", "trained_on", "cv_accuracy"} <= set(values)
    again = load_view_classifier(path)
    assert again.crop == classifier.crop
    np.testing.assert_array_equal(again.weights, classifier.weights)
    assert (again.intercept, again.trained_on, again.cv_accuracy) == (0.1, "noise", 0.5)
    frames = noisy_frames(3, seed=1)
    masks = np.stack([wall_mask()] * 3)
    np.testing.assert_array_equal(
        again.predict_proba(frames, masks), classifier.predict_proba(frames, masks)
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda values: values.update(format_version=99), "format_version 99"),
        (lambda values: values.update(views=["A2C", "A4C"]), "views"),
        (lambda values: values.update(weights=[0.0] * 5), "one value per window pixel"),
        (lambda values: values.pop("crop"), "crop"),
    ],
    ids=["version", "view order", "weights", "no crop"],
)
def test_a_file_that_is_not_a_view_classifier_is_named(
    tmp_path: Path, change, problem: str
) -> None:
    values = random_classifier().to_json()
    change(values)
    path = tmp_path / "view.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    with pytest.raises(ModelError, match=problem) as caught:
        read_view_classifier(path)
    assert caught.value.path == path


def test_a_missing_or_unreadable_classifier_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        read_view_classifier(tmp_path / "absent.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot be read"):
        read_view_classifier(tmp_path / "broken.json")


FRAMES = noisy_frames(2, seed=0)
MASKS = np.stack([wall_mask()] * 2)


@pytest.mark.parametrize(
    ("greys", "masks", "match"),
    [
        (FRAMES[0, 0], MASKS[0, 0], r"frames \(T, H, W\) or one frame"),
        (FRAMES[None], MASKS[None], r"frames \(T, H, W\) or one frame"),
        (FRAMES[:0], MASKS[:0], r"frames \(T, H, W\) or one frame"),
        (FRAMES, MASKS[:1], "must have the shape of greys"),
        (FRAMES, MASKS[:, :-1], "must have the shape of greys"),
        ((FRAMES * 255).astype(np.uint8), MASKS, "must be float"),
        (FRAMES * 2, MASKS, r"must lie in \[0, 1\]"),
    ],
    ids=["1-D", "4-D", "no frames", "fewer masks", "smaller masks", "uint8", "beyond 1"],
)
def test_frames_of_the_wrong_shape_or_kind_are_refused(
    greys: np.ndarray, masks: np.ndarray, match: str
) -> None:
    classifier = random_classifier()
    for method in (classifier.predict_proba, classifier.classify):
        with pytest.raises(ValueError, match=match):
            method(greys, masks)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: WallCrop(side=3), "side must be at least 4"),
        (lambda: WallCrop(below=-0.1), "must not be negative"),
        (lambda: ViewClassifier(WallCrop(side=4), np.zeros(15), 0.0), "one value per window"),
        (lambda: ViewClassifier(WallCrop(side=4), np.full(16, np.nan), 0.0), "finite"),
        (lambda: random_classifier().classify(FRAMES, MASKS, max_frames=0), "max_frames"),
        (
            lambda: random_classifier().predict_proba(FRAMES, MASKS, whole_frame(8, 8)),
            "does not match frames",
        ),
    ],
    ids=["tiny window", "negative margin", "weights", "NaN weights", "max_frames", "sector"],
)
def test_bad_parameters_are_refused(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------------------------------------
# Classifying a recording


def test_classify_averages_the_frames_probabilities() -> None:
    classifier = random_classifier()
    greys, masks = noisy_frames(6, seed=2), np.stack([wall_mask()] * 6)
    per_frame = classifier.predict_proba(greys, masks)
    assert np.ptp(per_frame[:, 0]) > 0.05, "the test needs frames that differ"
    np.testing.assert_allclose(per_frame.sum(axis=1), 1.0)
    mean = per_frame.mean(axis=0)
    call = classifier.classify(greys, masks)
    assert call.recognised
    assert call.view == VIEWS[int(np.argmax(mean))]
    assert call.probability == pytest.approx(mean.max())


def test_classify_subsamples_frames_evenly_and_skips_frames_without_a_wall() -> None:
    classifier = random_classifier(seed=3)
    greys, masks = noisy_frames(10, seed=4), np.stack([wall_mask()] * 10)
    masks[3] = 0
    sector = whole_frame(SIDE, SIDE)
    per_frame = classifier.predict_proba(greys, masks, sector)
    assert np.isnan(per_frame[3]).all()
    # 4 of 10 frames, evenly spaced: 0, 3, 6 and 9; frame 3 has no wall.
    expected = per_frame[[0, 6, 9]].mean(axis=0).max()
    call = classifier.classify(greys, masks, sector, max_frames=4)
    assert call.probability == pytest.approx(expected)
    single = classifier.classify(greys[0], masks[0], sector)
    assert single.probability == pytest.approx(per_frame[0].max())
    with pytest.raises(ValueError, match="no frame has a wall"):
        classifier.classify(greys, np.zeros_like(masks))


# ---------------------------------------------------------------------------------------------
# Fitting


def synthetic_recording(view: str, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A4C: a dark chamber left of the wall (the right ventricle); A2C: bright tissue there."""
    greys = noisy_frames(6, seed) * 0.5 + 0.25
    chamber = slice(SIDE // 4, 3 * SIDE // 4), slice(SIDE // 8, 5 * SIDE // 16)
    greys[(slice(None), *chamber)] = 0.05 if view == "A4C" else 0.85
    return greys, np.stack([wall_mask()] * len(greys)), view


def test_the_fit_folds_its_three_steps_into_one_linear_function() -> None:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    recordings = [synthetic_recording(view, seed) for seed in range(4) for view in VIEWS]
    crop = WallCrop(side=8)
    classifier = fit_view_classifier(recordings, crop=crop, components=5, regularisation=0.5)
    table = np.concatenate([crop.windows(greys, masks) for greys, masks, _ in recordings])
    views = np.concatenate([[view] * len(greys) for greys, _, view in recordings])
    pipeline = make_pipeline(
        StandardScaler(), PCA(5, random_state=0), LogisticRegression(C=0.5, max_iter=5000)
    ).fit(table, views == "A2C")
    folded = np.concatenate([classifier.predict_proba(g, m)[:, 1] for g, m, _ in recordings])
    np.testing.assert_allclose(folded, pipeline.predict_proba(table)[:, 1], atol=1e-9)
    for greys, masks, view in recordings:
        assert classifier.classify(greys, masks).view == view


@pytest.mark.parametrize(
    ("recordings", "options", "match"),
    [
        ([synthetic_recording("A4C", 0)], {}, "every view"),
        (
            [synthetic_recording("A4C", 0), (*synthetic_recording("A2C", 1)[:2], "A5C")],
            {},
            "view must be one of",
        ),
        (
            [synthetic_recording("A4C", 0), (FRAMES, np.zeros_like(MASKS), "A2C")],
            {},
            "no wall in their mask",
        ),
        (
            [synthetic_recording(view, seed) for seed, view in enumerate(VIEWS)],
            {"components": 13},
            "components must be in 1..12",
        ),
        (
            [synthetic_recording(view, seed) for seed, view in enumerate(VIEWS)],
            {"regularisation": 0.0},
            "regularisation must be positive",
        ),
    ],
    ids=["one view", "unknown view", "no wall", "too many components", "regularisation"],
)
def test_fitting_refuses_what_it_cannot_learn_from(recordings, options, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_view_classifier(recordings, crop=WallCrop(side=8), **options)


# ---------------------------------------------------------------------------------------------
# The bundled classifier on real frames


def test_the_bundled_classifier_says_what_it_was_fitted_on() -> None:
    classifier = load_view_classifier()
    assert classifier is load_view_classifier()
    assert classifier.weights.shape == (classifier.crop.n_features,)
    assert "CAMUS" in classifier.trained_on
    assert classifier.cv_accuracy is not None and classifier.cv_accuracy > 0.9


@pytest.fixture(scope="module")
def segment():
    """Grey frames and predicted walls of a file, through lvwall's own input path and
    prediction pipeline (as ``lvwall predict`` reads and segments it)."""
    from lvwall.infer import PredictOptions, load_segmentation_model, segment_frames

    model = load_segmentation_model(None, backend="onnx", threads=1)

    def run(path: Path) -> tuple[np.ndarray, np.ndarray]:
        frames = InputSource(path, path.stem).open().frames()
        results = list(segment_frames(frames, model, PredictOptions(quality=False)))
        return np.stack([r.grey for r in results]), np.stack([r.mask for r in results])

    return run


@pytest.mark.parametrize("camus_view", ["4CH", "2CH"])
def test_the_bundled_classifier_recognises_camus_stills(
    camus_2view_dir: Path, segment, camus_view: str
) -> None:
    """Frames it was fitted on, so a sanity check of the asset and the input path rather
    than a measure of accuracy (that is benchmarks/view_classifier.py's patient-wise CV)."""
    manifest = pd.read_csv(camus_2view_dir / "manifest.csv")
    rows = manifest[manifest.view == camus_view].sort_values("image").head(8)
    expected = {"4CH": "A4C", "2CH": "A2C"}[camus_view]
    classifier = load_view_classifier()
    calls = [classifier.classify(*segment(camus_2view_dir / image)) for image in rows.image]
    assert sum(call.view == expected for call in calls) >= 7, [c.describe() for c in calls]


@pytest.mark.parametrize(
    ("name", "expected"), [("ES0001 _4CH_1.gif", "A4C"), ("ES0001_CH2_1.gif", "A2C")]
)
def test_the_bundled_classifier_recognises_both_views_of_a_real_hmcqu_exam(
    hmcqu_sample_dir: Path, segment, name: str, expected: str
) -> None:
    """Another dataset, scanner and frame size (636x422, colour, overlays), never fitted on:
    benchmarks/view_classifier.py calls every frame of both recordings right."""
    greys, masks = segment(hmcqu_sample_dir / name)
    call = load_view_classifier().classify(greys, masks)
    assert call.view == expected
    assert call.probability > 0.9
