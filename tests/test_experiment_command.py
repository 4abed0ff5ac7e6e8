"""Tests for ``lvwall experiment`` (lvwall.commands.experiment): options and user errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.commands.experiment import requested_config
from lvwall.experiment.config import ExperimentConfig

runner = CliRunner()


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (["--preset", "tiny"], 2, "--data"),
        (["--data", "{data}", "--preset", "huge"], 2, "unknown experiment preset"),
        (["--data", "{data}", "--losses", "dice,hinge"], 2, "unknown losses"),
        (["--data", "{data}", "--folds", "1"], 2, "folds"),
        (["--data", "{data}", "--preset", "tiny"], 1, "no known dataset layout"),
        (["--resume"], 1, "nothing to resume"),
    ],
)
def test_user_errors(arguments: list[str], exit_code: int, message: str, tmp_path: Path) -> None:
    data = tmp_path / "not-a-dataset"
    data.mkdir()
    out = tmp_path / "out"
    arguments = [a.replace("{data}", str(data)) for a in arguments]

    result = runner.invoke(app, ["experiment", "--out", str(out), *arguments])

    assert result.exit_code == exit_code, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def _saved(tmp_path: Path) -> ExperimentConfig:
    config = ExperimentConfig.from_preset([tmp_path], "tiny", seed=4)
    config.to_yaml(tmp_path / "config.yaml")
    return config


def test_resume_without_options_continues_the_saved_config(tmp_path: Path) -> None:
    saved = _saved(tmp_path)
    assert requested_config(tmp_path, True, None, None, None, None, None) == saved


@pytest.mark.parametrize(
    ("folds", "losses", "seed", "expected"),
    [
        (3, None, None, {"folds": 3, "losses": ["dice", "focal-tversky"], "seed": 4}),
        (None, "dice", None, {"folds": 2, "losses": ["dice"], "seed": 4}),
        (None, None, 0, {"folds": 2, "losses": ["dice", "focal-tversky"], "seed": 0}),
    ],
)
def test_options_given_with_resume_replace_saved_values(
    tmp_path: Path, folds: int | None, losses: str | None, seed: int | None, expected: dict
) -> None:
    _saved(tmp_path)

    config = requested_config(tmp_path, True, None, None, folds, losses, seed)

    assert {key: config.to_dict()[key] for key in expected} == expected
    assert config.data == [str(tmp_path.resolve())]


def test_resume_refuses_changed_options(tmp_path: Path) -> None:
    _saved(tmp_path)

    result = runner.invoke(app, ["experiment", "--out", str(tmp_path), "--resume", "--folds", "3"])

    assert result.exit_code == 1
    assert "folds differ from the saved config" in " ".join(result.output.split())
