"""Write files so that a crash, a full disk or a bad input never leaves a half-written result
behind, and every failure names the file it could not write."""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lvwall.errors import DataError, LvwallError

#: Characters of the random part of a temporary name (as :mod:`tempfile` makes them).
_RANDOM_PART = "?" * 8


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def os_reason(error: OSError) -> str:
    """An operating-system error as a short lower-case phrase: "no space left on device"."""
    reason = (error.strerror or str(error) or type(error).__name__).rstrip(".")
    return reason[:1].lower() + reason[1:]


@contextlib.contextmanager
def _named_failures(target: Path, tmp: Path | None = None) -> Iterator[None]:
    """Turn an operating-system error of a write into a :class:`DataError` naming ``target``
    (never its temporary name); a :class:`DataError` about a file inside the temporary folder
    ``tmp`` is renamed to the same file under ``target``."""
    try:
        yield
    except OSError as error:
        raise DataError(target, f"could not be written ({os_reason(error)})") from None
    except DataError as error:
        if tmp is not None and error.path.is_relative_to(tmp):
            raise DataError(target / error.path.relative_to(tmp), error.problem) from None
        raise


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove what an interrupted :func:`atomic_path` or :func:`atomic_dir` of ``target``
    left beside it (a killed process never reaches its clean-up); return what was removed."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    patterns = (
        f".{glob.escape(target.name)}.{_RANDOM_PART}.tmp",
        f".{glob.escape(target.stem)}.{_RANDOM_PART}.tmp{glob.escape(target.suffix)}",
    )
    stale = sorted({path for pattern in patterns for path in target.parent.glob(pattern)})
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary name keeps the target's suffix, so writers that pick a format by extension
    (OpenCV, PyAV, matplotlib) still work. On an exception the temporary file is removed and
    ``target`` is left as it was; an operating-system error (no space, no permission) becomes
    a :class:`DataError` naming ``target``. Temporaries that a killed run left for the same
    target are removed first.
    """
    target = Path(target)
    with _named_failures(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
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

    ``target`` must not exist yet, or be an empty folder. Failures are reported as
    :func:`atomic_path` reports them, naming ``target`` (or the file under it).
    """
    target = Path(target)
    with _named_failures(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        with _named_failures(target, tmp):
            tmp.chmod(0o777 & ~_umask())
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


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Make sure results can be written into the folder ``path`` before any long work starts:
    it is a folder this user may write into, or a missing one whose nearest existing parent
    is; :class:`LvwallError` naming ``path`` and ``option`` otherwise. Nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LvwallError(f"{path}: {option} must be a folder, but this is a file")
    existing = next(folder for folder in (path, *path.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise LvwallError(f"{path}: {option} lies inside {existing}, which is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "is a folder" if existing == path else f"would be made in {existing}, a folder"
        raise LvwallError(f"{path}: {option} {where} this user may not write into")
    return path


def check_output_file(path: str | Path, option: str) -> Path:
    """Make sure the file ``path`` can be written before any long work starts (see
    :func:`check_output_dir` for its folder); :class:`LvwallError` naming ``path`` and
    ``option`` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise LvwallError(f"{path}: {option} must be a file, but this is a folder")
    existing = next(folder for folder in path.absolute().parents if folder.exists())
    if not existing.is_dir():
        raise LvwallError(f"{path}: {option} lies inside {existing}, which is a file")
    check_output_dir(path.parent, option)
    return path
