"""`lvwall train` as a user types it: data checks, settings, threads, hardware."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data.phantom import write_dataset
from lvwall.train.config import TrainConfig
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
        (["--auxiliary", "cavity,ventricle"], "auxiliary structures must be among"),
        (["--deep-supervision", "5"], "deep_supervision must be at most 4 for a 6-level U-Net"),
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
    # Not a terminal: plain progress lines, one at least per epoch, with the time left.
    assert "epoch 1/1: done" in output and "left" in output
    chatter = ("Tip:", "litlogger", "GPU available", "TPU available", "Traceback")
    # Third-party warnings (scikit-learn's small-class split, Lightning's LeafSpec and
    # checkpoint-folder notes) mean nothing to an lvwall user either.
    warnings = ("Warning", "least populated class", "LeafSpec", "dirpath has changed")
    for text in (*chatter, *warnings):
        assert text not in output, output


def _camus_folder(root: Path, patients: range, views: tuple[str, ...]) -> Path:
    """A CAMUS PNG folder: ED and ES of ``views`` for each patient, a bright band as wall."""
    import cv2
    import numpy as np
    import pandas as pd

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for number in patients:
        for view in views:
            for phase in ("ED", "ES"):
                name = f"patient{number:04d}_{view}_{phase}.png"
                labels = np.zeros((32, 32), np.uint8)
                labels[8:24, 10 + number % 4 : 14 + number % 4] = 2
                cv2.imwrite(str(root / "images" / name), 40 + 150 * (labels == 2).astype(np.uint8))
                cv2.imwrite(str(root / "masks" / name), labels)
                rows.append(
                    (f"patient{number:04d}", view, phase, f"images/{name}", f"masks/{name}")
                )
    columns = ["patient", "view", "phase", "image", "mask"]
    pd.DataFrame(rows, columns=columns).to_csv(root / "manifest.csv", index=False)
    return root


@pytest.mark.parametrize(
    ("views", "trained_views"), [([], {"4CH", "2CH"}), (["--view", "a2c"], {"2CH"})]
)
def test_cli_trains_on_two_folders_without_sharing_a_patient(
    tmp_path: Path, views: list[str], trained_views: set[str]
) -> None:
    import json

    two_view = _camus_folder(tmp_path / "two-view", range(1, 11), ("4CH", "2CH"))
    a4c_copies = _camus_folder(tmp_path / "a4c", range(1, 7), ("4CH",))
    config = tmp_path / "tiny.yaml"
    tiny_config(epochs=1, frames_per_epoch=8, batch_size=4).to_yaml(config)
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app,
        ["train", "--config", str(config), "--data", str(two_view), "--data", str(a4c_copies)]
        + views
        + ["--out", str(run_dir)],
    )
    assert result.exit_code == 0, result.output
    split = json.loads((run_dir / "split.json").read_text())
    patients = {side: {name.split("_")[0] for name in names} for side, names in split.items()}
    assert patients["train"] and patients["val"]
    assert not patients["train"] & patients["val"]
    names = split["train"] + split["val"]
    assert {name.split("_")[1].split("@")[0] for name in names} == trained_views
    if "4CH" in trained_views:
        assert sum(name.endswith("@a4c") for name in names) == 6
    saved = TrainConfig.from_yaml(run_dir / "config.yaml")
    assert saved.views == (["A2C"] if views else ["A4C", "A2C"])


def test_cli_rejects_an_unknown_view(tmp_path: Path) -> None:
    data = _camus_folder(tmp_path / "data", range(1, 3), ("4CH",))
    result = runner.invoke(
        app, ["train", "--data", str(data), "--view", "plax", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code != 0
    assert "views must be among ['A4C', 'A2C']" in result.output
    assert "Traceback" not in result.output


def test_cli_learns_structures_beside_the_wall_from_camus_label_maps(tmp_path: Path) -> None:
    data = _camus_folder(tmp_path / "data", range(1, 9), ("4CH",))
    config = tmp_path / "tiny.yaml"
    tiny_config(epochs=1, frames_per_epoch=8, batch_size=4).to_yaml(config)
    arguments = ["train", "--config", str(config), "--data", str(data), "--fold", "0"]
    result = runner.invoke(
        app, [*arguments, "--auxiliary", "cavity,atrium", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    saved = TrainConfig.from_yaml(tmp_path / "run" / "config.yaml")
    assert saved.auxiliary == ["cavity", "atrium"]


def test_cli_says_phantom_recordings_have_no_label_maps(tmp_path: Path) -> None:
    from lvwall.data.phantom import write_dataset

    data = tmp_path / "phantom"
    small = {"width": 128, "height": 96, "n_frames": 8, "cycle_frames": 6}
    write_dataset(data, 4, seed=0, progress=False, fixed_params=small)
    config = tmp_path / "tiny.yaml"
    tiny_config(epochs=1).to_yaml(config)
    result = runner.invoke(
        app,
        ["train", "--config", str(config), "--data", str(data), "--auxiliary", "cavity"]
        + ["--out", str(tmp_path / "run")],
    )
    assert result.exit_code != 0
    assert "hold wall masks only" in result.output
    assert "Traceback" not in result.output
