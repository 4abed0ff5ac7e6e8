"""Stochastic weight averaging within a run: the average, what validation and checkpoints
see before and after it starts, and resuming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lvwall.train.swa import EpochWeightAveraging, mean_of_floats_latest_of_counts

EPOCHS = 5


class TinyRegression(L.LightningModule):
    """A batch-norm layer and a linear layer, so that parameters and buffers are averaged;
    it records the weights every validation epoch sees."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(3)
        self.layer = nn.Linear(3, 1)
        self.validated: list[dict[str, torch.Tensor]] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        return nn.functional.mse_loss(self.layer(self.norm(inputs)), targets)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        if batch_idx == 0:
            self.validated.append(float_state(self))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)


class EpochEndWeights(L.Callback):
    """The model's own weights at the end of every training epoch."""

    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.weights.append(float_state(pl_module))


def float_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: value.detach().cpu().clone()  # Lightning moves the module back to the CPU
        for name, value in module.state_dict().items()
        if value.is_floating_point()
    }


def mean_state(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {name: torch.stack([state[name] for state in states]).mean(0) for name in states[0]}


def assert_states_close(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], msg=name)


def loaders() -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(24, 3, generator=generator)
    targets = inputs @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(24, 1)
    data = TensorDataset(inputs, targets)
    return DataLoader(data, batch_size=6, shuffle=True, generator=generator), DataLoader(data)


def train(
    start_epoch: int,
    out: Path,
    epochs: int = EPOCHS,
    resume: Path | None = None,
    accumulate: int = 1,
) -> tuple[TinyRegression, EpochEndWeights]:
    L.seed_everything(0, verbose=False)
    module, recorder = TinyRegression(), EpochEndWeights()
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[
            EpochWeightAveraging(start_epoch),
            recorder,
            ModelCheckpoint(
                dirpath=out, filename="epoch{epoch}", save_top_k=-1, auto_insert_metric_name=False
            ),
        ],
        accumulate_grad_batches=accumulate,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    train_loader, val_loader = loaders()
    trainer.fit(module, train_loader, val_loader, ckpt_path=resume)
    return module, recorder


@pytest.mark.parametrize("start_epoch", [0, 2, EPOCHS - 1])
def test_final_weights_are_the_mean_of_the_epochs_from_the_start(
    tmp_path: Path, start_epoch: int
) -> None:
    module, recorder = train(start_epoch, tmp_path)
    assert len(recorder.weights) == EPOCHS
    assert_states_close(float_state(module), mean_state(recorder.weights[start_epoch:]))


def test_gradient_accumulation_updates_after_the_epochs_last_step(tmp_path: Path) -> None:
    # Four batches, accumulated three at a time: the second step comes after the last batch.
    module, recorder = train(1, tmp_path, accumulate=3)
    assert_states_close(float_state(module), mean_state(recorder.weights[1:]))


def test_a_start_after_the_last_epoch_leaves_the_weights_alone(tmp_path: Path) -> None:
    module, recorder = train(EPOCHS, tmp_path)
    assert_states_close(float_state(module), recorder.weights[-1])


def test_validation_and_checkpoints_see_own_weights_then_the_average(tmp_path: Path) -> None:
    start = 2
    module, recorder = train(start, tmp_path)
    for epoch in range(EPOCHS):
        expected = (
            recorder.weights[epoch]
            if epoch < start
            else mean_state(recorder.weights[start : epoch + 1])
        )
        assert_states_close(module.validated[epoch + 1], expected)  # [0]: sanity check
        saved = torch.load(tmp_path / f"epoch{epoch}.ckpt", map_location="cpu", weights_only=True)
        assert_states_close({name: saved["state_dict"][name] for name in expected}, expected)
        assert ("current_model_state" in saved) == (epoch >= start)


def test_resume_continues_the_average(tmp_path: Path) -> None:
    start = 1
    _, first = train(start, tmp_path / "first", epochs=3)
    resumed, second = train(start, tmp_path / "second", resume=tmp_path / "first" / "epoch2.ckpt")
    whole_run = first.weights + second.weights
    assert len(whole_run) == EPOCHS
    assert_states_close(float_state(resumed), mean_state(whole_run[start:]))


def test_resume_from_before_the_start(tmp_path: Path) -> None:
    start = 3
    _, first = train(start, tmp_path / "first", epochs=2)
    resumed, second = train(start, tmp_path / "second", resume=tmp_path / "first" / "epoch1.ckpt")
    assert_states_close(float_state(resumed), mean_state((first.weights + second.weights)[start:]))


def test_batch_norm_counts_follow_the_model(tmp_path: Path) -> None:
    module, _ = train(1, tmp_path)
    # 4 batches per epoch: a count, not a mean of counts.
    assert int(module.norm.num_batches_tracked) == 4 * EPOCHS


@pytest.mark.parametrize(
    ("averaged", "current", "n_averaged", "expected"),
    [
        ([1.0, 3.0], [4.0, 6.0], 0, [4.0, 6.0]),
        ([1.0, 3.0], [4.0, 6.0], 2, [2.0, 4.0]),  # (1 + 1 + 4) / 3 if two 1s came before
        ([5], [9], 3, [9]),  # integer buffers (batch norm's num_batches_tracked): the latest
    ],
)
def test_running_mean_update(
    averaged: list, current: list, n_averaged: int, expected: list
) -> None:
    averaged_tensors, current_tensors = [torch.tensor(averaged)], [torch.tensor(current)]
    mean_of_floats_latest_of_counts(averaged_tensors, current_tensors, torch.tensor(n_averaged))
    assert averaged_tensors[0].tolist() == expected
    assert averaged_tensors[0].dtype == torch.tensor(averaged).dtype


def test_negative_start_is_refused() -> None:
    with pytest.raises(ValueError, match="start_epoch must not be negative, got -1"):
        EpochWeightAveraging(-1)
