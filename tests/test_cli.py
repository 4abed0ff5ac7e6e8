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
    names = typer.main.get_command(app).list_commands(None)
    assert len(names) >= 15
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
    names = set(typer.main.get_command(app).list_commands(None))
    assert {f"lvwall-{name}" for name in names} == set(scripts) - {"lvwall"}
    for script, target in scripts.items():
        if script != "lvwall":
            assert callable(getattr(entry_points, target.split(":")[1]))


def test_the_listing_imports_no_command_and_shows_their_help() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from typer.testing import CliRunner; from lvwall.cli import app; "
        "out = CliRunner().invoke(app, ['--help']).output; "
        "print('torch' in sys.modules, "
        "any(m.startswith('lvwall.commands.') for m in sys.modules), 'Train the U-Net' in out)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False", "True"], result.stderr
