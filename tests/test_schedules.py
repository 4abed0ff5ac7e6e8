"""lvwall.train.schedules: the learning-rate schedules by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lvwall.train.schedules import LR_SCHEDULES


@pytest.mark.parametrize(
    ("name", "at_start", "peak_step", "at_end"),
    [
        # OneCycleLR peaks after 30% of the steps, at step 29 of 0..99.
        ("one-cycle", 1e-2 / 25, 29, 1e-2 / 25 / 1e4),
        ("cosine", 1e-2, 0, 1e-2 * (1 + math.cos(math.pi * 99 / 100)) / 2),
    ],
)
def test_schedules(name: str, at_start: float, peak_step: int, at_end: float) -> None:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    scheduler = LR_SCHEDULES[name](optimizer, 1e-2, 100)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(99):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert math.isclose(rates[0], at_start, rel_tol=1e-6)
    assert int(np.argmax(rates)) == peak_step
    assert math.isclose(max(rates), 1e-2, rel_tol=1e-6)
    assert math.isclose(rates[-1], at_end, rel_tol=1e-6)


def test_constant_schedule_has_no_scheduler() -> None:
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    assert LR_SCHEDULES["constant"](optimizer, 1e-3, 10) is None
