"""Tiny U-Nets and frames that the explanation tests share: seconds on one CPU core."""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from lvwall.model import UNet, UNetConfig


def seeded_unet(
    widths: tuple[int, ...], *, in_channels: int = 1, norm: str | None = None, seed: int = 0
) -> UNet:
    """A U-Net of ``widths`` whose weights are drawn after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return UNet(UNetConfig(in_channels=in_channels, widths=widths, norm=norm))


def noise_frame(size: int, seed: int = 0) -> np.ndarray:
    """A grey frame (size, size) of uniform noise in [0, 1), float32."""
    return np.random.default_rng(seed).random((size, size), dtype=np.float32)


class ReplayPredictor:
    """Stands in for the network: answers each batch with the next maps of a prepared
    sequence (T, H, W) of probabilities or masks, and records each batch's shape."""

    def __init__(self, probabilities: np.ndarray) -> None:
        self.probabilities = probabilities.astype(np.float32)
        self.calls: list[tuple[int, ...]] = []
        self.position = 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(batch.shape)
        out = self.probabilities[self.position : self.position + len(batch), None]
        self.position += len(batch)
        return out


def soft_probabilities(masks: np.ndarray) -> np.ndarray:
    """A network's probabilities for known masks (T, H, W): each mask softened at its border
    (a Gaussian of 1 pixel), so that thresholds round 0.5 move the border a little."""
    return np.stack([ndimage.gaussian_filter(mask.astype(np.float32), 1.0) for mask in masks])
