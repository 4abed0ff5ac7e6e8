"""Segment many inputs into one output folder: each one on its own, every outcome reported.

Large batches resume and split without coordination: ``skip_existing`` leaves recordings
whose complete output is already there, and :func:`share` gives process ``part_id`` of
``num_parts`` its deterministic share of the inputs (nnU-Net's ``-num_parts``/``-part_id``,
for SLURM array jobs). Every run merges its outcomes into ``OUT/summary.csv``, one row per
input, under a lock on the output folder, so the parts of one batch fill one summary.
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
from lvwall.errors import DataError
from lvwall.infer.backends import SegmentationModel
from lvwall.infer.pipeline import PredictOptions, SegmentedFrame, prefetched, segment_frames
from lvwall.infer.writers import (
    OUTPUT_WRITERS,
    QUALITY_FILE,
    OutputWriter,
    quality_cells,
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
    ``skipped`` when its complete output was already there. ``qualities`` are its frames'
    quality verdicts (empty when skipped, failed or not checked)."""

    source: InputSource
    output: Path | None
    n_frames: int
    seconds: float
    error: DataError | None = None
    skipped: bool = False
    qualities: tuple[FrameQuality, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def n_flagged(self) -> int:
        """Frames that quality control flagged."""
        return sum(quality.flagged for quality in self.qualities)

    @property
    def status(self) -> str:
        """``ok``, ``skipped`` or ``failed``."""
        if self.error is not None:
            return "failed"
        return "skipped" if self.skipped else "ok"

    @property
    def reason(self) -> str:
        """Why it failed, without the input's path where the error names the input itself."""
        if self.error is None:
            return ""
        return self.error.problem if self.error.path == self.source.path else str(self.error)


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
    ``summary.csv``. A failing source (bad input, or an output that cannot be written) leaves
    nothing behind and does not stop the others; with ``skip_existing``, a source whose
    complete output exists is not segmented again."""
    writer = look_up(OUTPUT_WRITERS, output_format, "output format")
    out_dir = Path(out_dir)
    outcomes = [
        _predict_one(source, model, options, out_dir, writer, skip_existing, progress)
        for source in sources
    ]
    if outcomes:
        merge_summary(out_dir, outcomes)
        if output_format == "png" and options.quality:
            merge_png_quality(out_dir, outcomes)
    return outcomes


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
    target = writer.target(out_dir, source.name)
    if skip_existing and writer.is_complete(target):
        return Outcome(source, target, writer.frames_written(target), 0.0, skipped=True)
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
            2 * options.batch_size,
            "lvwall-segment",
        )
        with contextlib.closing(segmented):
            output = writer.write(recording, _noting_quality(segmented, qualities), out_dir)
    except DataError as error:
        return Outcome(source, None, counter.n_frames, time.perf_counter() - start, error)
    seconds = time.perf_counter() - start
    return Outcome(source, output, counter.n_frames, seconds, qualities=tuple(qualities))


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


def summary_row(outcome: Outcome) -> dict[str, str]:
    """One ``summary.csv`` row: the input as given, its output name, status, frames (those
    decoded before a failure, for a failed input), frames flagged by quality control (empty
    when not checked), output path and the reason of a failure."""
    return {
        "input": str(outcome.source.path),
        "name": outcome.source.name,
        "status": outcome.status,
        "frames": str(outcome.n_frames),
        "flagged": str(outcome.n_flagged) if outcome.qualities else "",
        "output": str(outcome.output) if outcome.output is not None else "",
        "reason": outcome.reason,
    }


def merge_summary(out_dir: Path, outcomes: Sequence[Outcome]) -> Path:
    """Write ``out_dir/summary.csv``: the rows already there, with those of ``outcomes``
    added or replaced (by input), in natural order of the inputs. A skipped input keeps the
    flag count of the run that made its output. Runs that share the folder (the parts of one
    batch) take turns under an exclusive lock on it."""
    path = out_dir / SUMMARY_FILE
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        rows = {row["input"]: row for row in _read_rows(path, SUMMARY_COLUMNS)}
        for outcome in outcomes:
            row = summary_row(outcome)
            if outcome.skipped and row["input"] in rows:
                row["flagged"] = rows[row["input"]]["flagged"]
            rows[row["input"]] = row
        return _write_rows(path, SUMMARY_COLUMNS, rows)


def merge_png_quality(out_dir: Path, outcomes: Sequence[Outcome]) -> Path:
    """Write ``out_dir/quality.csv`` of a ``--format png`` batch: one row per image (its
    name, quality and ``;``-separated flags), merged with the rows already there."""
    path = out_dir / QUALITY_FILE
    with _locked(out_dir):
        rows = {row["input"]: row for row in _read_rows(path, PNG_QUALITY_COLUMNS)}
        for outcome in outcomes:
            for quality in outcome.qualities:
                cells = quality_cells(quality)
                rows[outcome.source.name] = dict(
                    zip(PNG_QUALITY_COLUMNS, [outcome.source.name, *cells], strict=True)
                )
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
