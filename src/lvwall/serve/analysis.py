"""One recording analysed for the page: segmented once, and from those frames the files that
``lvwall predict``, ``lvwall measure`` and ``lvwall regional`` write, and the overlay video.

``out_dir`` then holds what the three commands would write with ``--out out_dir/<command>``:

* ``predict/<name>/``: masks.npz, wall_area.csv, quality.csv and the overlay (.gif, .mp4
  or .png);
* ``measure/<name>/``: measurements.json, measurements.csv, measurements.png;
* ``regional/<name>/``: segments.npz, motion.csv, motion.png, diagram.png, overlay.png,
  segments.csv, of the cycle that measure found (its ED to the next ED; the whole recording
  where it found none, as ``lvwall regional`` without ``--start``/``--end``);
* ``serve/<name>/overlay.webm``: the wall coloured by segment, flagged frames marked.

A number or analysis that cannot be had (no complete cycle, a wall that does not split) is
reported with its reason, as the commands report it, and the rest is still written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lvwall.atomic import to_plain
from lvwall.data import InputSource
from lvwall.infer import (
    DEFAULT_FPS,
    OUTPUT_WRITERS,
    PredictOptions,
    SegmentationModel,
    SegmentedCollector,
    SegmentedFrame,
    segment_frames,
)
from lvwall.measure import Cycle, measure_segmented, write_measurements
from lvwall.regional import DEFAULT_SCORE, Thresholds, analyse_cycle, write_regional
from lvwall.serve.overlay import overlay_frames, write_webm
from lvwall.serve.quality import RecordingQuality
from lvwall.wall import SEGMENT_COLOURS, RegionalError, label_maps, split_predicted_sequence

#: The sub-folder of each command's outputs, by command.
PREDICT, MEASURE, REGIONAL, SERVE = "predict", "measure", "regional", "serve"
#: The page's overlay video in ``serve/<name>/``.
OVERLAY_VIDEO = "overlay.webm"


class AnalysisProgress(Protocol):
    """Told what the analysis is doing: a named stage of ``total`` steps (``None``: unknown
    or one), and each step done."""

    def stage(self, name: str, total: int | None = None) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class Analysis:
    """What the page shows of a recording (``summary``, plain JSON types) and the files
    written, by key, relative to the output folder (see :func:`analyse`)."""

    summary: dict[str, Any]
    files: dict[str, Path]


def _keep_original_masks(
    frames: Iterator[SegmentedFrame], kept: list[np.ndarray]
) -> Iterator[SegmentedFrame]:
    """Yield ``frames``, keeping their frame-size masks for the page's overlay video."""
    for frame in frames:
        kept.append(frame.mask_original)
        yield frame


def analyse(
    source: InputSource,
    model: SegmentationModel,
    out_dir: str | Path,
    *,
    thresholds: Thresholds | None = None,
    progress: AnalysisProgress | None = None,
) -> Analysis:
    """Segment ``source`` with predict's default pipeline and write every output into
    ``out_dir`` (see the module docstring); with ``thresholds`` the regional analysis flags
    hypokinetic segments (possible MI) by their score.

    Raises :class:`~lvwall.errors.DataError` for a recording that cannot be read, as
    ``lvwall predict`` reports it.
    """
    out_dir = Path(out_dir)
    recording = source.open()
    name = recording.name
    if progress is not None:
        progress.stage("segmenting", recording.n_frames)
    collector = SegmentedCollector(recording, progress)
    masks_original: list[np.ndarray] = []
    frames = _keep_original_masks(
        collector.keep(segment_frames(recording.frames(), model, PredictOptions())),
        masks_original,
    )
    predict_dir = OUTPUT_WRITERS["npz"].write(recording, frames, out_dir / PREDICT)
    segmented = collector.result()
    masks = segmented.masks
    quality = RecordingQuality.of(segmented.qualities)

    if progress is not None:
        progress.stage("measuring")
    measurements = measure_segmented(segmented)
    measure_paths = write_measurements(measurements, out_dir / MEASURE / name)

    if progress is not None:
        progress.stage("regional analysis")
    score = thresholds.score if thresholds is not None else DEFAULT_SCORE
    regional, regional_paths = _regional(
        masks,
        segmented.greys,
        measurements.cycle,
        quality.flagged,
        (out_dir / REGIONAL / name, name),
        score,
        thresholds,
    )

    if progress is not None:
        progress.stage("rendering the overlay video", len(masks))
    video = out_dir / SERVE / name / OVERLAY_VIDEO
    write_webm(
        video,
        _counted(
            overlay_frames(
                recording.frames(), masks_original, _overlay_labels(masks), quality.frame_flags
            ),
            progress,
        ),
        recording.fps or DEFAULT_FPS,
    )

    files = {"overlay": video}
    # Predict's files by their stem (masks, wall_area, quality, ...); its own overlay video
    # under another key than the page's.
    files |= {
        "predict_overlay" if path.stem == "overlay" else path.stem: path
        for path in sorted(predict_dir.iterdir())
    }
    files |= {f"measure_{key}": path for key, path in measure_paths.items()}
    files |= {f"regional_{key}": path for key, path in regional_paths.items()}
    summary = {
        "name": name,
        "kind": recording.kind,
        "frames": len(masks),
        "fps": recording.fps or DEFAULT_FPS,
        "width": recording.width,
        "height": recording.height,
        "pixel_spacing_mm": recording.pixel_spacing_mm,
        "model": model.description,
        "quality": quality.to_json(),
        "flagged": quality.flagged,
        "measurements": measurements.to_json(),
        "regional": regional,
        "segment_colours": SEGMENT_COLOURS,
    }
    return Analysis(
        summary=to_plain(summary),
        files={key: path.relative_to(out_dir) for key, path in files.items()},
    )


def _counted(
    frames: Iterator[np.ndarray], progress: AnalysisProgress | None
) -> Iterator[np.ndarray]:
    for frame in frames:
        if progress is not None:
            progress.advance()
        yield frame


def _regional(
    masks: np.ndarray,
    greys: np.ndarray,
    cycle: Cycle | None,
    flagged: list[int],
    where: tuple[Path, str],
    score: str,
    thresholds: Thresholds | None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The regional analysis of the measured cycle (the whole recording without one), with
    the ``flagged`` frames (0-based) held as ``lvwall regional`` holds them: its JSON for the
    page and the files written (into ``where``: folder and name), or why it could not be
    made."""
    folder, name = where
    frames = cycle.frames if cycle is not None else range(len(masks))
    about: dict[str, Any] = {
        "first_frame": frames.start + 1,
        "last_frame": frames.stop,
        "cycle": cycle is not None,
        "score": score,
        "thresholds": thresholds is not None,
    }
    if len(frames) < 2:
        return {
            **about,
            "error": f"{name}: has {len(frames)} frame; motion needs a cycle of at least two",
        }, {}
    source = name if frames.start == 0 else f"{name} (cycle from frame {frames.start + 1})"
    try:
        analysis = analyse_cycle(
            masks[frames.start : frames.stop],
            score=score,
            thresholds=thresholds,
            source=source,
            excluded=[index - frames.start for index in flagged if index in frames],
        )
    except RegionalError as error:
        return {**about, "error": str(error)}, {}
    paths = write_regional(analysis, folder, greys[frames.start], title=name)
    return {
        **about,
        "held_frames": [frames.start + index + 1 for index in analysis.held_frames],
        "excluded_frames": [frames.start + index + 1 for index in analysis.excluded_frames],
        "segments": analysis.table().to_dict(orient="records"),
        "error": None,
    }, paths


def _overlay_labels(masks: np.ndarray) -> np.ndarray | None:
    """Each frame's segment labels for the overlay video; ``None`` when the recording's
    wall cannot be split (the video then shows the wall in one colour)."""
    try:
        splits, _ = split_predicted_sequence(masks)
    except RegionalError:
        return None
    return label_maps(splits)
