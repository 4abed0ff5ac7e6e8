"""Atomic writes: a failure leaves the target as it was, a success replaces it whole; JSON
holds plain types."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from lvwall import atomic
from lvwall.atomic import atomic_dir, atomic_path, to_plain, write_json, write_text


def test_atomic_path_keeps_suffix_and_renames(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.csv"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".csv"
        assert tmp.parent == target.parent
        tmp.write_text("a,b\n")
        assert not target.exists()
    assert target.read_text() == "a,b\n"
    assert list(target.parent.iterdir()) == [target]


def test_atomic_path_failure_leaves_old_content(tmp_path: Path) -> None:
    target = write_text(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer crashed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_dir_moves_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "1"


def test_atomic_dir_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
        raise ValueError("bad input")
    assert list(tmp_path.iterdir()) == []


def test_results_get_ordinary_permissions(tmp_path: Path) -> None:
    file = write_text(tmp_path / "a.txt", "x")
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "b").write_text("y")
    assert file.stat().st_mode & 0o044 == 0o044
    assert (tmp_path / "d").stat().st_mode & 0o055 == 0o055


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (Path("a/b.txt"), "a/b.txt"),
        (np.float32(0.5), 0.5),
        (np.int64(3), 3),
        (np.array([1, 2]), [1, 2]),
        (float("nan"), None),
        ((1, (2, 3)), [1, [2, 3]]),
        ({1: np.float64("nan"), "k": [Path("x")]}, {"1": None, "k": ["x"]}),
        (torch.tensor(2.5), 2.5),
    ],
)
def test_to_plain(value: object, plain: object) -> None:
    assert to_plain(value) == plain


def test_write_json_is_strict_unless_infinity_is_allowed(tmp_path: Path) -> None:
    path = write_json(tmp_path / "a.json", {"x": np.float32(1.5), "y": float("nan")})
    assert json.loads(path.read_text()) == {"x": 1.5, "y": None}
    with pytest.raises(ValueError):
        write_json(tmp_path / "b.json", {"t": float("-inf")})
    assert not (tmp_path / "b.json").exists() and list(tmp_path.iterdir()) == [path]
    write_json(tmp_path / "b.json", {"t": float("-inf")}, allow_infinity=True)
    assert json.loads((tmp_path / "b.json").read_text()) == {"t": float("-inf")}


def _gone_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize(
    ("owner", "removed"),
    [
        (lambda: f"{os.getpid()}@{atomic._host_tag()}.", False),  # this live process
        (lambda: f"{_gone_pid()}@{atomic._host_tag()}.", True),  # a process that ended
        (lambda: f"{_gone_pid()}@abcdef.", False),  # another machine's: cannot be checked
        (lambda: "", True),  # an older lvwall's temporary, which records no owner
    ],
)
def test_only_temporaries_of_ended_processes_are_stale(
    tmp_path: Path, owner: Callable[[], str], removed: bool
) -> None:
    """Two runs writing into one folder keep each other's temporaries: only those of a
    process of this machine that no longer runs (or of no recorded owner) are removed."""
    left = tmp_path / f".echo_avi.{owner()}k3j_x9q2.tmp"
    left.mkdir()
    (left / "masks.npz").write_bytes(b"partial")
    unrelated = tmp_path / ".echo_avi.notes.tmp"
    unrelated.mkdir()
    with atomic_dir(tmp_path / "echo_avi") as tmp:
        assert f".{os.getpid()}@" in tmp.name, "a temporary records its owner"
        (tmp / "a.txt").write_text("1")
    assert left.exists() is not removed
    assert unrelated.exists(), "a name that is no temporary of lvwall's is never touched"
