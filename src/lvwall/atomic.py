"""Write files so that a crash, a full disk or a bad input never leaves a half-written result
behind, and every failure names the file it could not write."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import math
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lvwall.errors import DataError, OutputError

#: The owner part of a temporary name: the process that writes it, on this machine.
_OWNER = re.compile(r"(?P<pid>[0-9]+)@(?P<host>[0-9a-f]{6})")
#: The middle of a temporary name: its owner, then :mod:`tempfile`'s random part (an owner is
#: absent from the temporaries of older lvwall versions, which count as stale).
_MIDDLE = re.compile(rf"(?:{_OWNER.pattern}\.)?[a-z0-9_]{{8}}")


def _host_tag() -> str:
    """Six hex digits that tell this machine from others sharing a folder (NFS)."""
    return hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:6]


def _owner() -> str:
    """This process as a temporary name records it: ``<pid>@<host tag>``."""
    return f"{os.getpid()}@{_host_tag()}"


def _is_stale(middle: str) -> bool:
    """Whether a temporary with this middle part was left by a process that is gone: one of
    this machine that no longer runs, or one that recorded no owner. Another live process's
    temporaries, and another machine's, are left alone."""
    match = _MIDDLE.fullmatch(middle)
    if match is None:
        return False  # not a temporary of ours at all
    if match["pid"] is None:
        return True
    if match["host"] != _host_tag():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


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
    left beside it (a killed process never reaches its clean-up); return what was removed.

    A temporary name records the process that writes it, so that the temporaries of another
    run writing into the same folder at the same time are not taken for stale ones.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    shapes = (  # (glob, prefix, ending) of a folder's or file's temporaries, then a file's
        (f".{glob.escape(target.name)}.*.tmp", f".{target.name}.", ".tmp"),
        (
            f".{glob.escape(target.stem)}.*.tmp{glob.escape(target.suffix)}",
            f".{target.stem}.",
            f".tmp{target.suffix}",
        ),
    )
    stale = sorted(
        {
            path
            for pattern, prefix, ending in shapes
            for path in target.parent.glob(pattern)
            if _is_stale(path.name[len(prefix) : len(path.name) - len(ending)])
        }
    )
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
            prefix=f".{target.stem}.{_owner()}.", suffix=f".tmp{target.suffix}", dir=target.parent
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
def atomic_dir(target: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; move it onto ``target`` on success.

    ``target`` must not exist yet, or be an empty folder; with ``replace``, a ``target``
    there is replaced whole (also one that another run finished meanwhile). Failures are
    reported as :func:`atomic_path` reports them, naming ``target`` (or the file under it).
    """
    target = Path(target)
    with _named_failures(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        tmp = _owned_temporary_dir(target)
    try:
        with _named_failures(target, tmp):
            tmp.chmod(0o777 & ~_umask())
            yield tmp
            _move_into_place(tmp, target, replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _owned_temporary_dir(target: Path) -> Path:
    """A new empty folder beside ``target`` under a temporary name owned by this process."""
    return Path(
        tempfile.mkdtemp(prefix=f".{target.name}.{_owner()}.", suffix=".tmp", dir=target.parent)
    )


#: How often :func:`_move_into_place` tries again when other runs keep finishing the same
#: target in between.
_PLACE_ATTEMPTS = 3


def _move_into_place(tmp: Path, target: Path, replace: bool) -> None:
    """Rename the finished folder ``tmp`` onto ``target``. An empty ``target`` is removed
    first; with ``replace`` any ``target`` is first moved aside (under a temporary name of
    this process) and removed, so that no reader ever sees half of one and half of another."""
    for attempt in range(1, _PLACE_ATTEMPTS + 1):
        if replace and target.is_dir():
            aside = _owned_temporary_dir(target)
            try:
                target.replace(aside)  # onto the empty folder: rename(2) allows it
            except FileNotFoundError:  # another run moved it meanwhile
                pass
            except OSError:  # a mount point does not move: empty it where it is
                shutil.rmtree(target)
            finally:
                shutil.rmtree(aside, ignore_errors=True)
        elif target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        try:
            tmp.rename(target)
            return
        except OSError as error:
            # Another run put its own output in place between the two steps.
            if not replace or error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            if attempt == _PLACE_ATTEMPTS:
                raise


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
    is; :class:`OutputError` naming ``path`` and ``option`` otherwise. Nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(path, f"{option} must be a folder, but this is a file")
    existing = next(folder for folder in (path, *path.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise OutputError(path, f"{option} lies inside {existing}, which is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "is a folder" if existing == path else f"would be made in {existing}, a folder"
        raise OutputError(path, f"{option} {where} this user may not write into")
    return path


def check_output_file(path: str | Path, option: str) -> Path:
    """Make sure the file ``path`` can be written before any long work starts (see
    :func:`check_output_dir` for its folder); :class:`OutputError` naming ``path`` and
    ``option`` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, f"{option} must be a file, but this is a folder")
    existing = next(folder for folder in path.absolute().parents if folder.exists())
    if not existing.is_dir():
        raise OutputError(path, f"{option} lies inside {existing}, which is a file")
    check_output_dir(path.parent, option)
    return path
