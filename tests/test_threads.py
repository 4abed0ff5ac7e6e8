"""lvwall.threads: the one CPU thread policy of every command."""

from __future__ import annotations

import pytest
import torch

from lvwall import threads
from lvwall.threads import capped, cpu_threads, use_torch_threads


@pytest.mark.parametrize(
    ("requested", "cores", "expected"),
    [(None, 2, 2), (None, 8, 8), (None, 1, 1), (3, 2, 2), (2, 8, 2), (1000, 4, 4)],
)
def test_cpu_threads_use_every_available_core_unless_told(
    requested: int | None, cores: int, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    assert cpu_threads(requested) == expected


def test_cpu_threads_rejects_zero() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cpu_threads(0)


def test_use_torch_threads_sets_pytorch() -> None:
    before = torch.get_num_threads()
    try:
        assert use_torch_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("requested", "expected", "note"),
    [
        (None, None, None),
        (3, 3, None),
        (4, 4, None),
        (1000, 4, "--threads 1000 is more than the 4 CPU cores this process may use; using 4"),
    ],
)
def test_capped_says_when_it_caps(
    requested: int | None, expected: int | None, note: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    assert capped(requested, "--threads") == (expected, note)
