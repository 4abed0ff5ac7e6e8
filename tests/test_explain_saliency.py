"""Saliency of the summed wall probability in a target, against hand-written oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lvwall.explain.saliency import (
    METHODS,
    AttributionSettings,
    RegionScore,
    default_gradcam_layer,
    explain_frame,
    find_layer,
    frame_tensor,
    predict_probability,
)
from lvwall.explain.targets import EmptyRegionError
from lvwall.model import UNet, UNetConfig
from tiny_models import noise_frame, seeded_unet

SIZE = 32


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> UNet:
    return seeded_unet((4, 8, 8), norm="batch").eval()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return noise_frame(SIZE)


@pytest.fixture(scope="module")
def region() -> np.ndarray:
    region = np.zeros((SIZE, SIZE), dtype=bool)
    region[8:24, 10:14] = True
    return region


def _score_gradient(model: UNet, frame: np.ndarray, region: np.ndarray) -> np.ndarray:
    image = frame_tensor(model, frame).requires_grad_()
    score = (torch.sigmoid(model(image))[0, 0] * torch.as_tensor(region)).sum()
    (gradient,) = torch.autograd.grad(score, image)
    return gradient[0, 0].numpy()


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_gives_a_finite_map_of_the_frame_size(
    model: UNet, frame: np.ndarray, region: np.ndarray, method: str
) -> None:
    settings = AttributionSettings(smoothgrad_samples=3, ig_steps=8)
    explanation = explain_frame(model, frame, method, settings=settings, region=region)
    assert explanation.attribution.shape == (SIZE, SIZE)
    assert explanation.attribution.dtype == np.float32
    assert np.isfinite(explanation.attribution).all()
    assert np.abs(explanation.attribution).max() > 0
    assert explanation.method == method


def test_vanilla_is_the_absolute_gradient_of_the_region_score(
    model: UNet, frame: np.ndarray, region: np.ndarray
) -> None:
    explanation = explain_frame(model, frame, "vanilla", region=region)
    expected = np.abs(_score_gradient(model, frame, region))
    np.testing.assert_allclose(explanation.attribution, expected, rtol=1e-5, atol=1e-8)


def test_smoothgrad_without_noise_equals_vanilla(
    model: UNet, frame: np.ndarray, region: np.ndarray
) -> None:
    settings = AttributionSettings(smoothgrad_samples=4, smoothgrad_noise=0.0)
    smooth = explain_frame(model, frame, "smoothgrad", settings=settings, region=region)
    vanilla = explain_frame(model, frame, "vanilla", region=region)
    # Batched and single convolutions round differently in float32.
    scale = float(vanilla.attribution.max())
    np.testing.assert_allclose(smooth.attribution, vanilla.attribution, rtol=0, atol=1e-4 * scale)


def test_smoothgrad_is_reproducible_from_its_seed(
    model: UNet, frame: np.ndarray, region: np.ndarray
) -> None:
    maps = [
        explain_frame(
            model, frame, "smoothgrad", settings=AttributionSettings(3, seed=seed), region=region
        ).attribution
        for seed in (1, 1, 2)
    ]
    assert np.array_equal(maps[0], maps[1])
    assert not np.array_equal(maps[0], maps[2])


@pytest.mark.parametrize("steps", [64, 128])
def test_integrated_gradients_is_complete(
    model: UNet, frame: np.ndarray, region: np.ndarray, steps: int
) -> None:
    """Completeness (Sundararajan et al. 2017, prop. 1): the attributions sum to
    S(x) - S(black). With >= 64 Gauss-Legendre steps the sum is within 1 % of the
    difference, and Captum's convergence delta says the same."""
    settings = AttributionSettings(ig_steps=steps)
    explanation = explain_frame(
        model, frame, "integrated-gradients", settings=settings, region=region
    )
    score = RegionScore(model, region)
    with torch.no_grad():
        difference = float(score(frame_tensor(model, frame)) - score(torch.zeros(1, 1, SIZE, SIZE)))
    total = float(explanation.attribution.sum(dtype=np.float64))
    assert total == pytest.approx(difference, rel=1e-2)
    assert explanation.convergence_delta is not None
    assert explanation.convergence_delta <= 1e-2 * abs(difference)


@pytest.mark.parametrize("layer", ["bottleneck", "decoders.0", "encoders.1"])
def test_gradcam_matches_its_definition(
    model: UNet, frame: np.ndarray, region: np.ndarray, layer: str
) -> None:
    """ReLU(sum_k mean(dS/dA_k) A_k), bilinearly upsampled (Selvaraju et al. 2017)."""
    settings = AttributionSettings(gradcam_layer=layer)
    explanation = explain_frame(model, frame, "gradcam", settings=settings, region=region)
    captured: list[torch.Tensor] = []
    handle = find_layer(model, layer).register_forward_hook(lambda m, i, o: captured.append(o))
    try:
        image = frame_tensor(model, frame)
        score = (torch.sigmoid(model(image))[0, 0] * torch.as_tensor(region)).sum()
    finally:
        handle.remove()
    activations = captured[0]
    (gradient,) = torch.autograd.grad(score, activations)
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activations).sum(dim=1, keepdim=True))
    expected = torch.nn.functional.interpolate(cam, size=(SIZE, SIZE), mode="bilinear")
    np.testing.assert_allclose(
        explanation.attribution, expected[0, 0].detach().numpy(), rtol=1e-4, atol=1e-7
    )
    assert explanation.layer == layer


def test_gradcam_defaults_to_the_bottleneck(model: UNet, frame: np.ndarray) -> None:
    assert default_gradcam_layer(model, frame_tensor(model, frame)) == "bottleneck"


def test_region_score_sums_probabilities_inside_the_region(
    model: UNet, frame: np.ndarray, region: np.ndarray
) -> None:
    probability = predict_probability(model, frame)
    with torch.no_grad():
        score = RegionScore(model, region)(frame_tensor(model, frame).repeat(2, 1, 1, 1))
    assert score.shape == (2,)
    np.testing.assert_allclose(score.numpy(), probability[region].sum(), rtol=1e-5)


def test_target_region_comes_from_the_prediction(model: UNet, frame: np.ndarray) -> None:
    probability = predict_probability(model, frame)
    threshold = float(np.median(probability))
    explanation = explain_frame(model, frame, "vanilla", threshold=threshold)
    assert np.array_equal(explanation.region, probability > threshold)
    assert np.array_equal(explanation.probability, probability)


def test_an_empty_prediction_cannot_be_explained(model: UNet, frame: np.ndarray) -> None:
    with pytest.raises(EmptyRegionError):
        explain_frame(model, frame, "vanilla", threshold=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "occlusion"}, "unknown method"),
        ({"target": "SEG1"}, "unknown target"),
        ({"region": np.ones((4, 4), dtype=bool)}, "must match"),
        ({"settings": AttributionSettings(gradcam_layer="nope"), "method": "gradcam"}, "nope"),
    ],
)
def test_bad_arguments_are_value_errors(
    model: UNet, frame: np.ndarray, kwargs: dict, message: str
) -> None:
    arguments = {"region": np.ones((SIZE, SIZE), dtype=bool), **kwargs}
    with pytest.raises(ValueError, match=message):
        explain_frame(model, frame, **arguments)


@pytest.mark.parametrize(
    "settings",
    [{"smoothgrad_samples": 0}, {"ig_steps": 0}, {"batch_size": 0}, {"smoothgrad_noise": 1.5}],
)
def test_settings_are_checked(settings: dict) -> None:
    with pytest.raises(ValueError):
        AttributionSettings(**settings)


def test_a_three_channel_model_explains_a_grey_frame(frame: np.ndarray) -> None:
    torch.manual_seed(1)
    rgb_model = UNet(UNetConfig(in_channels=3, widths=(4, 8))).eval()
    region = np.ones((SIZE, SIZE), dtype=bool)
    explanation = explain_frame(rgb_model, frame, "vanilla", region=region)
    expected = np.abs(_score_gradient(rgb_model, frame, region))
    np.testing.assert_allclose(explanation.attribution, expected, rtol=1e-5, atol=1e-8)
