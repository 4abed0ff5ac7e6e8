"""Dice and Focal Tversky losses, against MONAI as the oracle."""

from __future__ import annotations

import monai.losses
import numpy as np
import pytest
import torch

from lvwall.train.losses import (
    LOSSES,
    REDUCTIONS,
    BorderDiceBCELoss,
    DiceBCELoss,
    DiceLoss,
    FocalTverskyLoss,
    border_weight_map,
    build_loss,
)

SMOOTH = 1e-5
#: Our reduction -> MONAI's (batch, reduction) arguments.
MONAI_REDUCTION = {"batch": (True, "mean"), "sample": (False, "mean"), "none": (False, "none")}


def random_case(seed: int, shape: tuple[int, ...] = (3, 1, 12, 10)) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape, generator=generator, dtype=torch.float64)
    target = (torch.rand(shape, generator=generator) > 0.7).double()
    return logits, target


def monai_loss(monai_class, reduction: str, **kwargs) -> torch.nn.Module:
    batch, monai_reduction = MONAI_REDUCTION[reduction]
    return monai_class(
        sigmoid=True,
        smooth_nr=SMOOTH,
        smooth_dr=SMOOTH,
        batch=batch,
        reduction=monai_reduction,
        **kwargs,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dice_loss_equals_monai(reduction: str, seed: int) -> None:
    logits, target = random_case(seed)
    ours = DiceLoss(smooth=SMOOTH, reduction=reduction)(logits, target)
    oracle = monai_loss(monai.losses.DiceLoss, reduction)(logits, target)
    torch.testing.assert_close(ours, oracle.reshape(ours.shape))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("alpha", "beta"), [(0.3, 0.7), (0.7, 0.3), (0.5, 0.5), (1.0, 0.0)])
def test_tversky_at_gamma_one_equals_monai(reduction: str, alpha: float, beta: float) -> None:
    logits, target = random_case(7)
    ours = FocalTverskyLoss(alpha, beta, gamma=1.0, smooth=SMOOTH, reduction=reduction)
    oracle = monai_loss(monai.losses.TverskyLoss, reduction, alpha=alpha, beta=beta)
    expected = oracle(logits, target)
    torch.testing.assert_close(ours(logits, target), expected.reshape(-1).squeeze())


@pytest.mark.parametrize("gamma", [0.75, 1.5, 3.0])
@pytest.mark.parametrize("reduction", ["sample", "none"])
def test_focal_tversky_is_monai_tversky_to_the_gamma(gamma: float, reduction: str) -> None:
    logits, target = random_case(3)
    per_sample = monai_loss(monai.losses.TverskyLoss, "none", alpha=0.3, beta=0.7)(logits, target)
    expected = per_sample.reshape(-1) ** gamma
    if reduction == "sample":
        expected = expected.mean()
    ours = FocalTverskyLoss(0.3, 0.7, gamma, smooth=SMOOTH, reduction=reduction)
    torch.testing.assert_close(ours(logits, target), expected)


def test_focal_tversky_batch_reduction_powers_the_batch_index() -> None:
    logits, target = random_case(4)
    tversky = monai_loss(monai.losses.TverskyLoss, "batch", alpha=0.3, beta=0.7)(logits, target)
    ours = FocalTverskyLoss(0.3, 0.7, 0.75, smooth=SMOOTH, reduction="batch")(logits, target)
    torch.testing.assert_close(ours, tversky**0.75)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_symmetric_tversky_at_gamma_one_is_dice(reduction: str) -> None:
    logits, target = random_case(5)
    tversky = FocalTverskyLoss(0.5, 0.5, 1.0, reduction=reduction)(logits, target)
    torch.testing.assert_close(tversky, DiceLoss(reduction=reduction)(logits, target))


@pytest.mark.parametrize("reduction", ["batch", "sample"])
@pytest.mark.parametrize(("dice_weight", "bce_weight"), [(1.0, 1.0), (0.5, 2.0), (0.0, 1.0)])
def test_dice_bce_equals_monai_dice_ce(reduction: str, dice_weight: float, bce_weight: float):
    logits, target = random_case(8)
    oracle = monai_loss(
        monai.losses.DiceCELoss, reduction, lambda_dice=dice_weight, lambda_ce=bce_weight
    )
    ours = DiceBCELoss(dice_weight, bce_weight, smooth=SMOOTH, reduction=reduction)
    torch.testing.assert_close(ours(logits, target), oracle(logits, target))


def test_dice_bce_per_sample_losses_average_to_the_sample_reduction() -> None:
    logits, target = random_case(9)
    per_sample = DiceBCELoss(reduction="none")(logits, target)
    torch.testing.assert_close(per_sample.mean(), DiceBCELoss(reduction="sample")(logits, target))


@pytest.mark.parametrize(
    ("loss", "expected_shape"),
    [
        (DiceLoss(reduction="none"), (3,)),
        (DiceLoss(reduction="sample"), ()),
        (FocalTverskyLoss(reduction="none"), (3,)),
        (FocalTverskyLoss(reduction="batch"), ()),
        (DiceBCELoss(reduction="none"), (3,)),
        (DiceBCELoss(reduction="batch"), ()),
    ],
)
def test_reduction_shapes(loss: torch.nn.Module, expected_shape: tuple[int, ...]) -> None:
    logits, target = random_case(6)
    assert loss(logits, target).shape == expected_shape


def test_beta_above_alpha_penalises_missed_wall_more_than_extra_wall() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :] = 1
    missed = torch.full_like(target, -20.0)  # predicts nothing: all FN
    extra = torch.full_like(target, 20.0)  # predicts everything: as many FP as TP
    loss = FocalTverskyLoss(alpha=0.3, beta=0.7, gamma=1.0)
    assert loss(missed, target) > loss(extra, target)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("logit", "target_value"),
    [(-200.0, 0.0), (-30.0, 0.0), (0.0, 0.0), (200.0, 1.0), (-200.0, 1.0)],
)
def test_gradients_stay_finite_on_empty_and_saturated_masks(
    name: str, reduction: str, logit: float, target_value: float
) -> None:
    logits = torch.full((2, 1, 8, 8), logit, requires_grad=True)
    target = torch.full((2, 1, 8, 8), target_value)
    loss = build_loss(name, reduction=reduction)(logits, target)
    loss.sum().backward()
    assert torch.isfinite(loss).all()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_perfect_prediction_of_an_empty_mask_costs_nothing(name: str) -> None:
    loss = build_loss(name)(torch.full((2, 1, 4, 4), -200.0), torch.zeros(2, 1, 4, 4))
    assert loss.item() == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: FocalTverskyLoss(alpha=-0.1), "alpha >= 0"),
        (lambda: FocalTverskyLoss(beta=-1.0), "beta >= 0"),
        (lambda: FocalTverskyLoss(alpha=0.0, beta=0.0), "alpha \\+ beta > 0"),
        (lambda: FocalTverskyLoss(gamma=0.0), "gamma"),
        (lambda: FocalTverskyLoss(reduction="mean"), "reduction must be one of"),
        (lambda: DiceLoss(reduction="sum"), "reduction must be one of"),
        (lambda: DiceLoss(smooth=0.0), "smooth"),
        (lambda: DiceBCELoss(bce_weight=-1.0), "bce_weight >= 0"),
        (lambda: DiceBCELoss(dice_weight=0.0, bce_weight=0.0), "positive sum"),
        (lambda: DiceBCELoss(reduction="mean"), "reduction must be one of"),
        (lambda: BorderDiceBCELoss(border_weight=-1.0), "border_weight must be >= 0"),
        (lambda: BorderDiceBCELoss(sigma=0.0), "sigma must be > 0"),
        (lambda: BorderDiceBCELoss(reduction="mean"), "reduction must be one of"),
        (
            lambda: build_loss("bce"),
            "unknown loss 'bce'; choose one of \\['dice', 'dice-bce', 'dice-bce-border', 'focal",
        ),
    ],
)
def test_bad_arguments_raise(factory, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_half_precision_logits_are_summed_in_float32(name: str) -> None:
    logits, target = random_case(8, shape=(2, 1, 64, 64))
    loss = build_loss(name)
    half = loss(logits.bfloat16(), target.bfloat16())
    assert half.dtype == torch.float32
    reference = loss(logits.bfloat16().double(), target)
    assert half.item() == pytest.approx(reference.item(), rel=1e-5)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_shape_mismatch_raises(name: str) -> None:
    with pytest.raises(ValueError, match="same shape"):
        build_loss(name)(torch.zeros(2, 1, 4, 4), torch.zeros(2, 4, 4))


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("dice", {"smooth": 1e-3}, {"smooth": 1e-3, "reduction": "batch"}),
        ("focal-tversky", {"gamma": 1.0}, {"alpha": 0.3, "beta": 0.7, "gamma": 1.0}),
    ],
)
def test_build_loss_passes_arguments(name: str, kwargs: dict, expected: dict) -> None:
    loss = build_loss(name, **kwargs)
    assert isinstance(loss, LOSSES[name])
    assert {key: getattr(loss, key) for key in expected} == expected


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_border_loss_without_border_weight_is_dice_bce(reduction: str) -> None:
    logits, target = random_case(9, shape=(3, 1, 16, 16))
    plain = DiceBCELoss(reduction=reduction)(logits, target)
    border = BorderDiceBCELoss(border_weight=0.0, reduction=reduction)(logits, target)
    torch.testing.assert_close(border, plain)


@pytest.mark.parametrize(
    ("mask", "expected_distances"),
    [
        # Columns 0-2 inside: 3, 2, 1 from the border; outside 1, 2, 3 beyond it.
        (np.array([[1, 1, 1, 0, 0, 0]] * 2, dtype=bool), [3, 2, 1, 1, 2, 3]),
        # A one-pixel line: 1 inside, 1 and 2 outside.
        (np.array([[0, 0, 1, 0]] * 2, dtype=bool), [2, 1, 1, 1]),
    ],
)
def test_border_weight_map_by_hand(mask: np.ndarray, expected_distances: list[int]) -> None:
    distance = np.array(expected_distances, dtype=float)
    expected = 1 + 5.0 * np.exp(-(distance**2) / (2 * 2.0**2))
    weights = border_weight_map(mask, border_weight=5.0, sigma=2.0)
    np.testing.assert_allclose(weights, np.broadcast_to(expected, mask.shape))


@pytest.mark.parametrize("fill", [0, 1])
def test_border_weight_map_of_a_mask_without_border_is_flat(fill: int) -> None:
    mask = np.full((5, 7), fill, dtype=bool)
    np.testing.assert_array_equal(border_weight_map(mask, 5.0, 2.0), np.ones((5, 7)))


def test_a_mistake_at_the_border_costs_more_than_one_far_from_it() -> None:
    target = torch.zeros(1, 1, 1, 20)
    target[..., :10] = 1
    right = 20 * (2 * target - 1)  # confident and right everywhere
    at_border, far = right.clone(), right.clone()
    at_border[..., 9] = -20.0  # the last wall pixel missed
    far[..., 0] = -20.0  # a wall pixel far from the border missed
    plain, border = DiceBCELoss(), BorderDiceBCELoss()
    torch.testing.assert_close(plain(at_border, target), plain(far, target))
    assert border(at_border, target) > 1.5 * border(far, target)
