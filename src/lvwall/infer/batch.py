"""Segment many inputs into one output folder: each one on its own, every outcome reported.

Large batches resume and split without coordination: ``skip_existing`` leaves recordings
whose complete output is already there, and :func:`share` gives process ``part_id`` of
``num_parts`` its deterministic share of the inputs (nnU-Net's ``-num_parts``/``-part_id``,
for SLURM array jobs). Every run merges each outcome into ``OUT/summary.csv`` as soon as it
is known, one row per input (by its resolved path), under a lock on the output folder, so the
parts of one batch fill one summary and an interrupted run keeps the rows it finished.

Outputs record the input they were made from (:func:`~lvwall.infer.writers.source_identity`),
so that ``skip_existing`` never takes another recording's outputs, or those of an input that
changed since, for this one's.
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from lvwall.data import InputSource, Recording, natural_key
from lvwall.errors import DataError, problem_with
from lvwall.infer.backends import SegmentationModel
from lvwall.infer.pipeline import (
    PredictOptions,
    SegmentedFrame,
    frames_in_flight,
    prefetched,
    segment_frames,
)
from lvwall.infer.writers import (
    OUTPUT_WRITERS,
    QUALITY_FILE,
    OutputWriter,
    quality_cells,
    source_identity,
    write_csv,
)
from lvwall.lookup import look_up
from lvwall.quality import FrameQuality

T = TypeVar("T")

#: The summary of every input written to an output folder.
SUMMARY_FILE = "summary.csv"
SUMMARY_COLUMNS = ("input", "name", "status", "frames", "flagged", "output", "reason")
#: The columns of the one quality file of a ``--format png`` batch.
PNG_QUALITY_COLUMNS = ("input", "quality", "flags")


class PredictProgress(Protocol):
    """Receives progress from :func:`predict_sources` (a Rich progress bar in the CLI)."""

    def start(self, recording: Recording) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What became of one input: its output path, or the error (one sentence) it failed with;
    ``skipped`` when its complete output was already there; ``redone`` why an output that
    was there was not taken as this input's (empty when none was there, or it was taken).
    ``qualities`` are its frames' quality verdicts (empty when skipped, failed or not
    checked); ``warnings`` what its reader noticed but read past (an ignored absurd DICOM
    value, fewer frames than its header promised)."""

    source: InputSource
    output: Path | None
    n_frames: int
    seconds: float
    error: DataError | None = None
    skipped: bool = False
    qualities: tuple[FrameQuality, ...] = ()
    redone: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def n_flagged(self) -> int:
        """Frames that quality control flagged."""
        return sum(quality.flagged for quality in self.qualities)

    @property
    def status(self) -> str:
        """``ok``, ``skipped`` or ``failed`` (``summary.csv`` also has ``replaced``: a row
        whose output a later run gave to another input)."""
        if self.error is not None:
            return "failed"
        return "skipped" if self.skipped else "ok"

    @property
    def reason(self) -> str:
        """Why it failed, without the input's path where the error names the input itself;
        for an input that did not fail, why its earlier output was redone and what its reader
        warned of (or nothing)."""
        if self.error is None:
            return "; ".join(filter(None, (self.redone, *self.warnings)))
        return problem_with(self.error, self.source.path)


def share(items: Sequence[T], num_parts: int = 1, part_id: int = 0) -> list[T]:
    """Part ``part_id`` (0-based) of ``num_parts`` of ``items``: every ``num_parts``-th item
    from ``part_id`` on, so that the parts are disjoint, cover ``items`` and differ in size by
    one at most."""
    if num_parts < 1:
        raise ValueError(f"num_parts must be at least 1, got {num_parts}")
    if not 0 <= part_id < num_parts:
        raise ValueError(f"part_id must be in 0..{num_parts - 1}, got {part_id}")
    return list(items[part_id::num_parts])


def predict_sources(
    sources: Iterable[InputSource],
    model: SegmentationModel,
    options: PredictOptions,
    out_dir: str | Path,
    *,
    output_format: str = "npz",
    skip_existing: bool = False,
    progress: PredictProgress | None = None,
) -> list[Outcome]:
    """Segment every source into ``out_dir`` in ``output_format`` (a key of
    :data:`~lvwall.infer.writers.OUTPUT_WRITERS`) and merge the outcomes into its
    ``summary.csv``, each as soon as it is known (an exception or Ctrl+C part-way leaves the
    rows of the inputs finished). A failing source (bad input, or an output that cannot be
    written) leaves nothing behind and does not stop the others; with ``skip_existing``, a
    source whose complete output records this very input (:func:`reusable`) is not segmented
    again."""
    writer = look_up(OUTPUT_WRITERS, output_format, "output format")
    out_dir = Path(out_dir)
    outcomes = []
    for source in sources:
        outcome = _predict_one(source, model, options, out_dir, writer, skip_existing, progress)
        merge_summary(out_dir, [outcome])
        if output_format == "png" and options.quality:
            merge_png_quality(out_dir, [outcome])
        outcomes.append(outcome)
    return outcomes


def reusable(writer: OutputWriter, target: Path, source: InputSource) -> str | None:
    """``None`` when ``target`` is a complete, readable output made from ``source`` as it is
    now (same resolved path, size and modification time); else one phrase that says why it
    must be redone, naming the output (``""`` when there is no output at all)."""
    if not target.exists():
        return ""
    try:
        recorded = writer.recorded_source(target)
    except DataError as error:
        where = (
            error.path.relative_to(target.parent)
            if error.path.is_relative_to(target.parent)
            else error.path
        )
        return f"{where} {error.problem}"
    current = source_identity(source.path)
    if current is None:
        return f"{target.name} cannot be checked against its input (unreadable)"
    if recorded["path"] != current["path"]:
        return f"{target.name} held the outputs of another input ({recorded['path']})"
    if (recorded["size"], recorded["mtime_ns"]) != (current["size"], current["mtime_ns"]):
        return f"{target.name} is older than its input (its size or modification time changed)"
    return None


def _predict_one(
    source: InputSource,
    model: SegmentationModel,
    options: PredictOptions,
    out_dir: Path,
    writer: OutputWriter,
    skip_existing: bool,
    progress: PredictProgress | None,
) -> Outcome:
    start = time.perf_counter()
    redone = ""
    if skip_existing:
        target = writer.target(out_dir, source.name)
        why = reusable(writer, target, source)
        if why is None:
            return Outcome(source, target, writer.frames_written(target), 0.0, skipped=True)
        redone = f"redone: {why}" if why else ""
    counter = _FrameCounter(progress)
    qualities: list[FrameQuality] = []
    try:
        recording = source.open()
        if progress is not None:
            progress.start(recording)
        # Segmenting runs ahead in its own thread while this one writes (encoding the
        # overlay video takes about a quarter of the network's time per frame). Closed on
        # every exit, so that no thread is left inside the network when a write fails.
        segmented = prefetched(
            segment_frames(counter.count(recording.frames()), model, options),
            frames_in_flight(recording.height, recording.width, options.batch_size),
            "lvwall-segment",
        )
        with contextlib.closing(segmented):
            output = writer.write(recording, _noting_quality(segmented, qualities), out_dir)
    except DataError as error:
        return Outcome(source, None, counter.n_frames, time.perf_counter() - start, error)
    seconds = time.perf_counter() - start
    return Outcome(
        source,
        output,
        counter.n_frames,
        seconds,
        qualities=tuple(qualities),
        redone=redone,
        warnings=tuple(recording.warnings),
    )


def _noting_quality(
    frames: Iterator[SegmentedFrame], qualities: list[FrameQuality]
) -> Iterator[SegmentedFrame]:
    """The frames, each one's quality appended to ``qualities`` as it passes."""
    for frame in frames:
        if frame.quality is not None:
            qualities.append(frame.quality)
        yield frame


class _FrameCounter:
    """Counts decoded frames on their way into the pipeline and reports them as progress."""

    def __init__(self, progress: PredictProgress | None) -> None:
        self.progress = progress
        self.n_frames = 0

    def count(self, frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in frames:
            self.n_frames += 1
            if self.progress is not None:
                self.progress.advance()
            yield frame


def readable_text(text: str) -> str:
    """``text`` with the bytes of an undecodable file name (surrogate escapes) written as
    ``\\xNN``, so that it can be printed and written as UTF-8 whatever the name's bytes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def input_key(path: Path) -> str:
    """The key of an input's ``summary.csv`` row: its resolved path, as readable text."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path.absolute()
    return readable_text(str(resolved))


def summary_row(outcome: Outcome) -> dict[str, str]:
    """One ``summary.csv`` row: the input (its resolved path), its output name, status,
    frames (those decoded before a failure, for a failed input), frames flagged by quality
    control (empty when not checked), output path and the reason of a failure (or why an
    earlier output was redone). Undecodable bytes of names are written as ``\\xNN``."""
    return {
        "input": input_key(outcome.source.path),
        "name": readable_text(outcome.source.name),
        "status": outcome.status,
        "frames": str(outcome.n_frames),
        "flagged": str(outcome.n_flagged) if outcome.qualities else "",
        "output": readable_text(str(outcome.output)) if outcome.output is not None else "",
        "reason": readable_text(outcome.reason),
    }


def merge_summary(out_dir: Path, outcomes: Sequence[Outcome]) -> Path:
    """Write ``out_dir/summary.csv`` atomically: the rows already there, with those of
    ``outcomes`` added or replaced (by resolved input path; a relative path of an older
    summary is resolved first), in natural order of the inputs. A skipped input keeps the
    flag count of the run that made its output. Runs that share the folder (the parts of one
    batch) take turns under an exclusive lock on it."""
    path = out_dir / SUMMARY_FILE
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        rows = {}
        for row in _read_rows(path, SUMMARY_COLUMNS):
            key = row["input"] if Path(row["input"]).is_absolute() else None
            row["input"] = key or input_key(Path(row["input"]))
            rows[row["input"]] = row
        for outcome in outcomes:
            row = summary_row(outcome)
            if outcome.skipped and row["input"] in rows:
                row["flagged"] = rows[row["input"]]["flagged"]
            if outcome.output is not None and not outcome.skipped:
                _mark_replaced(rows, row)
            rows[row["input"]] = row
        return _write_rows(path, SUMMARY_COLUMNS, rows)


def _mark_replaced(rows: dict[str, dict[str, str]], row: dict[str, str]) -> None:
    """Rows of other inputs whose output ``row``'s input has just overwritten (the same name
    in another run with other inputs) become ``replaced``: they no longer point at it."""
    written = Path(row["output"]).absolute()
    for other in rows.values():
        if (
            other["input"] != row["input"]
            and other["output"]
            and Path(other["output"]).absolute() == written
        ):
            other.update(
                status="replaced",
                output="",
                reason=f"its output {row['output']} now holds {row['input']}'s; run it again",
            )


def merge_png_quality(out_dir: Path, outcomes: Sequence[Outcome]) -> Path:
    """Write ``out_dir/quality.csv`` of a ``--format png`` batch: one row per image (its
    name, quality and ``;``-separated flags), merged with the rows already there."""
    path = out_dir / QUALITY_FILE
    with _locked(out_dir):
        rows = {row["input"]: row for row in _read_rows(path, PNG_QUALITY_COLUMNS)}
        for outcome in outcomes:
            for quality in outcome.qualities:
                name = readable_text(outcome.source.name)
                cells = quality_cells(quality)
                rows[name] = dict(zip(PNG_QUALITY_COLUMNS, [name, *cells], strict=True))
        return _write_rows(path, PNG_QUALITY_COLUMNS, rows)


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != columns:
            raise DataError(
                path, f"was not written by lvwall predict (expected the columns {list(columns)})"
            )
        return list(reader)


def _write_rows(path: Path, columns: tuple[str, ...], rows: dict[str, dict[str, str]]) -> Path:
    """``rows`` by key, in natural order of the keys."""
    ordered = [[rows[key][column] for column in columns] for key in sorted(rows, key=natural_key)]
    return write_csv(path, columns, ordered)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder``: ``flock`` on Linux and macOS (NFS emulates
    it); none on Windows, where the parts of a batch need their own output folders."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
