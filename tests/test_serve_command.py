"""``lvwall serve`` on the command line: what --help says, a port it cannot have, the URL it
prints, and a real server on the IPv6 loopback."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.serve.security import is_loopback, server_url
from serve_browser import running_server

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


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8765, "http://127.0.0.1:8765/"),
        ("localhost", 8765, "http://localhost:8765/"),
        ("127.0.0.2", 9000, "http://127.0.0.2:9000/"),
        ("::1", 18767, "http://[::1]:18767/"),
        ("[::1]", 18767, "http://[::1]:18767/"),
        ("fe80::1", 80, "http://[fe80::1]:80/"),
    ],
)
def test_the_printed_url_is_valid_for_every_address(host: str, port: int, url: str) -> None:
    assert server_url(host, port) == url


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_every_loopback_address_gets_the_host_check(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_an_empty_token_is_a_wrong_option(tiny_model: dict[str, Path]) -> None:
    result = runner.invoke(app, ["serve", "--token", " ", "--model", str(tiny_model["onnx"])])
    assert result.exit_code == 2
    assert "must not be empty" in result.output


def _ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


def _request(url: str, **options) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, **options), timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_a_server_on_ipv6_loopback_prints_its_url_guards_it_and_cleans_up(
    tiny_model: dict[str, Path], tmp_path: Path
) -> None:
    """``lvwall serve --host ::1`` for real: the printed URL in brackets, the Host check,
    the origin and token checks, and the upload folder of a killed server removed."""
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    stale = tmp_path / "lvwall-serve-killed"
    (stale / "upload").mkdir(parents=True)
    (stale / "server.pid").write_text(f"{killed.pid}\n")
    options = ("--host", "::1", "--model", str(tiny_model["onnx"]))
    with running_server(*options, temporary=tmp_path) as url:
        assert re.fullmatch(r"http://\[::1\]:\d+/", url), url
        assert not stale.exists()
        token = os.environ["LVWALL_SERVE_TOKEN"]
        assert _request(url + "api/info")[0] == 200
        status, text = _request(url + "api/info", headers={"Host": "evil.example"})
        assert status == 400 and "not 'evil.example'" in text
        form = {"Content-Type": "multipart/form-data; boundary=x", "X-Lvwall-Token": token}
        body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.avi"\r\n\r\n'
        body += b"notes\r\n--x--\r\n"
        evil = {**form, "Origin": "http://evil.example"}
        status, text = _request(url + "api/analyse", data=body, headers=evil, method="POST")
        assert status == 403 and "from its own page only" in text
        own = {**form, "Origin": url.rstrip("/")}
        status, text = _request(url + "api/analyse", data=body, headers=own, method="POST")
        assert status == 422 and "a.avi: " in text


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("A4C", "displacement"), ("A4C", "displacement")], "one thresholds file per view"),
        ([("A4C", "displacement"), ("A2C", "inward")], "of one motion score"),
    ],
)
def test_thresholds_of_one_view_twice_or_of_two_scores_are_refused(
    tmp_path: Path, tiny_model: dict[str, Path], files: list[tuple[str, str]], message: str
) -> None:
    import numpy as np

    from lvwall.regional import Thresholds

    options = []
    for number, (view, score) in enumerate(files):
        path = Thresholds(score, np.zeros(6), view=view).save(tmp_path / f"t{number}.json")
        options += ["--thresholds", str(path)]
    result = runner.invoke(app, ["serve", "--model", str(tiny_model["onnx"]), *options])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
