"""Tests for ``lvwall demo`` (lvwall.commands.demo): the tiny preset end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.commands.demo import PHANTOM_DIR

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = runner.invoke(
        app, ["demo", "--out", str(out), "--preset", "tiny", "--recordings", "6"]
    )
    assert result.exit_code == 0, result.output
    return out, " ".join(result.output.split())


def test_demo_simulates_and_reports(demo: tuple[Path, str]) -> None:
    out, output = demo
    payload = json.loads((out / "results.json").read_text(encoding="utf-8"))

    assert len(list((out / PHANTOM_DIR / "HMC-QU" / "A4C").iterdir())) == 6
    assert payload["n_recordings"] == 6
    assert payload["config"]["preset"] == "tiny"
    assert payload["config"]["data"] == [str((out / PHANTOM_DIR).resolve())]
    assert str(out / "report.html") in output
    assert payload["verdicts"][0] in output
    assert "synthetic phantom" in (out / "report.html").read_text(encoding="utf-8")


def test_demo_refuses_a_used_folder_without_resume(demo: tuple[Path, str]) -> None:
    out, _ = demo
    result = runner.invoke(app, ["demo", "--out", str(out), "--preset", "tiny"])
    assert result.exit_code == 1
    assert "already holds a demo" in " ".join(result.output.split())


def test_demo_rejects_an_unknown_preset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--preset", "huge"])
    assert result.exit_code == 2
    assert "unknown experiment preset" in " ".join(result.output.split())
