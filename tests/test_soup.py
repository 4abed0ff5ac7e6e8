"""Model soups: weights averaged exactly, architectures checked, a CLI that writes a model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.errors import ModelError
from lvwall.model import build_model
from lvwall.model.checkpoint import load_model, save_model
from lvwall.train.soup import average_models


def _saved(path: Path, seed: int, widths: tuple[int, ...] = (4, 8), **meta) -> Path:
    torch.manual_seed(seed)
    model = build_model("fast", widths=widths)
    with torch.no_grad():
        for buffer_name, buffer in model.named_buffers():
            if "running_mean" in buffer_name:
                buffer.normal_()
            if "num_batches_tracked" in buffer_name:
                buffer.fill_(seed + 1)
    return save_model(path, model, meta)


@pytest.mark.parametrize("count", [2, 3])
def test_soup_weights_and_statistics_are_the_means(tmp_path: Path, count: int) -> None:
    paths = [_saved(tmp_path / f"m{seed}.safetensors", seed) for seed in range(count)]
    states = [load_model(path)[0].state_dict() for path in paths]
    soup, meta = average_models(paths)

    for key, value in soup.state_dict().items():
        if value.is_floating_point():
            expected = sum(state[key] for state in states) / count
            torch.testing.assert_close(value, expected)
        else:
            assert torch.equal(value, states[0][key]), key
    assert meta["soup_of"] == [path.name for path in paths]


def test_soup_of_one_model_twice_predicts_as_that_model(tmp_path: Path) -> None:
    path = _saved(tmp_path / "m.safetensors", 0)
    soup, _ = average_models([path, path])
    model, _ = load_model(path)
    images = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(soup(images), model(images))


def test_soup_needs_two_models(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least two models, got 1"):
        average_models([_saved(tmp_path / "m.safetensors", 0)])


@pytest.mark.parametrize(
    ("widths", "meta", "message"),
    [((4, 8, 16), {}, "has architecture"), ((4, 8), {"threshold": 0.3}, "has threshold 0.3")],
)
def test_soup_refuses_models_that_differ(
    tmp_path: Path, widths: tuple[int, ...], meta: dict, message: str
) -> None:
    first = _saved(tmp_path / "a.safetensors", 0)
    other = _saved(tmp_path / "b.safetensors", 1, widths, **meta)
    with pytest.raises(ModelError, match=message) as error:
        average_models([first, other])
    assert error.value.path == other


def test_cli_writes_a_soup_that_loads(tmp_path: Path) -> None:
    paths = [str(_saved(tmp_path / f"m{seed}.safetensors", seed)) for seed in range(2)]
    out = tmp_path / "soup.safetensors"
    result = CliRunner().invoke(app, ["soup", *paths, "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "the mean of 2 models" in result.output
    model, meta = load_model(out)
    assert meta["soup_of"] == ["m0.safetensors", "m1.safetensors"]


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda p: [str(p / "m0.safetensors"), str(p / "missing.ckpt")], "does not exist"),
        (lambda p: [str(p / "m0.safetensors")], "two or more models"),
        (lambda p: [str(p / "m0.safetensors"), str(p / "m1.txt")], "m1.txt"),
    ],
)
def test_cli_bad_input_is_one_sentence_and_writes_nothing(
    tmp_path: Path, make_args, message: str
) -> None:
    _saved(tmp_path / "m0.safetensors", 0)
    (tmp_path / "m1.txt").write_text("not a model")
    out = tmp_path / "soup.safetensors"
    result = CliRunner().invoke(app, ["soup", *make_args(tmp_path), "--out", str(out)])

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def _saved_with(path: Path, seed: int, value: float) -> Path:
    """A saved model whose first weight tensor is ``value`` throughout."""
    torch.manual_seed(seed)
    model = build_model("fast", widths=(4, 8))
    with torch.no_grad():
        next(iter(model.parameters())).fill_(value)
    return save_model(path, model, {})


@pytest.mark.parametrize(
    ("values", "bad", "says"),
    [
        ((0.1, float("nan")), 1, "holds weights that are not finite"),
        ((float("inf"), 0.1), 0, "holds weights that are not finite"),
        ((0.1, 0.2, float("-inf")), 2, "holds weights that are not finite"),
        ((3e38, -3e38), 1, "the soup of these models would hold weights that are not finite"),
    ],
)
def test_soup_refuses_non_finite_weights_naming_the_file(
    tmp_path: Path, values: tuple[float, ...], bad: int, says: str
) -> None:
    paths = [
        _saved_with(tmp_path / f"m{index}.safetensors", index, value)
        for index, value in enumerate(values)
    ]
    with pytest.raises(ModelError, match=says) as error:
        average_models(paths)
    assert error.value.path == paths[bad]
    out = tmp_path / "soup.safetensors"
    result = CliRunner().invoke(app, ["soup", *map(str, paths), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert f"{paths[bad]}: {says}" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # nothing written, no temporary left
