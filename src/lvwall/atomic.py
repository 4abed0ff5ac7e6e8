"""Write files so that a crash or a bad input never leaves a half-written result behind."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary name keeps the target's suffix, so writers that pick a format by extension
    (OpenCV, PyAV, matplotlib) still work. On an exception the temporary file is removed and
    ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp (and some writers that recreate the file) leave 0600; results are
        # ordinary files that others may read.
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; move it onto ``target`` on success.

    ``target`` must not exist yet, or be an empty folder.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON/YAML types: paths become strings, NumPy and PyTorch numbers
    and arrays Python numbers and lists, NaN ``None`` (a metric with nothing to measure),
    tuples lists and mapping keys strings."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    tolist = getattr(value, "tolist", None)  # NumPy and PyTorch scalars and arrays
    if callable(tolist):
        return to_plain(tolist())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_json(target: str | Path, value: Any, *, allow_infinity: bool = False) -> Path:
    """Write ``value`` (see :func:`to_plain`) to ``target`` as indented JSON, atomically.

    Infinities are refused (strict JSON) unless ``allow_infinity``, which writes them as
    ``Infinity``, as Python's :mod:`json` reads them back.
    """
    text = json.dumps(to_plain(value), indent=2, allow_nan=allow_infinity)
    return write_text(target, text + "\n")
