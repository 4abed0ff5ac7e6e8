"""lvwall.train.run_folder: what a run folder may hold before a run starts or resumes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvwall.errors import OutputError
from lvwall.train.run_folder import check_run_dir


@pytest.mark.parametrize(
    ("content", "resume", "message"),
    [
        (["result.txt"], False, "already exists and is not empty"),
        ([], True, "nothing to resume"),
        (["config.yaml"], True, "nothing to resume"),
        (None, False, "the run folder is a file"),
    ],
)
def test_run_dir_checks(
    tmp_path: Path, content: list[str] | None, resume: bool, message: str
) -> None:
    run_dir = tmp_path / "run"
    if content is None:
        run_dir.write_text("x")
    else:
        run_dir.mkdir()
        for name in content:
            (run_dir / name).write_text("x")
    with pytest.raises(OutputError, match=message) as info:
        check_run_dir(run_dir, resume)
    assert info.value.path == run_dir
    assert str(info.value) == f"{run_dir}: {info.value.problem}"


@pytest.mark.parametrize("content", [[], None])
def test_run_dir_may_be_new_or_empty(tmp_path: Path, content: list | None) -> None:
    run_dir = tmp_path / "run"
    if content is not None:
        run_dir.mkdir()
    check_run_dir(run_dir, resume=False)
