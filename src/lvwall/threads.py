"""How many CPU threads lvwall computes with: the one policy every command follows."""

from __future__ import annotations

import contextlib
import os


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, e.g. a SLURM or container limit)."""
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_threads(requested: int | None = None) -> int:
    """Intra-op threads for PyTorch and ONNX Runtime: ``requested``, else every available core.

    Every available core is fastest on an otherwise idle machine. On a machine busy with
    other work fewer can be faster, because PyTorch's OpenMP threads meet at a barrier in
    every operator and all of them wait for one that was preempted: that is what each
    command's ``--threads`` is for. More threads than cores are never faster (they only
    wait for each other; 1000 stall a run), so ``requested`` is capped at
    :func:`available_cores` (see :func:`capped`).
    """
    if requested is not None and requested < 1:
        raise ValueError(f"threads must be at least 1, got {requested}")
    return min(requested, available_cores()) if requested else available_cores()


def capped(requested: int | None, what: str) -> tuple[int | None, str | None]:
    """``requested`` threads or processes capped at :func:`available_cores`, and the note to
    show when it was capped (``what`` names the option, e.g. ``"--threads"``)."""
    cores = available_cores()
    if requested is None or requested <= cores:
        return requested, None
    return cores, (
        f"{what} {requested} is more than the {cores} CPU cores this process may use; using {cores}"
    )


def use_torch_threads(requested: int | None = None) -> int:
    """Set PyTorch's intra-op threads by :func:`cpu_threads` and return the count."""
    import torch

    threads = cpu_threads(requested)
    torch.set_num_threads(threads)
    return threads
