"""Errors a user can act on: the sentence printed beside the input it is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvwall.errors import DataError, LvwallError, ModelError, problem_with


@pytest.mark.parametrize(
    ("error", "path", "expected"),
    [
        (DataError("a/b.avi", "cannot be decoded"), "a/b.avi", "cannot be decoded"),
        (DataError("a/b.avi", "cannot be decoded"), Path("a/b.avi"), "cannot be decoded"),
        (ModelError("m.onnx", "is not a model"), "m.onnx", "is not a model"),
        (DataError("a/c.avi", "cannot be decoded"), "a/b.avi", "a/c.avi: cannot be decoded"),
        (LvwallError("the run was stopped"), "a/b.avi", "the run was stopped"),
    ],
)
def test_problem_with_drops_the_path_only_where_the_error_is_about_it(
    error: LvwallError, path: str | Path, expected: str
) -> None:
    assert problem_with(error, path) == expected
