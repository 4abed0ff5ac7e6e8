"""Tests for lvwall.experiment.gallery: the report's figures from models and results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import lvwall.experiment.gallery
from lvwall.data.records import LabelledRecording
from lvwall.experiment.gallery import (
    SECTION_CASES,
    SECTION_CURVES,
    SECTION_CYCLE,
    SECTION_EXPLAIN,
    SECTION_METRICS,
    study_gallery,
)
from lvwall.experiment.results import ExperimentResults
from lvwall.metrics import METRIC_NAMES
from lvwall.model import UNet, build_model

LOSSES = ["dice", "focal-tversky"]

pytestmark = pytest.mark.slow


def _recordings(n: int, size: int = 32) -> dict[str, LabelledRecording]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    ring = (np.hypot(yy - size / 2, xx - size / 2) > 8) & (
        np.hypot(yy - size / 2, xx - size / 2) < 12
    )
    masks = np.repeat(ring[None], 5, axis=0).astype(np.uint8)
    return {
        f"R{i}": LabelledRecording(
            f"R{i}",
            f"P{i}",
            (0.3 + 0.5 * masks + 0.1 * rng.random(masks.shape)).astype(np.float32),
            masks,
        )
        for i in range(n)
    }


def _results(recordings: dict[str, LabelledRecording]) -> ExperimentResults:
    rng = np.random.default_rng(1)
    rows = [
        {
            "recording": name,
            "patient": recording.patient,
            "mi": 0,
            "fold": i % 2 + 1,
            "loss": loss,
            "n_frames": len(recording),
            **{metric: rng.uniform(0.4, 0.9) for metric in METRIC_NAMES},
        }
        for i, (name, recording) in enumerate(recordings.items())
        for loss in LOSSES
    ]
    return ExperimentResults.from_table(pd.DataFrame(rows), LOSSES)


@pytest.fixture(scope="module")
def model() -> UNet:
    torch.manual_seed(0)
    model = build_model("fast", widths=(4, 8))
    with torch.no_grad():
        model.head.bias.fill_(4.0)  # predicts wall everywhere: a non-empty region to explain
    return model.eval()


def _histories() -> dict[str, dict[int, pd.DataFrame]]:
    history = pd.DataFrame({"epoch": [0, 1], "train/loss": [0.9, 0.5], "val/dice": [0.4, 0.7]})
    return {loss: {1: history, 2: history} for loss in LOSSES}


def test_gallery_draws_every_section(model: UNet) -> None:
    recordings = _recordings(5)
    asked: list[tuple[int, str]] = []

    def model_for(fold: int, loss: str) -> UNet:
        asked.append((fold, loss))
        return model

    gallery = study_gallery(_results(recordings), recordings, model_for, _histories())

    sections = [figure.section for figure in gallery.figures]
    assert sections.count(SECTION_CASES) == len(LOSSES)
    assert sections.count(SECTION_CYCLE) == len(LOSSES)
    assert sections.count(SECTION_CURVES) == 1
    assert sections.count(SECTION_METRICS) == 1
    assert sections.count(SECTION_EXPLAIN) == 3
    assert gallery.notes == []
    assert len(gallery.stems) == len(set(gallery.stems)) == len(gallery.figures)
    assert all(figure.png.startswith(b"\x89PNG") for figure in gallery.figures)
    assert {loss for _, loss in asked} == set(LOSSES)
    assert {fold for fold, _ in asked} <= {1, 2}


def test_a_failing_explanation_becomes_a_note(model: UNet, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("captum is unhappy")

    monkeypatch.setattr(lvwall.experiment.gallery, "explain_frame", broken)
    recordings = _recordings(3)
    one_loss = ExperimentResults.from_table(
        _results(recordings).table.query("loss == 'dice'"), ["dice"]
    )

    gallery = study_gallery(one_loss, recordings, lambda fold, loss: model, _histories())

    assert gallery.notes == ["Vanilla-gradient saliency skipped: RuntimeError: captum is unhappy"]
    assert "saliency" not in gallery.stems
    assert {"filters", "feature_maps", "learning_curves"} <= set(gallery.stems)
