"""Segmentation metrics: hand-computed cases, sklearn and MONAI as oracles, aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance
from scipy import ndimage
from sklearn import metrics as skm

from lvwall.metrics import (
    CONFUSION_NAMES,
    METRIC_NAMES,
    OVERLAP_METRICS,
    RecordingMetrics,
    batch_confusion,
    dataset_metrics,
    frame_metrics,
    frames_table,
    metrics_from_confusion,
    recording_metrics,
)

NAN = math.nan

# The MONAI oracle calls below warn about an argument MONAI passes to itself.
pytestmark = pytest.mark.filterwarnings("ignore:.*always_return_as_numpy:FutureWarning")


def mask(rows: list[str]) -> np.ndarray:
    """A boolean mask drawn with '#' for foreground and '.' for background."""
    return np.array([[char == "#" for char in row] for row in rows])


def blob_masks(seed: int, shape: tuple[int, ...] = (40, 48)) -> np.ndarray:
    """Smooth random blobs, so that boundaries look like segmentations, not noise."""
    noise = np.random.default_rng(seed).normal(size=shape)
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 3, 3)[-len(shape) :])
    return smooth > 0.05


def assert_metrics(actual: dict[str, float], expected: dict[str, float]) -> None:
    for name, value in expected.items():
        if math.isnan(value):
            assert math.isnan(actual[name]), name
        else:
            assert actual[name] == pytest.approx(value), name


# Confusion counts in the comments; expected values worked out by hand from them.
HAND_CASES = {
    # tp=2 fp=1 fn=1 tn=2
    "partial overlap": (
        ["##.", ".#."],
        ["#..", ".##"],
        {
            "dice": 4 / 6,
            "iou": 2 / 4,
            "accuracy": 4 / 6,
            "precision": 2 / 3,
            "recall": 2 / 3,
            "f1": 4 / 6,
            "specificity": 2 / 3,
        },
    ),
    # tp=1 fp=3 fn=0 tn=0: no negatives in the target and a wrong prediction -> specificity 0
    "over-segmentation": (
        ["##", "##"],
        ["#.", ".."],
        {
            "dice": 2 / 5,
            "iou": 1 / 4,
            "accuracy": 1 / 4,
            "precision": 1 / 4,
            "recall": 1.0,
            "f1": 2 / 5,
            "specificity": 0.0,
        },
    ),
    # tp=0 fp=0 fn=0 tn=6
    "both empty": (
        ["...", "..."],
        ["...", "..."],
        {
            "dice": 1.0,
            "iou": 1.0,
            "accuracy": 1.0,
            "precision": 1.0,
            "recall": 1.0,
            "f1": 1.0,
            "specificity": 1.0,
            "hd95": 0.0,
            "assd": 0.0,
        },
    ),
    # tp=0 fp=0 fn=2 tn=4
    "prediction empty": (
        ["...", "..."],
        ["#..", "#.."],
        {
            "dice": 0.0,
            "iou": 0.0,
            "accuracy": 4 / 6,
            "precision": 0.0,
            "recall": 0.0,
            "specificity": 1.0,
            "hd95": NAN,
            "assd": NAN,
        },
    ),
    # tp=0 fp=1 fn=0 tn=5
    "target empty": (
        ["..#", "..."],
        ["...", "..."],
        {
            "dice": 0.0,
            "iou": 0.0,
            "accuracy": 5 / 6,
            "precision": 0.0,
            "recall": 0.0,
            "specificity": 5 / 6,
            "hd95": NAN,
            "assd": NAN,
        },
    ),
    # tp=4 fp=0 fn=0 tn=0: no negatives anywhere, no error -> specificity 1
    "both full": (
        ["##", "##"],
        ["##", "##"],
        {"dice": 1.0, "precision": 1.0, "specificity": 1.0, "hd95": 0.0, "assd": 0.0},
    ),
}


@pytest.mark.parametrize(("pred", "target", "expected"), HAND_CASES.values(), ids=HAND_CASES)
def test_frame_metrics_hand_computed(pred: list[str], target: list[str], expected: dict) -> None:
    result = frame_metrics(mask(pred), mask(target))
    assert tuple(result) == METRIC_NAMES
    assert_metrics(result, expected)


@pytest.mark.parametrize("seed", range(4))
def test_overlap_metrics_equal_sklearn(seed: int) -> None:
    pred, target = blob_masks(seed), blob_masks(seed + 100)
    y_pred, y_true = pred.ravel(), target.ravel()
    expected = {
        "dice": skm.f1_score(y_true, y_pred),
        "f1": skm.f1_score(y_true, y_pred),
        "iou": skm.jaccard_score(y_true, y_pred),
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred),
        "recall": skm.recall_score(y_true, y_pred),
        "specificity": skm.recall_score(y_true, y_pred, pos_label=False),
    }
    assert_metrics(frame_metrics(pred, target), expected)


@pytest.mark.parametrize(("spacing", "suffix"), [(None, ""), ((0.7, 0.3), "_mm")])
def test_boundary_metrics_equal_monai(spacing: tuple[float, float] | None, suffix: str) -> None:
    preds, targets = blob_masks(1, (3, 40, 48)), blob_masks(2, (3, 40, 48))
    table = frames_table(preds, targets, spacing)
    y_pred, y = torch.from_numpy(preds[:, None]), torch.from_numpy(targets[:, None])
    hd95 = compute_hausdorff_distance(
        y_pred, y, include_background=True, percentile=95, spacing=spacing
    )
    assd = compute_average_surface_distance(
        y_pred, y, include_background=True, symmetric=True, spacing=spacing
    )
    assert not table[f"hd95{suffix}"].isna().any()
    np.testing.assert_allclose(table[f"hd95{suffix}"], hd95[:, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(table[f"assd{suffix}"], assd[:, 0].numpy(), rtol=1e-6)


def square(top: int, left: int, size: int = 10, shape: tuple[int, int] = (24, 24)) -> np.ndarray:
    canvas = np.zeros(shape, bool)
    canvas[top : top + size, left : left + size] = True
    return canvas


def line(row: int, col: int, length: int, vertical: bool) -> np.ndarray:
    canvas = np.zeros((24, 24), bool)
    if vertical:
        canvas[row : row + length, col] = True
    else:
        canvas[row, col : col + length] = True
    return canvas


@pytest.mark.parametrize(
    ("pred", "target", "spacing", "expected"),
    [
        # 10x10 squares 3 columns apart. Of the 36 edge pixels of each, 14 lie 3 px from the
        # other's edge, 4 lie 2 px, 4 lie 1 px and 14 on it: HD95 = 3, ASSD = 54/36 = 1.5.
        (square(5, 5), square(5, 8), None, {"hd95": 3.0, "assd": 1.5}),
        (square(5, 5), square(8, 5), None, {"hd95": 3.0, "assd": 1.5}),
        # Parallel segments 3 rows apart: every point is 3 rows (2 mm each) from the other.
        (
            line(4, 2, 10, False),
            line(7, 2, 10, False),
            (2.0, 0.5),
            {"hd95": 3.0, "assd": 3.0, "hd95_mm": 6.0, "assd_mm": 6.0},
        ),
        # The same 3 px apart across columns, 0.5 mm each.
        (
            line(2, 4, 10, True),
            line(2, 7, 10, True),
            (2.0, 0.5),
            {"hd95": 3.0, "assd": 3.0, "hd95_mm": 1.5, "assd_mm": 1.5},
        ),
        # Single pixels 3 rows and 4 columns apart: 5 px; 5 mm at 1 mm per pixel.
        (line(2, 2, 1, True), line(5, 6, 1, True), (1.0, 1.0), {"hd95": 5.0, "hd95_mm": 5.0}),
    ],
)
def test_boundary_metrics_hand_computed(
    pred: np.ndarray, target: np.ndarray, spacing: tuple[float, float] | None, expected: dict
) -> None:
    assert_metrics(frame_metrics(pred, target, spacing), expected)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_isotropic_spacing_scales_distances(scale: float) -> None:
    pred, target = blob_masks(3), blob_masks(4)
    result = frame_metrics(pred, target, spacing=(scale, scale))
    assert result["hd95_mm"] == pytest.approx(scale * result["hd95"], rel=1e-5)
    assert result["assd_mm"] == pytest.approx(scale * result["assd"], rel=1e-5)


def test_torch_and_integer_masks_give_the_same_metrics() -> None:
    pred, target = blob_masks(5), blob_masks(6)
    reference = frame_metrics(pred, target)
    as_torch = frame_metrics(torch.from_numpy(pred), torch.from_numpy(target.astype(np.uint8)))
    assert as_torch == reference


def test_batch_confusion_counts_each_sample() -> None:
    preds, targets = blob_masks(7, (4, 16, 20)), blob_masks(8, (4, 16, 20))
    tp, fp, fn, tn = batch_confusion(torch.from_numpy(preds), torch.from_numpy(targets))
    for index, (p, t) in enumerate(zip(preds, targets, strict=True)):
        (expected_tn, expected_fp), (expected_fn, expected_tp) = skm.confusion_matrix(
            t.ravel(), p.ravel(), labels=[False, True]
        )
        assert (tp[index], fp[index], fn[index], tn[index]) == (
            expected_tp,
            expected_fp,
            expected_fn,
            expected_tn,
        )
    assert tp.dtype == torch.int64 and tp.shape == (4,)


def test_metrics_from_confusion_agrees_for_tensors_and_arrays() -> None:
    counts = [
        np.array([2, 0, 0, 5]),
        np.array([1, 0, 1, 0]),
        np.array([1, 0, 0, 3]),
        np.array([2, 6, 5, 0]),
    ]
    from_numpy = metrics_from_confusion(*counts)
    from_torch = metrics_from_confusion(*(torch.from_numpy(c) for c in counts))
    assert tuple(from_numpy) == OVERLAP_METRICS
    for name in OVERLAP_METRICS:
        assert isinstance(from_torch[name], torch.Tensor)
        np.testing.assert_allclose(from_torch[name].numpy(), from_numpy[name])
    # Column 2: nothing anywhere, no error; column 3: only a false positive.
    np.testing.assert_allclose(from_numpy["dice"], [4 / 6, 1.0, 0.0, 10 / 13])
    np.testing.assert_allclose(from_numpy["recall"], [2 / 3, 1.0, 0.0, 5 / 8])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: frame_metrics(np.full((3, 3), 0.5), np.zeros((3, 3))), "binary"),
        (lambda: frame_metrics(np.zeros((3, 3)), np.zeros((3, 4))), "same shape"),
        (lambda: frame_metrics(np.zeros((2, 3, 3)), np.zeros((2, 3, 3))), "one frame"),
        (lambda: frame_metrics(np.zeros((3, 3)), np.zeros((3, 3)), (1.0,)), "spacing"),
        (lambda: frame_metrics(np.zeros((3, 3)), np.zeros((3, 3)), (1.0, 0.0)), "spacing"),
        (lambda: frames_table(np.zeros((3, 3)), np.zeros((3, 3))), "\\(T, H, W\\)"),
        (lambda: batch_confusion(torch.rand(2, 4), torch.zeros(2, 4)), "threshold"),
        (lambda: batch_confusion(torch.zeros(4), torch.zeros(4)), "batch"),
        (lambda: metrics_from_confusion(-1, 0, 0, 0), "non-negative"),
        (lambda: dataset_metrics([]), "at least one"),
    ],
)
def test_bad_arguments_raise(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# Two recordings of 2x3 frames; counts (tp, fp, fn, tn) per frame in the comments.
RECORDING_A = (
    [["##.", ".#."], ["...", "..."]],  # frame 1: 2 1 1 2; frame 2: 0 0 0 6
    [["#..", ".##"], ["...", "..."]],
)
RECORDING_B = ([["###", "###"]], [["#..", "..."]])  # 1 5 0 0


def recording(name: str, frames: tuple[list, list]) -> RecordingMetrics:
    preds, targets = (np.stack([mask(frame) for frame in group]) for group in frames)
    return recording_metrics(name, preds, targets)


@pytest.mark.parametrize(
    ("frames", "mean_dice", "pooled_dice"),
    [
        # Mean of 4/6 and 1 (both empty); pooled 2*2 / (2*2 + 1 + 1).
        (RECORDING_A, (4 / 6 + 1) / 2, 4 / 6),
        (RECORDING_B, 2 / 7, 2 / 7),
    ],
)
def test_recording_mean_and_pooled(frames, mean_dice: float, pooled_dice: float) -> None:
    result = recording("r", frames)
    assert result.mean["dice"] == pytest.approx(mean_dice)
    assert result.pooled["dice"] == pytest.approx(pooled_dice)
    assert result.pooled["hd95"] == pytest.approx(result.frames["hd95"].mean())
    assert list(result.frames.columns) == [*METRIC_NAMES, *CONFUSION_NAMES]


def test_dataset_macro_and_micro_by_hand() -> None:
    result = dataset_metrics([recording("a", RECORDING_A), recording("b", RECORDING_B)])
    assert list(result.recordings.index) == ["a", "b"]
    assert list(result.recordings["n_frames"]) == [2, 1]
    # Macro: mean of the recordings' frame means (5/6 and 2/7).
    assert result.macro["dice"] == pytest.approx((5 / 6 + 2 / 7) / 2)
    # Micro: pooled tp=3 fp=6 fn=1 tn=8 over all three frames.
    assert result.micro["dice"] == pytest.approx(6 / 13)
    assert result.micro["specificity"] == pytest.approx(8 / 14)
    assert result.recordings.loc["a", "pooled_dice"] == pytest.approx(4 / 6)


def test_dataset_rejects_mixed_spacing_and_duplicate_names() -> None:
    frames = np.stack([square(5, 5)])
    with_mm = recording_metrics("a", frames, frames, spacing=(0.3, 0.3))
    without = recording_metrics("b", frames, frames)
    with pytest.raises(ValueError, match="spacing"):
        dataset_metrics([with_mm, without])
    with pytest.raises(ValueError, match="unique"):
        dataset_metrics([without, without])
