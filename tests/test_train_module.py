"""lvwall.train.module: validation metrics pooled exactly over batches."""

from __future__ import annotations

import math

import pytest
import torch

from lvwall.metrics import metrics_from_confusion
from lvwall.train import (
    ConfusionCounts,
)


@pytest.mark.parametrize("split_at", [1, 3, 5])
def test_confusion_counts_pool_over_batches(split_at: int) -> None:
    generator = torch.Generator().manual_seed(split_at)
    pred = torch.rand(6, 1, 8, 8, generator=generator) > 0.5
    target = torch.rand(6, 1, 8, 8, generator=generator) > 0.6
    counts = ConfusionCounts()
    counts.update(pred[:split_at], target[:split_at])
    counts.update(pred[split_at:], target[split_at:])
    tp = (pred & target).sum()
    fp = (pred & ~target).sum()
    fn = (~pred & target).sum()
    tn = (~pred & ~target).sum()
    expected = metrics_from_confusion(tp, fp, fn, tn)
    for name, value in counts.compute().items():
        assert math.isclose(float(value), float(expected[name]), rel_tol=1e-12), name
