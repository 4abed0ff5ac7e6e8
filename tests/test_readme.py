"""The README works as written: its tour runs word for word, its links lead somewhere, and it
stays a page for users (at most 200 lines)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Where `lvwall serve` answers by default (its --help says so).
SERVE_URL = "http://127.0.0.1:8765/"


def _tour() -> list[str]:
    """The commands of the README's tour, in order, without their comments."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "the tour has a bash block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [
        shlex.join(shlex.split(line, comments=True))
        for line in lines
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_readme_is_for_users() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_readme_links_lead_to_files() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [target for target in targets if "://" not in target]
    assert local, "the README links its documents"
    missing = [target for target in local if not (ROOT / target).exists()]
    assert not missing, missing


@pytest.mark.slow
def test_the_tour_runs_word_for_word(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    commands = _tour()
    assert commands[0].startswith("lvwall simulate") and commands[-1] == "lvwall serve"
    for command in commands[:-1]:
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, command
    assert (tmp_path / "out" / "measure" / "PH0001 _4CH_1" / "measurements.json").is_file()
    _python_snippets_run(tmp_path)
    _serve_answers(commands[-1], tmp_path, env)


def _python_snippets_run(folder: Path) -> None:
    """The README's Python blocks run on the tour's outputs and find what the prose says:
    the pandas example keeps the frames that passed every check."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "the README shows Python"
    namespace: dict = {}
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    quality, trusted = namespace["quality"], namespace["trusted"]
    assert 0 < len(trusted) <= len(quality)
    assert (trusted["flags"] == "").all() and (trusted["quality"] >= 0.75).all()


def _serve_answers(command: str, folder: Path, env: dict[str, str]) -> None:
    """Start the tour's `lvwall serve`, wait until its page answers, stop it."""
    server = subprocess.Popen(shlex.split(command), cwd=folder, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(SERVE_URL, timeout=2) as response:
                    assert response.status == 200
                    return
            except OSError:
                assert server.poll() is None, "lvwall serve ended"
                assert time.monotonic() < deadline, "lvwall serve never answered"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
