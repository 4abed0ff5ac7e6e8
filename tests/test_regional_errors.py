"""RegionalError: one sentence naming the mask, caught by the CLI like every LvwallError."""

from __future__ import annotations

import pytest

from lvwall.errors import LvwallError
from lvwall.wall.errors import RegionalError


@pytest.mark.parametrize(
    ("source", "problem"),
    [("clip.npz, frame 3", "the wall mask is empty"), ("mask", "the wall mask is a blob")],
)
def test_message_is_source_colon_problem(source: str, problem: str) -> None:
    error = RegionalError(source, problem)
    assert str(error) == f"{source}: {problem}"
    assert (error.source, error.problem) == (source, problem)
    assert isinstance(error, LvwallError)
