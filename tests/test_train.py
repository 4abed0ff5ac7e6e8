"""Training with Lightning on tiny data: outputs, safe checkpoints, resume, DDP, the CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from lvwall.checkpoint import load_model
from lvwall.cli import app
from lvwall.config import TrainConfig
from lvwall.data.records import LabelledRecording
from lvwall.errors import LvwallError
from lvwall.evaluate import evaluate_model
from lvwall.metrics import metrics_from_confusion
from lvwall.train import (
    ConfusionCounts,
    SegmentationDataModule,
    SegmentationModule,
    fit,
    resolve_num_workers,
    resolve_precision,
)
from lvwall.train.run_folder import VAL_METRICS, check_run_dir
from lvwall.train.schedules import LR_SCHEDULES

SIZE = 32
# On the CPU everywhere, so that results do not depend on the machine (bf16 on a GPU).
TINY = {
    "model_overrides": {"widths": [4, 8]},
    "image_size": SIZE,
    "augment": "none",
    "accelerator": "cpu",
}


def tiny_recordings(n: int = 10, frames: int = 4, size: int = SIZE) -> list[LabelledRecording]:
    """Bright rings (the "wall") on a noisy dark background, one patient per recording."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:size, :size]
    recordings = []
    for index in range(n):
        images = np.zeros((frames, size, size), np.float32)
        masks = np.zeros((frames, size, size), np.uint8)
        for frame in range(frames):
            centre = rng.uniform(0.35 * size, 0.65 * size, 2)
            radius = rng.uniform(0.15 * size, 0.25 * size)
            wall = np.abs(np.hypot(rows - centre[0], cols - centre[1]) - radius) <= 0.06 * size
            masks[frame] = wall
            noise = 0.08 * rng.standard_normal((size, size))
            images[frame] = np.clip(0.15 + 0.6 * wall + noise, 0, 1)
        recordings.append(
            LabelledRecording(f"rec{index}", f"patient{index}", images, masks, label=index % 2)
        )
    return recordings


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    """Tiny models train fastest on one thread; more only contend on a shared 2-core CI box."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(**values: Any) -> TrainConfig:
    return TrainConfig(**{**TINY, "epochs": 2, "batch_size": 4, "lr": 1e-2, **values})


def _plain_types_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_types_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_types_only(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[LabelledRecording]]:
    recordings = tiny_recordings()
    result = fit(_config(), tmp_path_factory.mktemp("runs") / "run", recordings=recordings)
    return result, recordings


@pytest.mark.parametrize(
    "name",
    [
        "best.ckpt",
        "last.ckpt",
        "config.yaml",
        "split.json",
        "metrics.csv",
        "metrics.json",
        "learning_curve.png",
    ],
)
def test_run_writes_its_files(two_epoch_run: tuple, name: str) -> None:
    result, _ = two_epoch_run
    path = result.run_dir / name
    assert path.is_file() and path.stat().st_size > 0
    assert not list(result.run_dir.glob(".*.tmp*")), "a temporary file was left behind"


@pytest.mark.parametrize("name", ["best.ckpt", "last.ckpt"])
def test_checkpoints_load_weights_only_with_plain_hyper_parameters(
    two_epoch_run: tuple, name: str
) -> None:
    result, _ = two_epoch_run
    checkpoint = torch.load(result.run_dir / name, weights_only=True)
    assert _plain_types_only(checkpoint["hyper_parameters"])
    assert _plain_types_only(checkpoint["lvwall"])
    assert checkpoint["hyper_parameters"]["model_config"]["widths"] == [4, 8]
    model, meta = load_model(result.run_dir / name)
    assert meta["image_size"] == SIZE
    assert meta["train_config"] == _config().to_dict()
    assert set(meta["metrics"]) == set(VAL_METRICS)


def test_history_summary_and_best_checkpoint_agree(two_epoch_run: tuple) -> None:
    result, _ = two_epoch_run
    history = pd.read_csv(result.run_dir / "metrics.csv")
    assert history["epoch"].tolist() == [0, 1]
    for column in ["train/loss", "val/loss", "lr-AdamW", *(f"val/{m}" for m in VAL_METRICS)]:
        assert history[column].notna().all(), column
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert result.epochs_run == summary["epochs_run"] == 2
    assert math.isclose(result.best_val_dice, history["val/dice"].max(), rel_tol=1e-6)
    assert math.isclose(summary["best_val_dice"], result.best_val_dice, rel_tol=1e-6)
    _, meta = load_model(result.best_checkpoint)
    assert math.isclose(meta["metrics"]["dice"], result.best_val_dice, rel_tol=1e-6)
    assert meta["epoch"] == summary["best_epoch"]


def test_split_is_patient_wise(two_epoch_run: tuple) -> None:
    result, recordings = two_epoch_run
    split = json.loads((result.run_dir / "split.json").read_text())
    patients = {r.name: r.patient for r in recordings}
    train = {patients[name] for name in split["train"]}
    val = {patients[name] for name in split["val"]}
    assert train and val and not train & val
    assert len(split["train"]) + len(split["val"]) == len(recordings)


def test_separate_validation_data_lets_every_recording_train(tmp_path: Path) -> None:
    recordings, others = tiny_recordings(6), tiny_recordings(9)[6:]
    config = _config(val_data=["elsewhere"], epochs=1)
    result = fit(config, tmp_path / "run", recordings=recordings, val_recordings=others)
    split = json.loads((result.run_dir / "split.json").read_text())
    assert split == {"train": [r.name for r in recordings], "val": [r.name for r in others]}
    assert TrainConfig.from_yaml(result.run_dir / "config.yaml").val_data == ["elsewhere"]


def test_validation_data_must_not_share_patients_with_training_data() -> None:
    recordings = tiny_recordings(6)
    with pytest.raises(LvwallError, match=r"shares patients with the training data \(patient4"):
        SegmentationDataModule(recordings, _config(), 0, val_recordings=recordings[4:])


def test_logged_validation_metrics_equal_a_recomputation(two_epoch_run: tuple) -> None:
    """val/* of the last epoch come from pooled counts over the whole validation side."""
    result, recordings = two_epoch_run
    split = json.loads((result.run_dir / "split.json").read_text())
    val = [r for r in recordings if r.name in split["val"]]
    model, _ = load_model(result.last_checkpoint)
    micro = evaluate_model(model, val).micro
    last = pd.read_csv(result.run_dir / "metrics.csv").iloc[-1]
    for name in VAL_METRICS:
        assert math.isclose(last[f"val/{name}"], micro[name], rel_tol=1e-5, abs_tol=1e-6), name


def test_last_checkpoint_holds_the_last_epoch_when_an_earlier_one_was_best(
    tmp_path: Path,
) -> None:
    # Without normalisation and at a vanishing learning rate every epoch scores the same, so
    # the first stays the best.
    config = _config(
        epochs=3,
        patience=None,
        schedule="constant",
        lr=1e-12,
        model_overrides={"widths": [4, 8], "norm": None},
    )
    result = fit(config, tmp_path / "run", recordings=tiny_recordings())
    epochs = {
        name: torch.load(tmp_path / "run" / name, weights_only=True)["epoch"]
        for name in ("best.ckpt", "last.ckpt")
    }
    assert epochs == {"best.ckpt": 0, "last.ckpt": 2}
    assert result.epochs_run == 3


def test_loss_decreases_on_an_easy_task(tmp_path: Path) -> None:
    config = _config(epochs=5, patience=None, schedule="constant", lr=2e-2)
    result = fit(config, tmp_path / "run", recordings=tiny_recordings())
    history = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert history["train/loss"].iloc[-1] < history["train/loss"].iloc[0] - 0.05
    assert history["val/dice"].iloc[-1] > history["val/dice"].iloc[0]
    assert result.best_val_dice > 0.3


def test_resume_continues_from_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    config = _config(epochs=3, patience=None)
    recordings = tiny_recordings()

    def crash_in_epoch_2(self: SegmentationModule, batch: Any, batch_idx: int) -> None:
        if self.current_epoch == 2:
            raise RuntimeError("simulated power cut")

    monkeypatch.setattr(SegmentationModule, "on_train_batch_start", crash_in_epoch_2)
    with pytest.raises(RuntimeError, match="power cut"):
        fit(config, run_dir, recordings=recordings)
    before = torch.load(run_dir / "last.ckpt", weights_only=True)
    assert before["epoch"] == 1
    first_attempt = pd.read_csv(run_dir / "logs" / "version_0" / "metrics.csv")

    monkeypatch.undo()
    result = fit(config, run_dir, resume=True, recordings=recordings)
    after = torch.load(run_dir / "last.ckpt", weights_only=True)
    assert (result.epochs_run, after["epoch"]) == (3, 2)
    assert after["global_step"] == before["global_step"] * 3 // 2
    second_attempt = pd.read_csv(run_dir / "logs" / "version_1" / "metrics.csv")
    assert set(second_attempt["epoch"].dropna().astype(int)) == {2}, "resume restarted training"
    history = pd.read_csv(run_dir / "metrics.csv")
    assert history["epoch"].tolist() == [0, 1, 2]
    kept = first_attempt.groupby("epoch")["val/dice"].max()
    assert np.allclose(history["val/dice"].iloc[:2], kept.loc[[0, 1]])


def test_resume_refuses_a_changed_run(tmp_path: Path) -> None:
    _config(epochs=1).to_yaml(tmp_path / "config.yaml")
    (tmp_path / "last.ckpt").write_bytes(b"never read")
    with pytest.raises(LvwallError, match="lr, seed differ"):
        fit(_config(epochs=1, lr=0.5, seed=4), tmp_path, resume=True)


@pytest.mark.parametrize(
    ("content", "resume", "message"),
    [
        (["result.txt"], False, "already exists and is not empty"),
        ([], True, "nothing to resume"),
        (["config.yaml"], True, "nothing to resume"),
    ],
)
def test_run_dir_checks(tmp_path: Path, content: list[str], resume: bool, message: str) -> None:
    for name in content:
        (tmp_path / name).write_text("x")
    with pytest.raises(LvwallError, match=message) as info:
        check_run_dir(tmp_path, resume)
    assert str(info.value).startswith(str(tmp_path))


@pytest.mark.parametrize("content", [[], None])
def test_run_dir_may_be_new_or_empty(tmp_path: Path, content: list | None) -> None:
    run_dir = tmp_path / "run"
    if content is not None:
        run_dir.mkdir()
    check_run_dir(run_dir, resume=False)


@pytest.mark.parametrize(
    ("values", "precision", "workers"),
    [
        ({"accelerator": "cpu"}, "32", 0),
        ({"accelerator": "cpu", "precision": "bf16-mixed", "num_workers": 3}, "bf16-mixed", 3),
        ({"accelerator": "cpu", "precision": "16-mixed"}, "16-mixed", 0),
    ],
)
def test_precision_and_workers_resolve(values: dict, precision: str, workers: int) -> None:
    config = TrainConfig(**values)
    assert resolve_precision(config) == precision
    assert resolve_num_workers(config) == workers


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


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_synchronises_validation(tmp_path: Path) -> None:
    """Two ranks on gloo, launched as by ``lvwall train --strategy ddp``: each validates half
    the frames, and the confusion counts are summed over the ranks."""
    scenario = Path(__file__).with_name("ddp_scenario.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(scenario.parent)}
    done = subprocess.run(
        [sys.executable, str(scenario), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())

    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    val_pixels = len(split["val"]) * 4 * SIZE * SIZE
    for rank, report in enumerate(reports):
        assert (report["rank"], report["world_size"], report["backend"]) == (rank, 2, "gloo")
        assert report["local_pixels"] == val_pixels // 2, "each rank validates half the frames"
        assert report["synced_pixels"] == val_pixels, "counts were not summed over ranks"
    assert reports[0]["dice"] == reports[1]["dice"]
    last = pd.read_csv(tmp_path / "run" / "metrics.csv").iloc[-1]
    assert math.isclose(last["val/dice"], reports[0]["dice"], rel_tol=1e-6)
    assert result["epochs_run"] == 2
    assert torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)["epoch"] == 1


runner = CliRunner()


def test_cli_rejects_a_missing_data_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, ["train", "--data", str(missing), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert f"{missing}: does not exist" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_cli_rejects_an_existing_run_dir(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "best.ckpt").write_text("earlier result")
    data = tmp_path / "data"
    data.mkdir()
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(run_dir)])
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.output
    assert (run_dir / "best.ckpt").read_text() == "earlier result"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--loss", "mse"], "loss must be one of"),
        (["--devices", "many"], "--devices must be a number"),
        (["--fold", "7"], "fold must be in 0..4"),
        (["--swa-start", "1.5"], "swa_start must be a fraction in [0, 1)"),
        (["--fold", "1", "--val-data", "."], "val_data and fold exclude each other"),
        (["--val-data", "/no/such/folder"], "/no/such/folder: does not exist"),
    ],
)
def test_cli_reports_bad_settings(tmp_path: Path, flags: list[str], message: str) -> None:
    result = runner.invoke(
        app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), *flags]
    )
    assert result.exit_code == 1
    assert message in result.output


def test_cli_sets_the_torch_threads(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    try:
        runner.invoke(
            app,
            [
                "train",
                "--data",
                str(tmp_path),
                "--out",
                str(tmp_path / "r"),
                "--threads",
                str(wanted),
            ],
        )
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)


def test_cli_refuses_zero_threads(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--threads", "0"]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_reports_hardware_lightning_cannot_use_before_reading_data(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--data", str(tmp_path), "--accelerator", "gpu", "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 1
    assert "Lightning cannot run these hardware settings" in result.output
    assert "Traceback" not in result.output


def test_cli_trains_on_a_dataset_folder(tmp_path: Path, camus_dev_dir: Path) -> None:
    config = tmp_path / "tiny.yaml"
    _config(epochs=1, frames_per_epoch=8, batch_size=4).to_yaml(config)
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--config",
            str(config),
            "--data",
            str(camus_dev_dir),
            "--loss",
            "focal-tversky",
            "--alpha",
            "0.3",
            "--beta",
            "0.7",
            "--gamma",
            "0.75",
            "--out",
            str(run_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "best val Dice" in result.output
    saved = TrainConfig.from_yaml(run_dir / "config.yaml")
    assert saved.loss == "focal-tversky"
    assert saved.loss_kwargs == {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}
    assert saved.data == [str(camus_dev_dir.resolve())]
    assert (run_dir / "best.ckpt").is_file() and (run_dir / "last.ckpt").is_file()


def test_swa_checkpoints_hold_the_average(tmp_path: Path) -> None:
    config = _config(epochs=3, patience=None, swa_start=0.34)
    fit(config, tmp_path / "run", recordings=tiny_recordings())
    saved = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    averaged, current = saved["state_dict"], saved["current_model_state"]
    model, _ = load_model(tmp_path / "run" / "last.ckpt")
    loaded = model.state_dict()
    weight = next(name for name in loaded if name.endswith("weight"))
    assert torch.equal(loaded[weight], averaged[f"model.{weight}"])
    assert not torch.equal(averaged[f"model.{weight}"], current[f"model.{weight}"])


@pytest.mark.gpu
def test_fit_on_cuda_trains_in_bf16_channels_last_with_weight_averaging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []
    use_channels_last = SegmentationModule.use_channels_last

    def spy(self: SegmentationModule) -> None:
        calls.append(True)
        use_channels_last(self)

    monkeypatch.setattr(SegmentationModule, "use_channels_last", spy)
    config = _config(
        epochs=5, patience=None, schedule="constant", lr=2e-2, accelerator="cuda", swa_start=0.4
    )
    assert resolve_precision(config) == "bf16-mixed"
    result = fit(config, tmp_path / "run", recordings=tiny_recordings())
    assert calls == [True]
    history = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert history["train/loss"].iloc[-1] < history["train/loss"].iloc[0] - 0.05
    assert result.best_val_dice > 0.3
    network, _ = load_model(result.best_checkpoint)  # saved from the GPU, read on the CPU
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in network.parameters())
