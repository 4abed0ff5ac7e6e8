"""Segment many inputs into one output folder: each one on its own, every outcome reported."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from lvwall.data.inputs import InputSource, Recording
from lvwall.errors import DataError
from lvwall.infer.backends import SegmentationModel
from lvwall.infer.pipeline import PredictOptions, prefetched, segment_frames
from lvwall.infer.writers import OUTPUT_WRITERS
from lvwall.lookup import look_up


class PredictProgress(Protocol):
    """Receives progress from :func:`predict_sources` (a Rich progress bar in the CLI)."""

    def start(self, recording: Recording) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What became of one input: its output path, or the error (one sentence) it failed with."""

    source: InputSource
    output: Path | None
    n_frames: int
    seconds: float
    error: DataError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason(self) -> str:
        """Why it failed, without the input's path where the error names the input itself."""
        if self.error is None:
            return ""
        return self.error.problem if self.error.path == self.source.path else str(self.error)


def predict_sources(
    sources: Iterable[InputSource],
    model: SegmentationModel,
    options: PredictOptions,
    out_dir: str | Path,
    *,
    output_format: str = "npz",
    progress: PredictProgress | None = None,
) -> list[Outcome]:
    """Segment every source into ``out_dir`` in ``output_format`` (a key of
    :data:`~lvwall.infer.writers.OUTPUT_WRITERS`); a failing source leaves nothing behind
    and does not stop the others."""
    write = look_up(OUTPUT_WRITERS, output_format, "output format")
    out_dir = Path(out_dir)
    outcomes = []
    for source in sources:
        start = time.perf_counter()
        counter = _FrameCounter(progress)
        try:
            recording = source.open()
            if progress is not None:
                progress.start(recording)
            # Segmenting runs ahead in its own thread while this one writes (encoding the
            # overlay video takes about a quarter of the network's time per frame).
            segmented = prefetched(
                segment_frames(counter.count(recording.frames()), model, options),
                2 * options.batch_size,
                "lvwall-segment",
            )
            output = write(recording, segmented, out_dir)
        except DataError as error:
            seconds = time.perf_counter() - start
            outcomes.append(Outcome(source, None, counter.n_frames, seconds, error))
        else:
            seconds = time.perf_counter() - start
            outcomes.append(Outcome(source, output, counter.n_frames, seconds))
    return outcomes


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
