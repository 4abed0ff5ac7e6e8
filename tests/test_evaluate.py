"""evaluate_model against a direct NumPy recomputation, the saved files, and the CLI."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data.phantom import write_dataset
from lvwall.data.records import LabelledRecording
from lvwall.experiment.evaluate import evaluate_model, predict_masks
from lvwall.metrics import METRIC_NAMES, OVERLAP_METRICS, frame_metrics
from lvwall.model import UNet, UNetConfig
from lvwall.model.checkpoint import save_model

SIZE = 32


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_model(seed: int = 0) -> UNet:
    """A seeded untrained U-Net with its head rescaled so that its logits on noise frames have
    median 0 and spread 2: thresholds 0.3 to 0.7 then all cut through the predictions."""
    torch.manual_seed(seed)
    model = UNet(UNetConfig(in_channels=1, widths=(4, 8), norm=None)).eval()
    with torch.no_grad():
        frames = torch.rand(8, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))
        logits = model(frames)
        model.head.weight *= 2.0 / logits.std()
        model.head.bias.mul_(2.0 / logits.std())
        model.head.bias -= model(frames).median()
    return model


def recordings(n: int = 3, frames: int = 3, spacing: bool = False) -> list[LabelledRecording]:
    rng = np.random.default_rng(1)
    out = []
    for index in range(n):
        images = rng.random((frames, SIZE, SIZE), dtype=np.float32)
        masks = (rng.random((frames, SIZE, SIZE)) < 0.3).astype(np.uint8)
        meta = {"pixel_spacing_mm": (0.5, 0.25)} if spacing else {}
        out.append(LabelledRecording(f"rec{index}", f"p{index}", images, masks, meta=meta))
    return out


def direct_overlap(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Dice, IoU, accuracy, precision, recall, F1, specificity from their definitions."""
    tp = float(np.sum(pred & target))
    fp = float(np.sum(pred & ~target))
    fn = float(np.sum(~pred & target))
    tn = float(np.sum(~pred & ~target))
    dice = 2 * tp / (2 * tp + fp + fn)
    return {
        "dice": dice,
        "iou": tp / (tp + fp + fn),
        "accuracy": (tp + tn) / (tp + fp + fn + tn),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": dice,
        "specificity": tn / (tn + fp),
    }


def direct_predictions(model: UNet, frames: np.ndarray, threshold: float) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.from_numpy(frames)[:, None])
    return (torch.sigmoid(logits)[:, 0] > threshold).numpy()


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_overlap_metrics_equal_a_direct_recomputation(threshold: float) -> None:
    model, data = tiny_model(), recordings()
    result = evaluate_model(model, data, threshold=threshold, batch_size=2)
    all_pred, all_target, means = [], [], []
    for recording in data:
        pred = direct_predictions(model, recording.frames, threshold)
        target = recording.masks.astype(bool)
        assert 0 < pred.mean() < 1, "the test model must predict some wall and some background"
        per_frame = pd.DataFrame([direct_overlap(p, t) for p, t in zip(pred, target, strict=True)])
        row = result.metrics.recordings.loc[recording.name]
        assert row["n_frames"] == len(recording)
        for name in OVERLAP_METRICS:
            assert math.isclose(row[name], per_frame[name].mean(), rel_tol=1e-9), name
        pooled = direct_overlap(pred, target)
        for name in OVERLAP_METRICS:
            assert math.isclose(row[f"pooled_{name}"], pooled[name], rel_tol=1e-9), name
        means.append(per_frame.mean())
        all_pred.append(pred)
        all_target.append(target)
    micro = direct_overlap(np.concatenate(all_pred), np.concatenate(all_target))
    macro = pd.DataFrame(means).mean()
    for name in OVERLAP_METRICS:
        assert math.isclose(result.micro[name], micro[name], rel_tol=1e-9), name
        assert math.isclose(result.macro[name], macro[name], rel_tol=1e-9), name
    assert result.threshold == threshold


def test_boundary_metrics_are_frame_means() -> None:
    model, data = tiny_model(seed=2), recordings(n=2)
    result = evaluate_model(model, data)
    for recording in data:
        pred = direct_predictions(model, recording.frames, 0.5)
        frames = [frame_metrics(p, t) for p, t in zip(pred, recording.masks, strict=True)]
        for name in ("hd95", "assd"):
            expected = np.nanmean([frame[name] for frame in frames])
            assert math.isclose(result.metrics.recordings.loc[recording.name, name], expected)


@pytest.mark.parametrize(("spacing", "has_mm"), [(True, True), (False, False)])
def test_mm_distances_only_when_every_recording_has_a_spacing(spacing: bool, has_mm: bool) -> None:
    result = evaluate_model(tiny_model(), recordings(n=2, spacing=spacing))
    assert ("hd95_mm" in result.macro) is has_mm
    assert ("assd_mm" in result.micro) is has_mm


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_predictions_do_not_depend_on_batch_size(batch_size: int) -> None:
    model, frames = tiny_model(), recordings(n=1, frames=5)[0].frames
    expected = direct_predictions(model, frames, 0.5)
    assert np.array_equal(predict_masks(model, frames, 0.5, batch_size), expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"recordings": []}, "recordings is empty"),
        ({"threshold": 0.0}, "threshold must lie in"),
        ({"threshold": 1.0}, "threshold must lie in"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    arguments = {"model": tiny_model(), "recordings": recordings(n=1), **kwargs}
    with pytest.raises(ValueError, match=message):
        evaluate_model(**arguments)


def test_save_writes_csv_and_json_with_every_metric(tmp_path: Path) -> None:
    data = recordings()
    # An empty reference frame predicted non-empty has no HD95: NaN in the CSV, null in JSON.
    data[0].masks[0] = 0
    result = evaluate_model(tiny_model(), data, threshold=0.4)
    csv_path, json_path = result.save(tmp_path / "eval", checkpoint=Path("/runs/a/best.ckpt"))
    table = pd.read_csv(csv_path, index_col="recording")
    assert table.index.tolist() == [r.name for r in data]
    for name in METRIC_NAMES:
        assert name in table.columns
        assert np.allclose(table[name], result.metrics.recordings[name], equal_nan=True)
    payload = json.loads(json_path.read_text())
    assert payload["threshold"] == 0.4
    assert payload["checkpoint"] == "/runs/a/best.ckpt"
    assert (payload["n_recordings"], payload["n_frames"]) == (3, 9)
    assert set(METRIC_NAMES) <= set(payload["macro"]) and set(METRIC_NAMES) <= set(payload["micro"])
    assert payload["micro"]["dice"] == pytest.approx(result.micro["dice"])
    assert set(payload["recordings"]) == {r.name for r in data}
    assert not list((tmp_path / "eval").glob(".*"))


runner = CliRunner()


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    return save_model(tmp_path / "model.safetensors", tiny_model(), {"image_size": SIZE})


def test_cli_evaluates_a_fold_and_writes_files(
    tmp_path: Path, tiny_checkpoint: Path, camus_dev_dir: Path
) -> None:
    out = tmp_path / "eval"
    result = runner.invoke(
        app,
        ["evaluate", str(tiny_checkpoint), "--data", str(camus_dev_dir), "--fold", "1",
         "--folds", "5", "--threshold", "0.6", "--out", str(out)],
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "Dice" in line)
    for title in ("Recording", "Frames", "IoU", "Acc", "Prec", "Rec", "F1", "Spec", "HD95", "ASSD"):
        assert title in header
    assert "macro" in result.output and "micro" in result.output
    payload = json.loads((out / "metrics.json").read_text())
    assert (payload["fold"], payload["folds"], payload["threshold"]) == (1, 5, 0.6)
    assert payload["checkpoint"] == str(tiny_checkpoint.resolve())
    table = pd.read_csv(out / "metrics.csv")
    assert len(table) == payload["n_recordings"]
    # A fifth of the 92 patients, give or take the stratification.
    assert 10 <= payload["n_recordings"] <= 30
    # Every frame's quality score against its Dice, and the agreement of the two.
    frames = pd.read_csv(out / "quality.csv", keep_default_na=False)
    assert list(frames.columns) == ["recording", "frame", "dice", "quality", "flags"]
    assert len(frames) == payload["n_frames"]
    assert frames["quality"].between(0, 1).all()
    agreement = payload["quality_agreement"]
    assert set(agreement) == {"n", "n_failed", "mae", "spearman", "auroc"}
    assert agreement["mae"] == pytest.approx(
        (frames["quality"] - frames["dice"]).abs().mean(), abs=1e-3
    )
    assert "quality score against the real Dice" in result.output


def test_cli_rejects_a_junk_checkpoint(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x00\x01 definitely not a model")
    result = runner.invoke(app, ["evaluate", str(junk), "--data", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{junk}: is neither an lvwall model file nor a Lightning checkpoint" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--data", "MISSING"], "MISSING: does not exist"),
        (["--data", ".", "--threshold", "1.5"], "--threshold must lie strictly between 0 and 1"),
        (["--data", ".", "--fold", "5"], "--fold must be in 0..4"),
    ],
)
def test_cli_reports_bad_arguments(
    tmp_path: Path, tiny_checkpoint: Path, flags: list[str], message: str
) -> None:
    flags = [str(tmp_path / "MISSING") if flag == "MISSING" else flag for flag in flags]
    result = runner.invoke(app, ["evaluate", str(tiny_checkpoint), *flags])
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize(
    ("spearman", "warned"), [(0.62, False), (0.30, False), (0.12, True), (-0.43, True)]
)
def test_quality_line_warns_when_the_score_ranks_frames_poorly(
    spearman: float, warned: bool
) -> None:
    from types import SimpleNamespace

    from lvwall.commands.evaluate import quality_line

    agreement = {"n": 40, "mae": 0.05, "spearman": spearman, "auroc": 0.7, "n_failed": 6}
    line = quality_line(SimpleNamespace(quality=agreement))
    assert f"Spearman {spearman:.3f}" in line
    assert ("ranks these frames poorly" in line) is warned


def test_cli_output_reads_whole_in_80_columns(tmp_path: Path, tiny_checkpoint: Path) -> None:
    """A narrow terminal or a log gets plain lines: every number whole, nothing cut."""
    data = tmp_path / "phantom"
    tiny = {"width": 96, "height": 64, "n_frames": 6, "cycle_frames": 5, "first_ed_frame": 1}
    write_dataset(data, 3, seed=2, progress=False, fixed_params=tiny)
    result = runner.invoke(app, ["evaluate", str(tiny_checkpoint), "--data", str(data)],
                           env={"COLUMNS": "80"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    lines = result.output.splitlines()
    macro = next(line for line in lines if line.startswith("macro ("))
    assert re.search(r"Dice \d\.\d{3}, IoU \d\.\d{3}", macro)
    assert sum(line.startswith("PH000") for line in lines) == 3
    said = " ".join(result.output.split())
    assert "note: the quality score was fitted for the bundled model, not this one" in said
