"""Tests for lvwall.experiment.runner: a tiny experiment end to end on a tiny phantom, stopped
after its first fold and resumed; the report agrees with results.json; nothing leaks."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from lvwall.data.phantom import write_dataset
from lvwall.experiment.config import ExperimentConfig
from lvwall.experiment.runner import (
    ExperimentOutcome,
    prepare_experiment,
    run_experiment,
    run_fold,
)
from lvwall.train.run_folder import SPLIT_FILE

#: A few small, short phantom recordings: enough for 2 folds with inner splits.
SMALL_PHANTOM = {"width": 128, "height": 96, "n_frames": 8, "cycle_frames": 6}
N_RECORDINGS = 6

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "phantom"
    write_dataset(out, N_RECORDINGS, seed=0, progress=False, fixed_params=SMALL_PHANTOM)
    return out


@pytest.fixture(scope="module")
def resumed(
    phantom: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExperimentOutcome, dict[Path, int]]:
    """The first fold run on its own (as if the process then died), then ``resume=True``;
    with the modification times of every file the first fold left."""
    out = tmp_path_factory.mktemp("experiment")
    config = ExperimentConfig.from_preset([phantom], "tiny")
    run_fold(prepare_experiment(config, out), 0)
    first_fold = {path: path.stat().st_mtime_ns for path in (out / "runs" / "fold-1").rglob("*")}
    return run_experiment(config, out, resume=True), first_fold


def test_resume_keeps_the_finished_fold_and_completes_the_rest(
    resumed: tuple[ExperimentOutcome, dict[Path, int]],
) -> None:
    outcome, first_fold = resumed

    assert first_fold, "the first fold left no files"
    for path, mtime in first_fold.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was rewritten on resume"
    table = pd.read_csv(outcome.results_csv)
    assert len(table) == 2 * N_RECORDINGS
    assert sorted(table["fold"].unique()) == [1, 2]
    assert table.groupby("loss")["recording"].nunique().to_dict() == {
        "dice": N_RECORDINGS,
        "focal-tversky": N_RECORDINGS,
    }
    for fold in (1, 2):
        for loss in ("dice", "focal-tversky"):
            assert (outcome.out_dir / "runs" / f"fold-{fold}" / loss / "result.json").is_file()


def test_no_run_ever_sees_its_test_fold(resumed: tuple[ExperimentOutcome, dict[Path, int]]) -> None:
    outcome, _ = resumed
    folds = json.loads((outcome.out_dir / "folds.json").read_text(encoding="utf-8"))["folds"]

    for fold in folds:
        test = set(fold["test"])
        splits = list((outcome.out_dir / "runs" / f"fold-{fold['fold']}").rglob(SPLIT_FILE))
        assert len(splits) == 1 + 2  # dice once, focal-tversky per grid point
        for path in splits:
            split = json.loads(path.read_text(encoding="utf-8"))
            assert set(split["train"]) | set(split["val"]) == set(fold["train"])
            assert not (set(split["train"]) | set(split["val"])) & test
    tested = sorted(name for fold in folds for name in fold["test"])
    assert tested == sorted(pd.read_csv(outcome.results_csv)["recording"].unique())


def test_chosen_hyperparameters_are_the_best_inner_candidates(
    resumed: tuple[ExperimentOutcome, dict[Path, int]],
) -> None:
    outcome, _ = resumed
    payload = json.loads(outcome.results_json.read_text(encoding="utf-8"))

    folds = payload["hyperparameters"]["focal-tversky"]
    assert [entry["fold"] for entry in folds] == [1, 2]
    for entry in folds:
        scores = [c["inner_val_dice"] for c in entry["candidates"]]
        assert len(scores) == 2
        best = entry["candidates"][scores.index(max(scores))]
        assert entry["chosen"] == best["loss_kwargs"]
    assert (
        payload["config"] == ExperimentConfig.from_yaml(outcome.out_dir / "config.yaml").to_dict()
    )


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str, str], str] = {}
        self.images: list[str] = []
        self.urls: list[str] = []
        self._key: tuple[str, str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        self.urls += [values[key] for key in ("src", "href") if key in values]
        if tag == "img":
            self.images.append(values["src"])
        if tag == "td" and "data-stat" in values and "data-loss" in values:
            self._key = (values["data-loss"], values["data-metric"], values["data-stat"])
            self.cells[self._key] = ""

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self.cells[self._key] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._key = None


def test_report_shows_the_numbers_of_results_json(
    resumed: tuple[ExperimentOutcome, dict[Path, int]],
) -> None:
    outcome, _ = resumed
    summary = json.loads(outcome.results_json.read_text(encoding="utf-8"))["summary"]
    parser = _Cells()
    parser.feed(outcome.report.read_text(encoding="utf-8"))

    compared = 0
    for loss, metrics in summary.items():
        for metric, expected in metrics.items():
            places = 2 if metric in ("hd95", "assd") else 4
            shown = re.findall(r"-?\d+\.\d+|–", parser.cells[(loss, metric, "mean-sd")])
            shown += re.findall(r"-?\d+\.\d+|–", parser.cells[(loss, metric, "ci")])
            for text, key in zip(shown, ("mean", "std", "ci_low", "ci_high"), strict=True):
                if expected[key] is None:
                    assert text == "–"
                else:
                    assert float(text) == pytest.approx(expected[key], abs=0.5 * 10**-places)
                    compared += 1
    assert compared >= 2 * 9 * 2  # at least mean and SD of every metric and loss


def test_report_opens_offline(resumed: tuple[ExperimentOutcome, dict[Path, int]]) -> None:
    outcome, _ = resumed
    parser = _Cells()
    parser.feed(outcome.report.read_text(encoding="utf-8"))

    assert len(parser.images) >= 7  # cases and cycles per loss, curves, box plots, explain
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            image.load()
            assert image.format == "PNG"
    assert not [url for url in parser.urls if re.match(r"(?i)\s*(https?:)?//", url)]
    assert len(list((outcome.out_dir / "figures").glob("*.png"))) == len(parser.images)


def test_resume_continues_an_interrupted_candidate_from_its_checkpoint(
    phantom: Path, resumed: tuple[ExperimentOutcome, dict[Path, int]]
) -> None:
    """As if killed mid-fold: fold 2's Focal Tversky marker and one candidate's summary are
    gone, its last.ckpt is there. Resuming continues that run and keeps the finished one."""
    outcome, _ = resumed
    loss_dir = outcome.out_dir / "runs" / "fold-2" / "focal-tversky"
    interrupted, finished = sorted(p for p in loss_dir.iterdir() if p.is_dir())
    before = json.loads((loss_dir / "result.json").read_text(encoding="utf-8"))
    (loss_dir / "result.json").unlink()
    (interrupted / "metrics.json").unlink()
    kept = {p: p.stat().st_mtime_ns for p in finished.rglob("*")}

    plan = prepare_experiment(
        ExperimentConfig.from_preset([phantom], "tiny"), outcome.out_dir, resume=True
    )
    (dice, focal_tversky) = run_fold(plan, 1)

    assert (interrupted / "metrics.json").is_file()
    assert (
        len(list((interrupted / "logs").glob("version_*"))) == 2
    )  # the first attempt and the resume
    assert {p: p.stat().st_mtime_ns for p in finished.rglob("*")} == kept
    assert focal_tversky.to_dict()["recordings"] == before["recordings"]
    assert dice.fold == focal_tversky.fold == 2
