"""The CLI plumbing: every command has help, and user errors never show a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lvwall import entry_points
from lvwall.cli import app, user_errors
from lvwall.errors import DataError

runner = CliRunner()


def test_root_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_every_command_has_help() -> None:
    names = [c.name for c in typer.main.get_command(app).commands.values()]
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_user_error_is_one_sentence_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise DataError("/x/y.avi", "the video is truncated")

    with pytest.raises(typer.Exit) as info:
        user_errors(broken)()
    assert info.value.exit_code == 1
    err = capsys.readouterr().err
    assert "/x/y.avi: the video is truncated" in err
    assert "Traceback" not in err


def test_every_command_has_its_own_console_script() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    names = {c.name for c in typer.main.get_command(app).commands.values()}
    assert {f"lvwall-{name}" for name in names} == set(scripts) - {"lvwall"}
    for script, target in scripts.items():
        if script != "lvwall":
            assert callable(getattr(entry_points, target.split(":")[1]))
