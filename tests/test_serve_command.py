"""``lvwall serve`` on the command line: what --help says, and a port it cannot have."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from lvwall.cli import app

runner = CliRunner(env={"COLUMNS": "400"})


def test_help_says_what_listening_on_every_interface_exposes() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "0.0.0.0 listens on every network interface" in text
    assert "everyone who can reach this machine can upload recordings and read every result" in text


def test_a_port_in_use_is_one_sentence(tiny_model: dict[str, Path]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = runner.invoke(
            app, ["serve", "--port", str(port), "--model", str(tiny_model["onnx"])]
        )
    assert result.exit_code == 1
    assert f"127.0.0.1:{port}: cannot listen there" in result.output
    assert "Traceback" not in result.output
