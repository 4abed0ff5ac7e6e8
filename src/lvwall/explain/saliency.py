"""Saliency maps for a segmentation output, computed with Captum.

What is explained is one scalar per image: the sum of the sigmoid wall probabilities over a
target region (:mod:`lvwall.explain.targets`), the region fixed from the model's unperturbed
prediction. The study (Degerli et al., IEEE Access 9:34442, 2021) showed the vanilla gradient
of that scalar; the other methods are the usual refinements:

* ``vanilla``: ``|dS/dx|`` (Simonyan, Vedaldi & Zisserman, ICLR workshop 2014), Captum
  ``Saliency``;
* ``smoothgrad``: the vanilla map averaged over copies of the frame with Gaussian noise of
  10-20 % of the intensity range (Smilkov et al., arXiv:1706.03825, 2017), Captum
  ``NoiseTunnel``;
* ``integrated-gradients``: ``(x - x') * mean_a dS/dx(x' + a (x - x'))`` from a black baseline
  ``x' = 0`` (Sundararajan, Taly & Yan, ICML 2017); signed, and its sum equals
  ``S(x) - S(x')`` (completeness) up to the reported convergence delta;
* ``gradcam``: ReLU of the channel-weighted activations of one layer, the weights being the
  spatially averaged gradients (Selvaraju et al., ICCV 2017), upsampled bilinearly to the
  frame; Captum ``LayerGradCam``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import (
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from torch import nn

from lvwall.explain.targets import DEFAULT_SPLITTER, TARGET_NAMES, target_region
from lvwall.lookup import look_up
from lvwall.model import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class AttributionSettings:
    """Knobs of the attribution methods; the defaults keep a 224x224 frame to seconds on a CPU.

    Attributes:
        smoothgrad_samples: noisy copies averaged by SmoothGrad (Smilkov et al. used 50; the
            map changes little beyond ~15).
        smoothgrad_noise: noise standard deviation as a fraction of the frame's intensity
            range (Smilkov et al. recommend 0.1-0.2).
        ig_steps: Gauss-Legendre steps of the Integrated Gradients path integral.
        batch_size: images per forward/backward pass inside SmoothGrad and IG.
        gradcam_layer: name of the module Grad-CAM reads (``model.named_modules()``); ``None``
            picks the deepest (lowest-resolution) block, see :func:`default_gradcam_layer`.
        seed: seed of SmoothGrad's noise, so that a map can be reproduced.
    """

    smoothgrad_samples: int = 16
    smoothgrad_noise: float = 0.15
    ig_steps: int = 32
    batch_size: int = 8
    gradcam_layer: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("smoothgrad_samples", "ig_steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.smoothgrad_noise <= 1.0:
            raise ValueError(f"smoothgrad_noise must be in [0, 1], got {self.smoothgrad_noise}")


class RegionScore(nn.Module):
    """``S(x) = sum of sigmoid(model(x))`` over a fixed region: the scalar Captum explains.

    Returns one value per image, shape ``(B,)``; the region ``(H, W)`` broadcasts over the
    batch that SmoothGrad and Integrated Gradients build.
    """

    def __init__(self, model: nn.Module, region: np.ndarray | torch.Tensor) -> None:
        super().__init__()
        self.model = model
        region = torch.as_tensor(np.asarray(region, dtype=bool))
        if region.ndim != 2:
            raise ValueError(f"region must be (H, W), got shape {tuple(region.shape)}")
        self.register_buffer("region", region[None, None])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        probability = torch.sigmoid(self.model(images))
        return (probability * self.region).sum(dim=(1, 2, 3))


@dataclass
class Explanation:
    """One saliency map of one frame.

    ``attribution`` is the raw map (H, W), float32: non-negative for ``vanilla``,
    ``smoothgrad`` and ``gradcam``, signed for ``integrated-gradients``.
    """

    method: str
    target: str
    frame: np.ndarray
    probability: np.ndarray
    region: np.ndarray
    attribution: np.ndarray
    convergence_delta: float | None = None
    layer: str | None = None


@dataclass(frozen=True)
class MethodResult:
    """What an attribution method returns: the map of one image and its diagnostics."""

    attribution: torch.Tensor
    convergence_delta: float | None = None
    layer: str | None = None


AttributionMethod = Callable[[RegionScore, torch.Tensor, AttributionSettings], MethodResult]


def _vanilla(
    score: RegionScore, image: torch.Tensor, settings: AttributionSettings
) -> MethodResult:
    return MethodResult(Saliency(score).attribute(image, abs=True))


def _smoothgrad(
    score: RegionScore, image: torch.Tensor, settings: AttributionSettings
) -> MethodResult:
    intensity_range = float(image.detach().max() - image.detach().min())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        attribution = NoiseTunnel(Saliency(score)).attribute(
            image,
            nt_type="smoothgrad",
            nt_samples=settings.smoothgrad_samples,
            nt_samples_batch_size=settings.batch_size,
            stdevs=settings.smoothgrad_noise * intensity_range,
            abs=True,
        )
    return MethodResult(attribution)


def _integrated_gradients(
    score: RegionScore, image: torch.Tensor, settings: AttributionSettings
) -> MethodResult:
    attribution, delta = IntegratedGradients(score).attribute(
        image,
        baselines=torch.zeros_like(image),
        n_steps=settings.ig_steps,
        internal_batch_size=settings.batch_size,
        return_convergence_delta=True,
    )
    return MethodResult(attribution, convergence_delta=float(delta.abs().max()))


def _gradcam(
    score: RegionScore, image: torch.Tensor, settings: AttributionSettings
) -> MethodResult:
    name = settings.gradcam_layer or default_gradcam_layer(score.model, image)
    layer = find_layer(score.model, name)
    cam = LayerGradCam(score, layer).attribute(image, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(cam, tuple(image.shape[-2:]), "bilinear")
    return MethodResult(upsampled, layer=name)


#: Attribution methods by CLI name.
METHODS: dict[str, AttributionMethod] = {
    "vanilla": _vanilla,
    "smoothgrad": _smoothgrad,
    "integrated-gradients": _integrated_gradients,
    "gradcam": _gradcam,
}


def find_layer(model: nn.Module, name: str) -> nn.Module:
    """The sub-module called ``name`` in ``model.named_modules()``."""
    modules = dict(model.named_modules())
    if not name or name not in modules:
        examples = [n for n in modules if n][:12]
        raise ValueError(f"model has no layer {name!r}; layers include {examples}")
    return modules[name]


def default_gradcam_layer(model: nn.Module, image: torch.Tensor) -> str:
    """The last module to finish at the model's lowest resolution: a U-Net's bottleneck.

    Grad-CAM is meant for the deepest, most semantic feature maps (Selvaraju et al. 2017);
    among modules whose output has the smallest spatial size, the one that runs last holds
    the others (a block after its layers), so the whole bottleneck block is chosen.
    """
    sizes: list[tuple[int, str]] = []

    def record(name: str) -> Callable[[nn.Module, object, object], None]:
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.ndim == 4:
                sizes.append((output.shape[-2] * output.shape[-1], name))

        return hook

    handles = [
        module.register_forward_hook(record(name)) for name, module in model.named_modules() if name
    ]
    try:
        with torch.no_grad():
            model(image)
    finally:
        for handle in handles:
            handle.remove()
    if not sizes:
        raise ValueError("model has no sub-module with a (B, C, H, W) output for Grad-CAM")
    smallest = min(size for size, _ in sizes)
    return [name for size, name in sizes if size == smallest][-1]


def frame_tensor(model: nn.Module, frame: np.ndarray) -> torch.Tensor:
    """A grey (H, W) frame as a ``(1, 1, H, W)`` tensor on the model's device and dtype."""
    frame = np.asarray(frame)
    if frame.ndim != 2:
        raise ValueError(f"expected a grey (H, W) frame, got shape {frame.shape}")
    parameter = next(model.parameters())
    return torch.as_tensor(frame, dtype=parameter.dtype, device=parameter.device)[None, None]


def predict_probability(model: nn.Module, frame: np.ndarray) -> np.ndarray:
    """The model's wall probability map (H, W) for a grey frame, without gradients."""
    model.eval()
    with torch.no_grad():
        logits = model(frame_tensor(model, frame))
    return torch.sigmoid(logits)[0, 0].float().cpu().numpy()


def explain_frame(
    model: nn.Module,
    frame: np.ndarray,
    method: str = "vanilla",
    target: str = "wall",
    *,
    settings: AttributionSettings | None = None,
    region: np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    splitter: str = DEFAULT_SPLITTER,
) -> Explanation:
    """Attribute the summed wall probability in ``target`` to the pixels of a grey frame.

    ``frame`` is float32 (H, W) in [0, 1] as :func:`lvwall.data.preprocess.prepare_frame`
    returns it. The target region comes from the model's own prediction (probability above
    ``threshold``, segments found by ``splitter``, see :data:`lvwall.explain.targets.SPLITTERS`)
    unless ``region`` gives it, as the randomisation test does to keep the region of the
    original model. The model is put in eval mode.

    Raises :class:`lvwall.explain.targets.EmptyRegionError` when the region is empty, and
    :class:`lvwall.wall.errors.RegionalError` when a segment target is asked of a
    prediction that the centreline splitter cannot split.
    """
    look_up(METHODS, method, "method")
    if target not in TARGET_NAMES:
        raise ValueError(f"unknown target {target!r}; valid targets are {list(TARGET_NAMES)}")
    settings = settings or AttributionSettings()
    probability = predict_probability(model, frame)
    if region is None:
        region = target_region(probability > threshold, target, splitter)
    elif region.shape != probability.shape:
        raise ValueError(f"region {region.shape} must match the frame {probability.shape}")
    image = frame_tensor(model, frame).requires_grad_()
    score = RegionScore(model, region).to(image.device)
    result = METHODS[method](score, image, settings)
    return Explanation(
        method=method,
        target=target,
        frame=np.asarray(frame, dtype=np.float32),
        probability=probability,
        region=np.asarray(region, dtype=bool),
        attribution=result.attribution.detach()[0].sum(dim=0).float().cpu().numpy(),
        convergence_delta=result.convergence_delta,
        layer=result.layer,
    )
