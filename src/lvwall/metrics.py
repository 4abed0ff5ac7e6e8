"""Segmentation metrics per frame, per recording and over a dataset.

Overlap metrics come from the confusion counts of a binary prediction against a binary
target (TP, FP, FN, TN pixels); the boundary metrics HD95 (95th-percentile symmetric
Hausdorff distance) and ASSD (average symmetric surface distance) come from MONAI, in pixels,
and in millimetres when a pixel spacing ``(row, column)`` in mm is given.

Conventions for empty masks, so that every value is defined and tested:

- A ratio whose denominator is 0 is 1 when the prediction has no error (FP = FN = 0) and 0
  otherwise. Both masks empty: dice = iou = precision = recall = 1. Target empty, prediction
  not: dice = iou = recall = 0. Prediction empty, target not: dice = iou = precision = 0.
- HD95 and ASSD are 0 when both masks are empty and NaN when only one is (no surface to
  measure to). Means over frames or recordings skip NaN; such frames still count through
  their Dice of 0.

Aggregates: a recording's *mean* is the mean over its frames; its *pooled* values come from
the confusion counts summed over its frames. Over a dataset, *macro* is the mean of the
per-recording means and *micro* comes from the counts pooled over every frame (distances do
not pool, so micro HD95/ASSD are the means over all frames).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
import torch

#: Metrics from confusion counts, in report order.
OVERLAP_METRICS: tuple[str, ...] = (
    "dice",
    "iou",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "specificity",
)
#: Boundary distances, in pixels; with a spacing, ``<name>_mm`` too.
BOUNDARY_METRICS: tuple[str, ...] = ("hd95", "assd")
#: Every per-frame metric, in a stable order.
METRIC_NAMES: tuple[str, ...] = OVERLAP_METRICS + BOUNDARY_METRICS
#: Confusion-count columns of the frame tables.
CONFUSION_NAMES: tuple[str, ...] = ("tp", "fp", "fn", "tn")

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)


def _as_binary_numpy(mask: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    array = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise ValueError(
                f"{name} must be binary (bool or 0/1), got values {np.unique(array)[:5]}"
            )
        array = array.astype(bool)
    return array


def _as_binary_tensor(mask: torch.Tensor, name: str) -> torch.Tensor:
    if mask.dtype != torch.bool:
        if not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"{name} must be binary (bool or 0/1); threshold probabilities first")
        mask = mask.bool()
    return mask


def _check_same_shape(pred_shape: Sequence[int], target_shape: Sequence[int]) -> None:
    if tuple(pred_shape) != tuple(target_shape):
        raise ValueError(
            f"pred and target need the same shape, got {tuple(pred_shape)} and "
            f"{tuple(target_shape)}"
        )


def batch_confusion(
    pred: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample ``(tp, fp, fn, tn)`` pixel counts (int64, shape ``(B,)``) of binary masks.

    ``pred`` and ``target`` are ``(B, ...)`` bool or 0/1 tensors on any device, e.g.
    ``logits > 0`` and the ground truth; a trainer sums these to accumulate cheaply.
    """
    _check_same_shape(pred.shape, target.shape)
    if pred.ndim < 2:
        raise ValueError(f"expected a batch (B, ...), got shape {tuple(pred.shape)}")
    pred = _as_binary_tensor(pred, "pred").flatten(1)
    target = _as_binary_tensor(target, "target").flatten(1)
    tp = (pred & target).sum(1)
    fp = (pred & ~target).sum(1)
    fn = (~pred & target).sum(1)
    tn = pred.shape[1] - tp - fp - fn
    return tp, fp, fn, tn


def _ratio(
    numerator: ArrayOrTensor, denominator: ArrayOrTensor, perfect: ArrayOrTensor
) -> ArrayOrTensor:
    """``numerator / denominator``, or 1 where the denominator is 0 and ``perfect``, else 0."""
    if isinstance(denominator, torch.Tensor):
        safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
        fallback = perfect.to(numerator.dtype)
        return torch.where(denominator > 0, numerator / safe, fallback)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, perfect.astype(float))


def metrics_from_confusion(
    tp: ArrayOrTensor, fp: ArrayOrTensor, fn: ArrayOrTensor, tn: ArrayOrTensor
) -> dict[str, ArrayOrTensor]:
    """The overlap metrics (:data:`OVERLAP_METRICS`) from confusion counts, element-wise.

    Takes tensors (returns float64 tensors, float32 on Apple MPS, which has no float64) or
    numbers and NumPy arrays (returns float64 arrays), of any matching shape. Recall is
    sensitivity; F1 equals Dice for binary masks (both are 2TP / (2TP + FP + FN)) and is
    reported for readers who look for either name. Zero denominators follow the module's
    convention.
    """
    if isinstance(tp, torch.Tensor):
        dtype = torch.float32 if tp.device.type == "mps" else torch.float64
        tp, fp, fn, tn = (torch.as_tensor(c, device=tp.device).to(dtype) for c in (tp, fp, fn, tn))
    else:
        tp, fp, fn, tn = (np.asarray(c, dtype=np.float64) for c in (tp, fp, fn, tn))
    if any((c < 0).any() for c in (tp, fp, fn, tn)):
        raise ValueError("confusion counts must be non-negative")
    perfect = (fp == 0) & (fn == 0)
    dice = _ratio(2 * tp, 2 * tp + fp + fn, perfect)
    return {
        "dice": dice,
        "iou": _ratio(tp, tp + fp + fn, perfect),
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn, perfect),
        "precision": _ratio(tp, tp + fp, perfect),
        "recall": _ratio(tp, tp + fn, perfect),
        "f1": dice,
        "specificity": _ratio(tn, tn + fp, perfect),
    }


def _boundary_distances(
    preds: np.ndarray, targets: np.ndarray, spacing: tuple[float, float] | None
) -> dict[str, np.ndarray]:
    """HD95 and ASSD of each frame of ``(T, H, W)`` masks, with the empty-mask convention."""
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    n_frames = preds.shape[0]
    pred_any = preds.reshape(n_frames, -1).any(1)
    target_any = targets.reshape(n_frames, -1).any(1)
    hd95 = np.where(pred_any | target_any, np.nan, 0.0)
    assd = hd95.copy()
    both = pred_any & target_any
    if both.any():
        # MONAI wants (B, C, H, W) one-hot; one foreground channel is enough here.
        y_pred = torch.from_numpy(preds[both][:, None])
        y = torch.from_numpy(targets[both][:, None])
        with warnings.catch_warnings():
            # MONAI 1.5+ warns on every call about an argument it passes to itself internally.
            warnings.filterwarnings("ignore", ".*always_return_as_numpy", FutureWarning)
            hd95[both] = compute_hausdorff_distance(
                y_pred, y, include_background=True, percentile=95, spacing=spacing
            )[:, 0].numpy()
            assd[both] = compute_average_surface_distance(
                y_pred, y, include_background=True, symmetric=True, spacing=spacing
            )[:, 0].numpy()
    return {"hd95": hd95, "assd": assd}


def _check_spacing(spacing: tuple[float, float] | None) -> None:
    if spacing is not None and (len(spacing) != 2 or not all(s > 0 for s in spacing)):
        raise ValueError(f"spacing must be two positive mm values (row, column), got {spacing}")


def frames_table(
    preds: np.ndarray | torch.Tensor,
    targets: np.ndarray | torch.Tensor,
    spacing: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """One row per frame of ``(T, H, W)`` binary masks: :data:`METRIC_NAMES`, ``<boundary>_mm``
    when ``spacing`` (mm per row, mm per column) is given, and the confusion counts."""
    preds = _as_binary_numpy(preds, "preds")
    targets = _as_binary_numpy(targets, "targets")
    _check_same_shape(preds.shape, targets.shape)
    if preds.ndim != 3:
        raise ValueError(f"expected masks (T, H, W), got shape {preds.shape}")
    _check_spacing(spacing)
    counts = batch_confusion(torch.from_numpy(preds), torch.from_numpy(targets))
    counts = [c.numpy() for c in counts]
    columns: dict[str, np.ndarray] = dict(metrics_from_confusion(*counts))
    columns.update(_boundary_distances(preds, targets, None))
    if spacing is not None:
        in_mm = _boundary_distances(preds, targets, spacing)
        columns.update({f"{name}_mm": values for name, values in in_mm.items()})
    columns.update(zip(CONFUSION_NAMES, counts, strict=True))
    return pd.DataFrame(columns)


def frame_metrics(
    pred: np.ndarray | torch.Tensor,
    target: np.ndarray | torch.Tensor,
    spacing: tuple[float, float] | None = None,
) -> dict[str, float]:
    """:data:`METRIC_NAMES` (plus ``hd95_mm``/``assd_mm`` with ``spacing``) of one frame.

    ``pred`` and ``target`` are ``(H, W)`` bool or 0/1 masks; ``spacing`` is (mm per row,
    mm per column).
    """
    if np.ndim(pred) != 2:
        raise ValueError(f"expected one frame (H, W), got shape {np.shape(pred)}")
    row = frames_table(pred[None], target[None], spacing).iloc[0]
    return {name: float(row[name]) for name in row.index if name not in CONFUSION_NAMES}


def _summary_names(frames: pd.DataFrame) -> list[str]:
    return [name for name in frames.columns if name not in CONFUSION_NAMES]


def _pooled(frames: pd.DataFrame) -> dict[str, float]:
    """Overlap metrics from counts summed over ``frames``; distances as means over frames."""
    totals = frames[list(CONFUSION_NAMES)].sum()
    pooled = metrics_from_confusion(*(totals[name] for name in CONFUSION_NAMES))
    distances = frames.drop(columns=list(CONFUSION_NAMES) + list(OVERLAP_METRICS)).mean()
    return {**{name: float(v) for name, v in pooled.items()}, **distances.to_dict()}


@dataclass(frozen=True)
class RecordingMetrics:
    """Metrics of one recording; ``frames`` is its :func:`frames_table`."""

    name: str
    frames: pd.DataFrame

    @property
    def mean(self) -> dict[str, float]:
        """Each metric's mean over frames (NaN distances skipped)."""
        return self.frames[_summary_names(self.frames)].mean().to_dict()

    @property
    def pooled(self) -> dict[str, float]:
        """Overlap metrics from the counts pooled over frames; distances as in :attr:`mean`."""
        return _pooled(self.frames)


def recording_metrics(
    name: str,
    preds: np.ndarray | torch.Tensor,
    targets: np.ndarray | torch.Tensor,
    spacing: tuple[float, float] | None = None,
) -> RecordingMetrics:
    """Per-frame metrics of a recording's ``(T, H, W)`` predicted and reference masks."""
    return RecordingMetrics(name, frames_table(preds, targets, spacing))


@dataclass(frozen=True)
class DatasetMetrics:
    """Metrics over recordings.

    ``recordings`` has one row per recording (index: name): ``n_frames``, the mean over its
    frames of each metric, and ``pooled_<metric>`` from its pooled counts (overlap metrics).
    ``macro`` is the mean of the per-recording means; ``micro`` comes from the counts pooled
    over all frames.
    """

    recordings: pd.DataFrame
    macro: dict[str, float]
    micro: dict[str, float]


def dataset_metrics(recordings: Iterable[RecordingMetrics]) -> DatasetMetrics:
    """Macro and micro aggregates of :class:`RecordingMetrics`; names must be unique."""
    recordings = list(recordings)
    if not recordings:
        raise ValueError("dataset_metrics needs at least one recording")
    names = [r.name for r in recordings]
    if len(set(names)) != len(names):
        raise ValueError(f"recording names must be unique, got duplicates in {names}")
    columns = list(recordings[0].frames.columns)
    if any(list(r.frames.columns) != columns for r in recordings):
        raise ValueError("all recordings need the same metrics (give a spacing to all or none)")
    rows = []
    for recording in recordings:
        pooled = {f"pooled_{name}": recording.pooled[name] for name in OVERLAP_METRICS}
        rows.append({"n_frames": len(recording.frames), **recording.mean, **pooled})
    table = pd.DataFrame(rows, index=pd.Index(names, name="recording"))
    summary = _summary_names(recordings[0].frames)
    all_frames = pd.concat([r.frames for r in recordings], ignore_index=True)
    return DatasetMetrics(
        recordings=table,
        macro=table[summary].mean().to_dict(),
        micro=_pooled(all_frames),
    )
