"""lvwall.train.fit: one run into a run folder, resumable, on a CPU, on two DDP processes, on
CUDA."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from lvwall.data.records import LabelledRecording
from lvwall.errors import LvwallError
from lvwall.experiment.evaluate import evaluate_model
from lvwall.model.checkpoint import load_model
from lvwall.train import (
    SegmentationModule,
    fit,
    resolve_num_workers,
    resolve_precision,
)
from lvwall.train.config import TrainConfig
from lvwall.train.run_folder import VAL_METRICS
from tiny_training import SIZE, tiny_config, tiny_recordings, with_structures


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    """Tiny models train fastest on one thread; more only contend on a shared 2-core CI box."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _plain_types_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_types_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_types_only(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[LabelledRecording]]:
    recordings = tiny_recordings()
    result = fit(tiny_config(), tmp_path_factory.mktemp("runs") / "run", recordings=recordings)
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
    assert meta["train_config"] == tiny_config().to_dict()
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
    config = tiny_config(val_data=["elsewhere"], epochs=1)
    result = fit(config, tmp_path / "run", recordings=recordings, val_recordings=others)
    split = json.loads((result.run_dir / "split.json").read_text())
    assert split == {"train": [r.name for r in recordings], "val": [r.name for r in others]}
    assert TrainConfig.from_yaml(result.run_dir / "config.yaml").val_data == ["elsewhere"]


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
    config = tiny_config(
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
    config = tiny_config(epochs=5, patience=None, schedule="constant", lr=2e-2)
    result = fit(config, tmp_path / "run", recordings=tiny_recordings())
    history = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert history["train/loss"].iloc[-1] < history["train/loss"].iloc[0] - 0.05
    assert history["val/dice"].iloc[-1] > history["val/dice"].iloc[0]
    assert result.best_val_dice > 0.3


def test_resume_continues_from_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    config = tiny_config(epochs=3, patience=None)
    recordings = tiny_recordings()

    def crash_in_epoch_2(self: SegmentationModule, batch: Any, batch_idx: int) -> None:
        if self.current_epoch == 2:
            raise RuntimeError("simulated power cut")

    monkeypatch.setattr(SegmentationModule, "on_train_batch_start", crash_in_epoch_2)
    with pytest.raises(RuntimeError, match="power cut"):
        fit(config, run_dir, recordings=recordings)
    before = torch.load(run_dir / "last.ckpt", weights_only=True)
    assert before["epoch"] == 1
    first_seconds = before["lvwall"]["train_seconds"]
    assert first_seconds > 0
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
    # The summary's time covers both attempts, not only the resumed one.
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["seconds"] == round(after["lvwall"]["train_seconds"], 2)
    assert after["lvwall"]["train_seconds"] > first_seconds


def test_resume_refuses_a_changed_run(tmp_path: Path) -> None:
    tiny_config(epochs=1).to_yaml(tmp_path / "config.yaml")
    (tmp_path / "last.ckpt").write_bytes(b"never read")
    with pytest.raises(LvwallError, match="lr, seed differ"):
        fit(tiny_config(epochs=1, lr=0.5, seed=4), tmp_path, resume=True)


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


def test_swa_checkpoints_hold_the_average(tmp_path: Path) -> None:
    config = tiny_config(epochs=3, patience=None, swa_start=0.34)
    fit(config, tmp_path / "run", recordings=tiny_recordings())
    saved = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    averaged, current = saved["state_dict"], saved["current_model_state"]
    model, _ = load_model(tmp_path / "run" / "last.ckpt")
    loaded = model.state_dict()
    weight = next(name for name in loaded if name.endswith("weight"))
    assert torch.equal(loaded[weight], averaged[f"model.{weight}"])
    assert not torch.equal(averaged[f"model.{weight}"], current[f"model.{weight}"])


def test_auxiliary_structures_train_a_head_that_the_saved_model_leaves_out(
    tmp_path: Path,
) -> None:
    config = tiny_config(auxiliary=["cavity", "atrium"], swa_start=0.5)
    fit(config, tmp_path / "run", recordings=with_structures(tiny_recordings()))
    saved = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)["state_dict"]
    model, meta = load_model(tmp_path / "run" / "last.ckpt")

    assert saved["auxiliary_head.weight"].shape == (2, config.model_overrides["widths"][0], 1, 1)
    assert not any(name.startswith("auxiliary") for name in model.state_dict())
    assert model(torch.zeros(2, 1, SIZE, SIZE)).shape == (2, 1, SIZE, SIZE)
    assert meta["train_config"]["auxiliary"] == ["cavity", "atrium"]


def test_last_level_loss_is_the_mean_over_the_wall_and_each_structure() -> None:
    from lvwall.model import build_model
    from lvwall.train.module import SegmentationModule

    config = tiny_config(auxiliary=["cavity", "atrium"], loss="dice-bce")
    module = SegmentationModule(config, build_model(config.preset, **config.model_overrides))
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, SIZE, SIZE, generator=generator)
    targets = (torch.rand(3, 3, SIZE, SIZE, generator=generator) > 0.5).float()
    batch = {"image": images, "mask": targets[:, :1], "auxiliary": targets[:, 1:]}
    auxiliary = module.auxiliary_head(module.model.features(images))
    expected = (
        module.loss(module(images), targets[:, :1])
        + module.loss(auxiliary[:, :1], targets[:, 1:2])
        + module.loss(auxiliary[:, 1:], targets[:, 2:])
    ) / 3

    torch.testing.assert_close(module.training_loss(batch), expected)


DEEP = {"model_overrides": {"widths": [4, 8, 16, 32]}}


@pytest.mark.parametrize("levels", [1, 2])
def test_deep_supervision_weighs_each_level_half_the_one_below_on_area_averaged_masks(
    levels: int,
) -> None:
    from lvwall.model import build_model
    from lvwall.train.module import SegmentationModule

    config = tiny_config(**DEEP, deep_supervision=levels, loss="dice-bce")
    module = SegmentationModule(config, build_model(config.preset, **config.model_overrides))
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, SIZE, SIZE, generator=generator)
    masks = (torch.rand(3, 1, SIZE, SIZE, generator=generator) > 0.5).float()
    features = module.model.decoder_features(images)
    # Level 1: 16x16 logits against the wall's share of each 2x2 block; level 2: 8x8, 4x4.
    blocks = [masks] + [
        masks.reshape(3, 1, SIZE // 2**i, 2**i, SIZE // 2**i, 2**i).mean(dim=(3, 5))
        for i in range(1, levels + 1)
    ]
    logits = [module(images)] + [
        module.deep_heads[i - 1](features[-1 - i]) for i in range(1, levels + 1)
    ]
    weights = [1.0, 0.5, 0.25][: levels + 1]
    expected = sum(
        weight * module.loss(logit, block)
        for weight, logit, block in zip(weights, logits, blocks, strict=True)
    )

    torch.testing.assert_close(
        module.training_loss({"image": images, "mask": masks}), expected / sum(weights)
    )
    assert [head.in_channels for head in module.deep_heads] == [8, 16][:levels]


def test_deep_supervision_heads_train_but_the_saved_model_leaves_them_out(tmp_path: Path) -> None:
    config = tiny_config(**DEEP, deep_supervision=2, swa_start=0.5)
    fit(config, tmp_path / "run", recordings=tiny_recordings())
    saved = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)["state_dict"]
    model, meta = load_model(tmp_path / "run" / "last.ckpt")

    assert saved["deep_heads.1.weight"].shape == (1, 16, 1, 1)
    assert not any(name.startswith("deep") for name in model.state_dict())
    assert model(torch.zeros(2, 1, SIZE, SIZE)).shape == (2, 1, SIZE, SIZE)
    assert meta["train_config"]["deep_supervision"] == 2


def test_auxiliary_structures_need_label_maps(tmp_path: Path) -> None:
    with pytest.raises(LvwallError, match="hold wall masks only"):
        fit(tiny_config(auxiliary=["cavity"]), tmp_path / "run", recordings=tiny_recordings())


@pytest.mark.parametrize("recipe", [{}, {**DEEP, "deep_supervision": 1}])
def test_a_compiled_training_step_gives_the_eager_loss_and_gradients(recipe: dict) -> None:
    from lvwall.model import build_model

    config = tiny_config(loss="dice-bce", **recipe)
    modules = []
    for compiled in (False, True):
        torch.manual_seed(0)
        module = SegmentationModule(config, build_model(config.preset, **config.model_overrides))
        if compiled:
            module.use_compile()
        modules.append(module.train())
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(4, 1, SIZE, SIZE, generator=generator)
    masks = (torch.rand(4, 1, SIZE, SIZE, generator=generator) > 0.7).float()
    losses = []
    for module in modules:
        loss = module.training_loss({"image": images, "mask": masks})
        loss.backward()
        losses.append(loss.detach())

    torch.testing.assert_close(losses[1], losses[0])
    for (name, eager), (_, compiled) in zip(
        modules[0].named_parameters(), modules[1].named_parameters(), strict=True
    ):
        torch.testing.assert_close(compiled.grad, eager.grad, msg=name)


def test_compiled_fit_saves_the_plain_unet(tmp_path: Path) -> None:
    fit(tiny_config(epochs=1, compile=True), tmp_path / "run", recordings=tiny_recordings())
    saved = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)["state_dict"]
    model, meta = load_model(tmp_path / "run" / "last.ckpt")

    assert set(saved) == {f"model.{name}" for name in model.state_dict()}
    assert meta["train_config"]["compile"] is True


def test_compile_without_a_cpp_compiler_says_so_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(LvwallError, match="--compile needs a C\\+\\+ compiler"):
        fit(tiny_config(compile=True), tmp_path / "run", recordings=tiny_recordings())
    assert not (tmp_path / "run").exists()


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
    config = tiny_config(
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


def test_deep_supervision_beyond_the_initial_checkpoints_levels_is_refused(tmp_path: Path) -> None:
    fit(tiny_config(epochs=1), tmp_path / "first", recordings=tiny_recordings())
    first = tmp_path / "first" / "last.ckpt"
    with pytest.raises(LvwallError, match=r"last\.ckpt: deep_supervision must be at most 0"):
        fit(
            tiny_config(init_checkpoint=str(first), deep_supervision=1),
            tmp_path / "second",
            recordings=tiny_recordings(),
        )
