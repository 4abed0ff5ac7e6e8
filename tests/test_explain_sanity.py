"""The model-parameter randomisation test (Adebayo et al. 2018) on a briefly trained U-Net."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from lvwall.explain.filters import block_names
from lvwall.explain.sanity import (
    RANDOMISATIONS,
    randomisation_test,
    randomised_copy,
    rank_correlation,
)
from lvwall.model import UNet, UNetConfig
from tiny_models import seeded_unet

SIZE = 32


pytestmark = pytest.mark.usefixtures("one_thread")


def _rings(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy frames with a bright ring (a stand-in for the wall) and the ring's mask."""
    rows, cols = np.mgrid[:SIZE, :SIZE]
    frames, masks = [], []
    for _ in range(n):
        (row, col), radius = rng.uniform(12, 20, 2), rng.uniform(6, 9)
        ring = np.abs(np.hypot(rows - row, cols - col) - radius) < 1.5
        frames.append(np.clip(0.2 + 0.6 * ring + rng.normal(0, 0.1, ring.shape), 0, 1))
        masks.append(ring)
    as_tensor = lambda a: torch.tensor(np.array(a), dtype=torch.float32)[:, None]  # noqa: E731
    return as_tensor(frames), as_tensor(masks)


@pytest.fixture(scope="module")
def trained() -> tuple[UNet, np.ndarray]:
    """A tiny U-Net fitted for 80 Adam steps (about a second) to segment rings, and a new
    frame it segments (Dice about 0.98)."""
    rng = np.random.default_rng(0)
    model = seeded_unet((4, 8))
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-2)
    frames, masks = _rings(16, rng)
    for _ in range(80):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(frames), masks)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    frame, _ = _rings(1, rng)
    return model.eval(), frame[0, 0].numpy()


def test_the_trained_model_segments_the_ring(trained: tuple[UNet, np.ndarray]) -> None:
    model, frame = trained
    with torch.no_grad():
        predicted = torch.sigmoid(model(torch.as_tensor(frame)[None, None]))[0, 0] > 0.5
    ring = torch.as_tensor(frame > 0.55)
    dice = 2 * (predicted & ring).sum() / (predicted.sum() + ring.sum())
    assert dice > 0.8


def test_cascading_randomisation_decorrelates_the_maps(trained: tuple[UNet, np.ndarray]) -> None:
    """Vanilla-gradient maps of the randomised models correlate less with the trained
    model's (Spearman 0.74 once the head is random, 0.60 once everything is) than a map
    with itself (1)."""
    model, frame = trained
    report = randomisation_test(model, frame, "vanilla", mode="cascading")
    assert [step.label for step in report.steps] == block_names(model)[::-1]
    assert report.steps[-1].randomised == tuple(block_names(model)[::-1])
    correlations = np.array([step.spearman for step in report.steps])
    assert np.all(correlations < 0.9)
    assert correlations[-1] < 0.8
    identical = rank_correlation(report.original.attribution, report.original.attribution)
    assert identical == pytest.approx(1.0)


def test_independent_randomisation_touches_one_layer_per_step(
    trained: tuple[UNet, np.ndarray],
) -> None:
    model, frame = trained
    layers = ["head", "encoders.0"]
    report = randomisation_test(model, frame, "vanilla", mode="independent", layers=layers)
    assert [step.randomised for step in report.steps] == [("head",), ("encoders.0",)]
    assert all(step.spearman < 0.95 for step in report.steps)


def test_randomised_maps_explain_the_original_region(trained: tuple[UNet, np.ndarray]) -> None:
    model, frame = trained
    report = randomisation_test(model, frame, "vanilla", layers=["head"])
    assert report.steps[0].attribution.shape == report.original.attribution.shape
    assert report.original.region.any()


@pytest.mark.parametrize("layers", [["head"], ["bottleneck", "ups.0"]])
def test_randomised_copy_changes_only_the_named_layers(layers: list[str]) -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig(widths=(4, 8)))
    original = {k: v.clone() for k, v in model.state_dict().items()}
    changed = randomised_copy(model, layers, seed=3).state_dict()
    for key, value in original.items():
        inside = any(key.startswith(f"{layer}.") for layer in layers)
        assert torch.equal(changed[key], value) != inside, key
    assert all(torch.equal(model.state_dict()[k], v) for k, v in original.items())


def test_randomised_copy_resets_normalisation_statistics() -> None:
    model = UNet(UNetConfig(widths=(4, 8), norm="batch")).train()
    model(torch.rand(2, 1, 16, 16) + 1.0)  # moves the running means away from 0
    assert model.bottleneck[1].running_mean.abs().sum() > 0
    clone = randomised_copy(model, ["bottleneck"])
    assert torch.equal(clone.bottleneck[1].running_mean, torch.zeros(8))
    assert torch.equal(clone.encoders[0][1].running_mean, model.encoders[0][1].running_mean)


def test_randomised_copy_is_reproducible() -> None:
    model = UNet(UNetConfig(widths=(4, 8)))
    first = randomised_copy(model, ["head"], seed=5).head.weight
    second = randomised_copy(model, ["head"], seed=5).head.weight
    assert torch.equal(first, second)


@pytest.mark.parametrize(
    ("first", "second", "within", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0], None, 1.0),
        ([1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], None, -1.0),
        # Absolute values are ranked, so the sign of an attribution does not matter.
        ([-1.0, 2.0, -3.0, 4.0], [1.0, 2.0, 3.0, 4.0], None, 1.0),
        # Shared zeros are left out: only the last three pixels are ranked.
        ([0.0, 0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 3.0, 2.0, 1.0], None, -1.0),
        # A zero in one map only is a real rank.
        ([0.0, 1.0, 2.0], [5.0, 6.0, 7.0], None, 1.0),
        # Only pixels within the mask count.
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 3.0], [True, True, True, False], 1.0),
    ],
)
def test_rank_correlation_of_known_pairs(
    first: list[float], second: list[float], within: list[bool] | None, expected: float
) -> None:
    mask = None if within is None else np.array(within)
    assert rank_correlation(np.array(first), np.array(second), mask) == pytest.approx(expected)


def test_rank_correlation_matches_scipy_on_random_maps() -> None:
    rng = np.random.default_rng(4)
    first, second = rng.random((8, 8)), rng.random((8, 8))
    expected = spearmanr(first.ravel(), second.ravel()).statistic
    assert rank_correlation(first, second) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("first", "second"),
    [([1.0, 1.0, 1.0], [0.0, 1.0, 2.0]), ([0.0, 0.0, 5.0], [0.0, 0.0, 2.0])],
)
def test_rank_correlation_without_ranks_is_nan(first: list[float], second: list[float]) -> None:
    assert np.isnan(rank_correlation(np.array(first), np.array(second)))


def test_rank_correlation_checks_the_mask_size() -> None:
    with pytest.raises(ValueError, match="within"):
        rank_correlation(np.ones(4), np.ones(4), np.ones(3, dtype=bool))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "shuffled"}, "unknown randomisation"), ({"layers": []}, "no layers")],
)
def test_bad_arguments_are_value_errors(
    trained: tuple[UNet, np.ndarray], kwargs: dict, message: str
) -> None:
    model, frame = trained
    with pytest.raises(ValueError, match=message):
        randomisation_test(model, frame, **kwargs)


def test_schedules_are_the_two_of_the_paper() -> None:
    assert RANDOMISATIONS["cascading"](["a", "b"]) == [("a", ["a"]), ("b", ["a", "b"])]
    assert RANDOMISATIONS["independent"](["a", "b"]) == [("a", ["a"]), ("b", ["b"])]
