"""The U-Net, its config and the preset registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from lvwall.model import (
    DEFAULT_PRESET,
    NORM_LAYERS,
    PRESETS,
    UNet,
    UNetConfig,
    build_model,
    count_parameters,
    register_preset,
    resolve_config,
)
from lvwall.model import registry as registry_module


def expected_parameter_count(config: UNetConfig) -> int:
    """Parameters of the U-Net layout, counted layer by layer from the architecture."""

    def conv3(cin: int, cout: int) -> int:
        bias_or_norm = cout if config.norm is None else 2 * cout  # bias, or norm weight+bias
        return cin * cout * 9 + bias_or_norm

    *encoder_widths, bottleneck = config.widths
    total, channels = 0, config.in_channels
    for width in encoder_widths:
        total += conv3(channels, width) + conv3(width, width)
        channels = width
    total += conv3(channels, bottleneck)
    total += (config.bottleneck_convs - 1) * conv3(bottleneck, bottleneck)
    channels = bottleneck
    for width in reversed(encoder_widths):
        total += channels * width * 4 + width  # 2x2 transposed convolution with bias
        total += conv3(2 * width, width) + conv3(width, width)
        channels = width
    return total + channels + 1  # 1x1 head with bias


def test_seed_preset_has_the_study_parameter_count() -> None:
    assert count_parameters(build_model("seed")) == 3_043_009


@pytest.mark.parametrize(
    "config",
    [
        UNetConfig(),
        UNetConfig(in_channels=3, widths=(8, 16, 32, 64), norm="batch"),
        UNetConfig(widths=(8, 16), norm="group", bottleneck_convs=3),
        UNetConfig(widths=(4, 8, 12), norm="instance", dropout=0.2),
        *PRESETS.values(),
    ],
)
def test_parameter_count_matches_the_layout(config: UNetConfig) -> None:
    assert count_parameters(UNet(config)) == expected_parameter_count(config)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("batch", [1, 3])
def test_presets_map_images_to_one_logit_channel(name: str, batch: int) -> None:
    model = build_model(name).eval()
    side = 2 * model.config.size_divisor
    image = torch.rand(batch, model.config.in_channels, side, side)
    with torch.no_grad():
        logits = model(image)
    assert logits.shape == (batch, 1, side, side)
    assert torch.isfinite(logits).all()


def test_default_preset_exists_and_is_built_by_default() -> None:
    assert DEFAULT_PRESET in PRESETS
    assert build_model().config == PRESETS[DEFAULT_PRESET]


def test_grey_input_to_rgb_model_equals_replicated_rgb() -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig(in_channels=3, widths=(4, 8))).eval()
    grey = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(grey), model(grey.repeat(1, 3, 1, 1)))


def test_predict_proba_is_sigmoid_of_logits() -> None:
    model = UNet(UNetConfig(widths=(4, 8))).eval()
    image = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.predict_proba(image), torch.sigmoid(model(image)))


@pytest.mark.parametrize("keep", [None, 1, 2, 3])
def test_decoder_features_keep_the_finest_levels_coarsest_first(keep: int | None) -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig(widths=(4, 8, 16, 32))).eval()
    image = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        every = model.decoder_features(image)
        kept = model.decoder_features(image, keep=keep)
        features = model.features(image)
    # widths[i] channels at 1 / 2**i of the size, level i counted from the last.
    assert [tuple(level.shape) for level in every] == [(2, 16, 4, 4), (2, 8, 8, 8), (2, 4, 16, 16)]
    assert len(kept) == (3 if keep is None else keep)
    for mine, reference in zip(kept, every[-len(kept) :], strict=True):
        assert torch.equal(mine, reference)
    assert torch.equal(features, every[-1])


def test_decoder_features_refuse_to_keep_no_level() -> None:
    model = UNet(UNetConfig(widths=(4, 8)))
    with pytest.raises(ValueError, match="keep must be at least 1"):
        model.decoder_features(torch.rand(1, 1, 8, 8), keep=0)


@pytest.mark.parametrize(
    ("config", "shape", "message"),
    [
        (UNetConfig(widths=(4, 8, 16)), (1, 1, 30, 32), "multiples of 4"),
        (UNetConfig(widths=(4, 8, 16, 32)), (1, 1, 32, 36), "multiples of 8"),
        (UNetConfig(in_channels=1, widths=(4, 8)), (1, 3, 8, 8), "expected 1 input channels"),
        (UNetConfig(in_channels=3, widths=(4, 8)), (1, 2, 8, 8), "3 \\(or 1, grey\\)"),
        (UNetConfig(widths=(4, 8)), (1, 8, 8), "\\(B, C, H, W\\)"),
    ],
)
def test_bad_input_shapes_raise(config: UNetConfig, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UNet(config)(torch.rand(shape))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_channels": 0}, "in_channels"),
        ({"widths": (64,)}, "at least 2"),
        ({"widths": (8, 0)}, "positive"),
        ({"widths": (8, 16.0)}, "positive integers"),
        ({"norm": "layer"}, "unknown norm .layer.; choose one of"),
        ({"norm": "group", "widths": (12, 24)}, "divisible by 8"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"bottleneck_convs": 0}, "bottleneck_convs"),
    ],
)
def test_bad_config_values_raise(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UNetConfig(**kwargs)


@pytest.mark.parametrize("config", [*PRESETS.values(), UNetConfig(norm="group", dropout=0.3)])
@pytest.mark.parametrize("serialise", [json.dumps, yaml.safe_dump])
def test_config_round_trips_through_json_and_yaml(config: UNetConfig, serialise) -> None:
    loaded = yaml.safe_load(serialise(config.to_dict()))  # YAML reads JSON too
    assert UNetConfig.from_dict(loaded) == config


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown UNetConfig keys \\['depth'\\]"):
        UNetConfig.from_dict({"depth": 3})


@pytest.mark.parametrize("norm", [None, *sorted(NORM_LAYERS)])
def test_blocks_are_named_sequentials_of_conv_norm_relu(norm: str | None) -> None:
    model = UNet(UNetConfig(widths=(8, 16, 32), norm=norm))
    expected_norm = type(NORM_LAYERS[norm](8)) if norm else None
    blocks = [*model.encoders, model.bottleneck, *model.decoders]
    assert (len(model.encoders), len(model.pools), len(model.ups), len(model.decoders)) == (
        2,
        2,
        2,
        2,
    )
    for block in blocks:
        assert isinstance(block, nn.Sequential)
        kinds = [type(layer) for layer in block]
        per_conv = [nn.Conv2d, nn.ReLU] if norm is None else [nn.Conv2d, expected_norm, nn.ReLU]
        assert kinds == per_conv * 2
        assert not any(getattr(layer, "inplace", False) for layer in block)
    assert all(isinstance(up, nn.ConvTranspose2d) for up in model.ups)
    assert [d[0].out_channels for d in model.decoders] == [16, 8]
    assert isinstance(model.head, nn.Conv2d) and model.head.kernel_size == (1, 1)


def test_dropout_ends_the_bottleneck_and_is_off_in_eval() -> None:
    model = UNet(UNetConfig(widths=(4, 8), dropout=0.5))
    assert isinstance(model.bottleneck[-1], nn.Dropout2d)
    assert model.bottleneck[-1].p == 0.5
    image = torch.rand(1, 1, 8, 8)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(image), model(image))


def test_every_parameter_gets_a_gradient() -> None:
    model = UNet(UNetConfig(widths=(4, 8, 16), norm="batch"))
    model(torch.rand(2, 1, 16, 16)).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_channels_last_gives_the_same_logits() -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig(widths=(8, 16, 32), norm="batch")).eval()
    image = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        reference = model(image)
        model = model.to(memory_format=torch.channels_last)
        logits = model(image.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(logits, reference, atol=1e-5)


# The TorchScript exporter (dynamo=False) is deprecated, yet exports in a fraction of the time.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("in_channels", [1, 3])
def test_onnx_export_with_dynamic_batch_matches_torch(tmp_path, in_channels: int) -> None:
    import onnxruntime as ort

    torch.manual_seed(0)
    model = UNet(UNetConfig(in_channels=in_channels, widths=(4, 8, 16), norm="batch")).eval()
    path = tmp_path / "unet.onnx"
    torch.onnx.export(
        model,
        (torch.rand(1, in_channels, 32, 32),),
        str(path),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = torch.rand(3, in_channels, 32, 32)
    (onnx_logits,) = session.run(None, {"image": image.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(onnx_logits, model(image).numpy(), atol=1e-4)


def test_build_model_applies_overrides() -> None:
    model = build_model("seed", in_channels=1, widths=[8, 16, 32])
    assert model.config == UNetConfig(in_channels=1, widths=(8, 16, 32), bottleneck_convs=4)


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("nope", {}, "unknown U-Net preset 'nope'; choose one of \\["),
        ("fast", {"colour": True}, "unknown UNetConfig keys"),
        ("fast", {"dropout": 2.0}, "dropout"),
    ],
)
def test_build_model_rejects_bad_names_and_overrides(
    preset: str, overrides: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_model(preset, **overrides)


def test_register_preset_adds_and_refuses_to_overwrite(monkeypatch) -> None:
    monkeypatch.setattr(registry_module, "PRESETS", dict(PRESETS))
    tiny = UNetConfig(widths=(4, 8))
    register_preset("tiny", tiny)
    assert resolve_config("tiny") is tiny
    with pytest.raises(ValueError, match="already exists"):
        register_preset("tiny", UNetConfig())
    register_preset("tiny", UNetConfig(), replace=True)
    assert resolve_config("tiny") == UNetConfig()
    with pytest.raises(ValueError, match="must be a UNetConfig"):
        register_preset("bad", {"widths": (4, 8)})


def test_convolutions_get_he_initialisation() -> None:
    torch.manual_seed(0)
    model = build_model("seed")
    # The 13 convolutions less the first 3x3 and the 1x1 head (too few weights for a std).
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight.numel() > 10_000]
    assert len(convs) == 11
    for conv in convs:
        fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
        assert conv.weight.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.05)
        assert torch.count_nonzero(conv.bias) == 0
