"""lvwall.train.run_folder: what a run folder may hold before a run starts or resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvwall.errors import LvwallError
from lvwall.train.run_folder import check_run_dir


@pytest.mark.parametrize(
    ("content", "resume", "message"),
    [
        (["result.txt"], False, "already exists and is not empty"),
        ([], True, "nothing to resume"),
        (["config.yaml"], True, "nothing to resume"),
    ],
)
def test_run_dir_checks(tmp_path: Path, content: list[str], resume: bool, message: str) -> None:
    for name in content:
        (tmp_path / name).write_text("x")
    with pytest.raises(LvwallError, match=message) as info:
        check_run_dir(tmp_path, resume)
    assert str(info.value).startswith(str(tmp_path))


@pytest.mark.parametrize("content", [[], None])
def test_run_dir_may_be_new_or_empty(tmp_path: Path, content: list | None) -> None:
    run_dir = tmp_path / "run"
    if content is not None:
        run_dir.mkdir()
    check_run_dir(run_dir, resume=False)
