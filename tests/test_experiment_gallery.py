"""Tests for lvwall.experiment.gallery: the report's figures from models and results."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import lvwall.experiment.gallery
from lvwall.data.records import SEGMENT_NAMES, LabelledRecording
from lvwall.experiment.figures import select_cases
from lvwall.experiment.gallery import (
    SECTION_CASES,
    SECTION_CURVES,
    SECTION_CYCLE,
    SECTION_EXPLAIN,
    SECTION_METRICS,
    SECTION_REGIONAL,
    study_gallery,
)
from lvwall.experiment.report import ReportContext, render_report
from lvwall.experiment.results import ExperimentResults
from lvwall.metrics import METRIC_NAMES
from lvwall.model import UNet, build_model
from lvwall.quality import FrameQuality
from lvwall.regional import analyse_cycle
from lvwall.regional.schematic import beating_wall
from lvwall.wall import RegionalError

LOSSES = ["dice", "focal-tversky"]

pytestmark = pytest.mark.slow


def _clean_verdicts(frames, probabilities, masks) -> list[FrameQuality]:
    return [FrameQuality(0.9, (), {}) for _ in frames]


@pytest.fixture(autouse=True)
def passing_quality(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic frames here are no echo sectors: quality control would flag them all
    ``not_echo``. The tests of what it changes flag frames themselves."""
    monkeypatch.setattr(lvwall.experiment.gallery, "check_recording", _clean_verdicts)


#: Per-segment MI labels of the A4C-like recordings: SEG9 and SEG14 infarcted.
SEGMENT_MI = dict(zip(SEGMENT_NAMES, (False, True, True, False, False, False), strict=True))


def _ring_masks(size: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    ring = (np.hypot(yy - size / 2, xx - size / 2) > 8) & (
        np.hypot(yy - size / 2, xx - size / 2) < 12
    )
    return np.repeat(ring[None], 5, axis=0).astype(np.uint8)


def _wall_masks() -> np.ndarray:
    """An A4C wall over a cycle whose infarcted segments barely move."""
    motion = [0.2 if SEGMENT_MI[name] else 1.0 for name in SEGMENT_NAMES]
    return beating_wall(motion, n_frames=5).astype(np.uint8)


def _recordings(
    n: int, masks: np.ndarray | None = None, meta: dict | None = None
) -> dict[str, LabelledRecording]:
    rng = np.random.default_rng(0)
    masks = _ring_masks() if masks is None else masks
    return {
        f"R{i}": LabelledRecording(
            f"R{i}",
            f"P{i}",
            (0.3 + 0.5 * masks + 0.1 * rng.random(masks.shape)).astype(np.float32),
            masks,
            meta=dict(meta or {}),
        )
        for i in range(n)
    }


def _threshold_prediction(model: UNet, frames: np.ndarray) -> np.ndarray:
    # The wall is brighter than 0.8 and the background darker than 0.4 (see _recordings):
    # a model that segments them perfectly.
    return frames > 0.6


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


def test_gallery_draws_every_section(model: UNet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lvwall.experiment.gallery, "predict_masks", _threshold_prediction)
    recordings = _recordings(5, _wall_masks(), {"segment_mi": SEGMENT_MI})
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
    assert sections.count(SECTION_REGIONAL) == 4
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

    assert gallery.notes[0] == "Vanilla-gradient saliency skipped: RuntimeError: captum is unhappy"
    assert not [note for note in gallery.notes[1:] if "saliency" in note]
    assert "saliency" not in gallery.stems
    assert {"filters", "feature_maps", "learning_curves"} <= set(gallery.stems)


@pytest.mark.parametrize(
    ("meta", "labels"),
    [
        ({"segment_mi": SEGMENT_MI}, ["MI" if SEGMENT_MI[n] else "no MI" for n in SEGMENT_NAMES]),
        ({}, ["–"] * len(SEGMENT_NAMES)),
    ],
)
def test_regional_section_shows_scores_next_to_mi_labels(
    model: UNet, monkeypatch: pytest.MonkeyPatch, meta: dict, labels: list[str]
) -> None:
    monkeypatch.setattr(lvwall.experiment.gallery, "predict_masks", _threshold_prediction)
    recordings = _recordings(3, _wall_masks(), meta)
    one_loss = ExperimentResults.from_table(
        _results(recordings).table.query("loss == 'dice'"), ["dice"]
    )
    expected = analyse_cycle(_wall_masks())

    gallery = study_gallery(one_loss, recordings, lambda fold, loss: model, _histories())

    regional = [figure for figure in gallery.figures if figure.section == SECTION_REGIONAL]
    stems = [s for s, f in zip(gallery.stems, gallery.figures, strict=True) if f in regional]
    assert stems == ["regional_overlay", "regional_motion", "regional_diagram", "measurements"]
    table = regional[2].table
    assert table is not None
    assert [row[0] for row in table.rows] == list(SEGMENT_NAMES)
    assert [row[-1] for row in table.rows] == labels
    assert [float(row[4]) for row in table.rows] == pytest.approx(expected.scores, rel=1e-2)
    # The still (infarcted) segments score lowest, as the analysis should find.
    lowest = {table.rows[i][0] for i in np.argsort(expected.scores)[:2]}
    assert lowest == {name for name, mi in SEGMENT_MI.items() if mi}
    # The thresholded prediction is the ground truth here: both columns measure alike.
    measured = regional[3].table
    assert measured is not None and measured.rows[0][0] == "EF (%, discs)"
    assert all(row[1] == row[2] for row in measured.rows)

    html = render_report(one_loss, gallery.figures, ReportContext("t", "phantom"))
    section = html.split(f"<h2>{SECTION_REGIONAL}</h2>", 1)[1].split("<h2>", 1)[0]
    sources = re.findall(r'src="data:image/png;base64,([^"]+)"', section)
    assert len(sources) == 4
    for source in sources:
        with Image.open(io.BytesIO(base64.b64decode(source, validate=True))) as image:
            image.load()
            assert image.format == "PNG" and min(image.size) > 100
    assert f'data-table="regional" data-row="SEG9" data-column="MI label">{labels[1]}<' in section


@pytest.mark.parametrize("forced", [True, False])
def test_a_wall_that_cannot_be_split_becomes_a_note(
    model: UNet, monkeypatch: pytest.MonkeyPatch, forced: bool
) -> None:
    if forced:

        def broken(*args: object, **kwargs: object) -> None:
            raise RegionalError("R0", "the wall is broken")

        monkeypatch.setattr(lvwall.experiment.gallery, "analyse_cycle", broken)
    # Otherwise the model, which predicts wall everywhere, leaves no horseshoe to split.
    recordings = _recordings(3)
    one_loss = ExperimentResults.from_table(
        _results(recordings).table.query("loss == 'dice'"), ["dice"]
    )

    gallery = study_gallery(one_loss, recordings, lambda fold, loss: model, _histories())

    regional_notes = [n for n in gallery.notes if n.startswith("Regional wall analysis skipped")]
    assert len(regional_notes) == 1
    # The sentence names the recording and the reason, not a Python class.
    assert regional_notes[0].startswith("Regional wall analysis skipped: R")
    assert "Error" not in regional_notes[0]
    if forced:
        assert regional_notes[0].endswith("R0: the wall is broken")
    assert SECTION_REGIONAL not in {figure.section for figure in gallery.figures}
    assert not [stem for stem in gallery.stems if stem.startswith("regional")]
    html = render_report(
        one_loss, gallery.figures, ReportContext("t", "phantom", notes=gallery.notes)
    )
    assert f"<h2>{SECTION_REGIONAL}</h2>" not in html
    assert "Regional wall analysis skipped" in html


def test_when_the_median_recording_cannot_be_split_the_next_case_is_used(
    model: UNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lvwall.experiment.gallery, "predict_masks", _threshold_prediction)
    recordings = _recordings(3, _wall_masks(), {"segment_mi": SEGMENT_MI})
    one_loss = ExperimentResults.from_table(
        _results(recordings).table.query("loss == 'dice'"), ["dice"]
    )
    median = select_cases(one_loss.table, "dice", "dice")["median"]["recording"]
    tried: list[str] = []

    def fails_on_the_median(masks: np.ndarray, source: str = "masks", **kwargs: object):
        tried.append(source)
        if source.startswith(median):
            raise RegionalError(source, "the wall is broken")
        return analyse_cycle(masks, source=source, **kwargs)

    monkeypatch.setattr(lvwall.experiment.gallery, "analyse_cycle", fails_on_the_median)
    gallery = study_gallery(one_loss, recordings, lambda fold, loss: model, _histories())

    assert len(tried) == 2 and tried[0].startswith(median)
    assert not [n for n in gallery.notes if n.startswith("Regional wall analysis skipped")]
    assert "regional_diagram" in gallery.stems


def test_frames_flagged_by_quality_control_stay_out_of_the_regional_curves(
    model: UNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lvwall.experiment.gallery, "predict_masks", _threshold_prediction)

    def flag_the_third(frames, probabilities, masks) -> list[FrameQuality]:
        verdicts = _clean_verdicts(frames, probabilities, masks)
        verdicts[2] = FrameQuality(0.1, ("jump",), {"jump": "made up"})
        return verdicts

    monkeypatch.setattr(lvwall.experiment.gallery, "check_recording", flag_the_third)
    recordings = _recordings(3, _wall_masks())
    one_loss = ExperimentResults.from_table(
        _results(recordings).table.query("loss == 'dice'"), ["dice"]
    )
    gallery = study_gallery(one_loss, recordings, lambda fold, loss: model, _histories())
    motion = next(
        f for f in gallery.figures if f.section == SECTION_REGIONAL and "motion" in f.title.lower()
    )
    assert "Frames 3 were flagged by quality control" in motion.caption


def test_a_flagged_es_frame_is_said_in_place_of_the_measurements(
    model: UNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the ES frame flagged, the report says why EF and strain are missing, in the
    caption and in each cell, and points to no file the report does not have."""
    monkeypatch.setattr(lvwall.experiment.gallery, "predict_masks", _threshold_prediction)

    def flag_the_es_frame(frames, probabilities, masks) -> list[FrameQuality]:
        verdicts = _clean_verdicts(frames, probabilities, masks)
        verdicts[2] = FrameQuality(0.1, ("low_quality",), {"low_quality": "made up"})
        return verdicts

    monkeypatch.setattr(lvwall.experiment.gallery, "check_recording", flag_the_es_frame)
    recordings = _recordings(3, _wall_masks())
    one_loss = ExperimentResults.from_table(
        _results(recordings).table.query("loss == 'dice'"), ["dice"]
    )
    gallery = study_gallery(one_loss, recordings, lambda fold, loss: model, _histories())
    entry = next(f for f in gallery.figures if f.title == "Volumes, EF and strain")
    assert "are not measured: quality control flagged the ES frame 3" in entry.caption
    assert ".json" not in entry.caption
    cells = {row[0]: row[1] for row in entry.table.rows}
    assert cells["EF (%, discs)"].startswith("not measured: quality control flagged the ES")
    assert all(cell != "n/a" for cell in cells.values())
    # The ground-truth masks carry no flags: their numbers stand beside.
    assert all(row[2][0] in "-0123456789" for row in entry.table.rows)
