"""`lvwall train` as a user types it: data checks, settings, threads, hardware."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.config import TrainConfig
from lvwall.data.phantom import write_dataset
from tiny_training import tiny_config

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
    tiny_config(epochs=1, frames_per_epoch=8, batch_size=4).to_yaml(config)
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


@pytest.mark.slow
def test_training_on_a_phantom_shows_no_lightning_chatter(tmp_path: Path) -> None:
    """Lightning's device banners and "Tip: ... litlogger" never reach an lvwall user."""
    data = tmp_path / "phantom"
    small = {"width": 96, "height": 72, "n_frames": 8, "cycle_frames": 6}
    write_dataset(data, 4, seed=0, progress=False, fixed_params=small)
    config = tmp_path / "tiny.yaml"
    tiny_config(epochs=1, frames_per_epoch=4, batch_size=2).to_yaml(config)
    lvwall = Path(sys.executable).parent / "lvwall"
    command = [str(lvwall), "train", "--config", str(config), "--data", str(data)]
    command += ["--fold", "0", "--folds", "2", "--threads", "1", "--out", str(tmp_path / "run")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "best val Dice" in output
    for chatter in ("Tip:", "litlogger", "GPU available", "TPU available", "Traceback"):
        assert chatter not in output, output
