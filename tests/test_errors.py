"""Errors a user can act on: the sentence printed beside the input it is about."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lvwall.atomic import check_output_dir, check_output_file
from lvwall.errors import DataError, LvwallError, ModelError, OutputError, problem_with


@pytest.mark.parametrize(
    ("error", "path", "expected"),
    [
        (DataError("a/b.avi", "cannot be decoded"), "a/b.avi", "cannot be decoded"),
        (DataError("a/b.avi", "cannot be decoded"), Path("a/b.avi"), "cannot be decoded"),
        (ModelError("m.onnx", "is not a model"), "m.onnx", "is not a model"),
        (OutputError("out", "cannot be written"), "out", "cannot be written"),
        (DataError("a/c.avi", "cannot be decoded"), "a/b.avi", "a/c.avi: cannot be decoded"),
        (LvwallError("the run was stopped"), "a/b.avi", "the run was stopped"),
    ],
)
def test_problem_with_drops_the_path_only_where_the_error_is_about_it(
    error: LvwallError, path: str | Path, expected: str
) -> None:
    assert problem_with(error, path) == expected


@pytest.mark.parametrize(
    ("check", "name", "message"),
    [
        (check_output_dir, "a-file", "--out must be a folder, but this is a file"),
        (check_output_dir, "a-file/inside", "lies inside"),
        (check_output_file, "a-folder", "--out must be a file, but this is a folder"),
        (check_output_file, "a-file/inside.csv", "lies inside"),
    ],
)
def test_unwritable_outputs_are_output_errors_naming_the_path(
    tmp_path: Path, check: Callable[[Path, str], Path], name: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(OutputError, match=message) as info:
        check(tmp_path / name, "--out")
    assert info.value.path == tmp_path / name
    assert problem_with(info.value, tmp_path / name) == info.value.problem
