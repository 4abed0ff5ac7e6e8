"""Segmentation losses on logits, registered by name.

The overlap losses turn logits into probabilities ``p = sigmoid(logits)`` and compare them with the
binary target ``g`` through soft confusion counts ``TP = sum(p*g)``, ``FP = sum(p*(1-g))``,
``FN = sum((1-p)*g)``. Where the sums run is the ``reduction``:

- ``"batch"``: over the whole batch, one index for the batch (MONAI's ``batch=True``);
- ``"sample"``: over each sample, one index per sample, then the mean of the losses;
- ``"none"``: over each sample; the per-sample losses, shape ``(B,)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from lvwall.lookup import look_up

#: Valid ``reduction`` values.
REDUCTIONS: tuple[str, ...] = ("batch", "sample", "none")

#: (1 - TI) is floored here before the power: d/dx x**gamma is infinite at 0 for gamma < 1,
#: which a perfect prediction on an empty mask reaches exactly.
_FOCAL_FLOOR: float = 1e-6


def soft_confusion(
    logits: torch.Tensor, target: torch.Tensor, reduction: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft ``(TP, FP, FN)`` of ``sigmoid(logits)`` against ``target``: scalars or ``(B,)``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if logits.shape != target.shape:
        raise ValueError(
            f"logits and target need the same shape, got {tuple(logits.shape)} and "
            f"{tuple(target.shape)}"
        )
    if logits.ndim < 2:
        raise ValueError(f"expected a batch (B, ...), got shape {tuple(logits.shape)}")
    # Sums over whole images lose too much in half precision (mixed-precision training).
    probs = torch.sigmoid(logits.to(torch.promote_types(logits.dtype, torch.float32)))
    target = target.to(probs.dtype)
    dims = tuple(range(logits.ndim)) if reduction == "batch" else tuple(range(1, logits.ndim))
    tp = (probs * target).sum(dims)
    fp = (probs * (1 - target)).sum(dims)
    fn = ((1 - probs) * target).sum(dims)
    return tp, fp, fn


def _reduce(per_sample_or_batch: torch.Tensor, reduction: str) -> torch.Tensor:
    return per_sample_or_batch.mean() if reduction == "sample" else per_sample_or_batch


def _check_smooth(smooth: float) -> None:
    if not smooth > 0:
        raise ValueError(f"smooth must be > 0 (it defines the loss on empty masks), got {smooth}")


class DiceLoss(nn.Module):
    """Soft Dice loss (Milletari et al., 3DV 2016, V-Net) on logits.

    ``loss = 1 - (2*TP + s) / (sum(p) + sum(g) + s)`` with ``sum(p) + sum(g) = 2*TP + FP + FN``.
    ``s`` keeps the loss defined (0) for an empty target predicted empty.
    """

    def __init__(self, smooth: float = 1e-5, reduction: str = "batch") -> None:
        super().__init__()
        _check_smooth(smooth)
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.smooth = smooth
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        tp, fp, fn = soft_confusion(logits, target, self.reduction)
        dice = (2 * tp + self.smooth) / (2 * tp + fp + fn + self.smooth)
        return _reduce(1 - dice, self.reduction)


class FocalTverskyLoss(nn.Module):
    """Focal Tversky loss (Abraham & Khan, ISBI 2019) on logits.

    The Tversky index (Salehi et al., MLMI 2017) is
    ``TI = (TP + s) / (TP + alpha*FP + beta*FN + s)`` and the loss is ``(1 - TI)**gamma``.

    Conventions, since the sources differ:

    - ``alpha`` weights false positives and ``beta`` false negatives, as in Salehi et al., the
      HMC-QU study and MONAI's ``TverskyLoss``; ``beta > alpha`` favours recall of the thin
      wall. Abraham & Khan's published code swaps the roles (its ``alpha`` weights false
      negatives), so their ``alpha=0.7`` is our ``beta=0.7``.
    - ``gamma`` is the exponent itself. Abraham & Khan write the exponent as ``1/gamma`` with
      ``gamma`` in [1, 3]; the study's ``gamma=0.75`` is used directly as the exponent, which
      is their ``gamma=4/3``. ``gamma=1`` gives the Tversky loss, and ``alpha=beta=0.5`` with
      ``gamma=1`` the Dice loss.

    ``(1 - TI)`` is floored at 1e-6 before the power, so gradients stay finite for
    ``gamma < 1`` when the prediction is perfect.
    """

    def __init__(
        self,
        alpha: float = 0.3,
        beta: float = 0.7,
        gamma: float = 0.75,
        smooth: float = 1e-5,
        reduction: str = "batch",
    ) -> None:
        super().__init__()
        if alpha < 0 or beta < 0 or alpha + beta == 0:
            raise ValueError(
                f"need alpha >= 0, beta >= 0 and alpha + beta > 0, got {alpha}, {beta}"
            )
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        _check_smooth(smooth)
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.smooth = smooth
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        tp, fp, fn = soft_confusion(logits, target, self.reduction)
        tversky = (tp + self.smooth) / (tp + self.alpha * fp + self.beta * fn + self.smooth)
        loss = (1 - tversky).clamp_min(_FOCAL_FLOOR) ** self.gamma
        return _reduce(loss, self.reduction)


class DiceBCELoss(nn.Module):
    """Soft Dice loss plus binary cross-entropy, both on logits (MONAI's ``DiceCELoss``).

    ``loss = dice_weight * Dice + bce_weight * BCE``, with BCE the mean over the pixels of each
    sample (``"none"``, ``"sample"``) or of the batch (``"batch"``). The pixel-wise term gives
    every pixel a gradient from the first step, where Dice's gradient is weak until the
    prediction overlaps the thin wall; nnU-Net trains with this sum (Isensee et al., Nature
    Methods 2021).
    """

    def __init__(
        self,
        dice_weight: float = 1.0,
        bce_weight: float = 1.0,
        smooth: float = 1e-5,
        reduction: str = "batch",
    ) -> None:
        super().__init__()
        if dice_weight < 0 or bce_weight < 0 or dice_weight + bce_weight == 0:
            raise ValueError(
                "need dice_weight >= 0, bce_weight >= 0 and a positive sum, got "
                f"{dice_weight}, {bce_weight}"
            )
        self.dice = DiceLoss(smooth=smooth, reduction=reduction)
        self.dice_weight = dice_weight
        self.bce_weight = bce_weight
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        dice = self.dice(logits, target)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        target = target.to(logits.dtype)
        pixel_bce = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        weights = self.pixel_weights(target)
        dims = None if self.reduction == "batch" else tuple(range(1, logits.ndim))
        bce = (weights * pixel_bce).sum(dims) / weights.sum(dims)
        return self.dice_weight * dice + self.bce_weight * _reduce(bce, self.reduction)

    def pixel_weights(self, target: torch.Tensor) -> torch.Tensor:
        """Each pixel's weight in the cross-entropy: all equal here."""
        return torch.ones_like(target)


class BorderDiceBCELoss(DiceBCELoss):
    """Dice + BCE whose cross-entropy weighs the pixels near the target's border up, as the
    U-Net's weight map does (Ronneberger et al., MICCAI 2015, eq. 2):
    ``w(x) = 1 + border_weight * exp(-d(x)^2 / (2 * sigma^2))``, with ``d(x)`` the distance
    (pixels) from ``x`` to the nearest pixel on the other side of the border, 1 next to it.

    Volumes and EF are measured on the endocardial border, and where it lies carries their
    error (docs/results.md, "EF error of out-of-fold masks"); the weighted mean keeps the
    cross-entropy's scale.
    """

    def __init__(self, border_weight: float = 5.0, sigma: float = 2.0, **kwargs: float | str):
        super().__init__(**kwargs)
        if border_weight < 0:
            raise ValueError(f"border_weight must be >= 0, got {border_weight}")
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.border_weight = border_weight
        self.sigma = sigma

    def pixel_weights(self, target: torch.Tensor) -> torch.Tensor:
        weights = [
            border_weight_map(mask, self.border_weight, self.sigma)
            for mask in target.detach().cpu().numpy().reshape(-1, *target.shape[-2:]) > 0.5
        ]
        return torch.from_numpy(np.stack(weights)).reshape(target.shape).to(target)


def border_weight_map(mask: np.ndarray, border_weight: float, sigma: float) -> np.ndarray:
    """The weight map (H, W) of :class:`BorderDiceBCELoss` for one binary mask (H, W); all
    ones when the mask has no border (empty or full)."""
    if mask.all() or not mask.any():
        return np.ones(mask.shape)
    distance = np.where(
        mask, ndimage.distance_transform_edt(mask), ndimage.distance_transform_edt(~mask)
    )
    return 1.0 + border_weight * np.exp(-(distance**2) / (2.0 * sigma**2))


#: Loss classes by name, for configs and the CLI.
LOSSES: dict[str, Callable[..., nn.Module]] = {
    "dice": DiceLoss,
    "dice-bce": DiceBCELoss,
    "dice-bce-border": BorderDiceBCELoss,
    "focal-tversky": FocalTverskyLoss,
}


def build_loss(name: str, **kwargs: float | str) -> nn.Module:
    """The loss registered as ``name``, built with ``kwargs``."""
    return look_up(LOSSES, name, "loss")(**kwargs)
