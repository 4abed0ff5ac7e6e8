"""One recording, or the A4C and A2C recordings of one heart as an exam, analysed for the
page: each recording segmented once, and from those frames the files that ``lvwall predict``,
``lvwall measure`` and ``lvwall regional`` write, and the overlay video.

``out_dir`` then holds what the three commands would write with ``--out out_dir/<command>``:

* ``predict/<name>/``: masks.npz, wall_area.csv, quality.csv and the overlay (.gif, .mp4
  or .png), one folder per recording;
* ``measure/<name>/``: measurements.json, measurements.csv, measurements.png; for an exam
  ``measure/<exam>/`` holds exam.json, segments.csv and exam.png, and each view's three
  files in ``A4C/`` and ``A2C/``, as ``lvwall measure A4C_FILE --a2c A2C_FILE`` writes them;
* ``regional/<name>/``: segments.npz, motion.csv, motion.png, diagram.png, overlay.png,
  segments.csv, of the cycle that measure found (its ED to the next ED; the whole recording
  where it found none, as ``lvwall regional`` without ``--start``/``--end``), per recording;
* ``serve/<name>/overlay.webm``: the wall coloured by segment, flagged frames marked, per
  recording.

Everything of a recording is named and coloured by its view (A4C or A2C: which six segments
its wall shows). A number or analysis that cannot be had (no complete cycle, a wall that does
not split) is reported with its reason, as the commands report it, and the rest is still
written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lvwall.atomic import to_plain
from lvwall.data import VIEWS, InputSource, Recording, exam_name, segment_names
from lvwall.infer import (
    DEFAULT_FPS,
    ORIGINAL_KEY,
    OUTPUT_WRITERS,
    PredictOptions,
    SegmentationModel,
    SegmentedCollector,
    SegmentedRecording,
    iter_npz_frames,
    segment_frames,
)
from lvwall.measure import (
    OUTPUT_FILES,
    Cycle,
    Measurements,
    measure_exam,
    measure_segmented,
    write_exam,
    write_measurements,
)
from lvwall.quality import ViewCall
from lvwall.regional import DEFAULT_SCORE, Thresholds, analyse_cycle, write_regional
from lvwall.serve.overlay import overlay_frames, write_webm
from lvwall.serve.quality import RecordingQuality
from lvwall.wall import SEGMENT_COLOURS, RegionalError, label_maps, split_predicted_sequence

#: The sub-folder of each command's outputs, by command.
PREDICT, MEASURE, REGIONAL, SERVE = "predict", "measure", "regional", "serve"
#: The page's overlay video in ``serve/<name>/``.
OVERLAY_VIDEO = "overlay.webm"
#: In an exam's files, the prefix of the A2C recording's keys (``a2c_overlay``) and of the
#: exam's own (``exam_json``, ``exam_segments``, ``exam_figure``); the A4C recording's keys
#: are those of a single recording.
A2C_PREFIX, EXAM_PREFIX = "a2c_", "exam_"


class AnalysisProgress(Protocol):
    """Told what the analysis is doing: a named stage of ``total`` steps (``None``: unknown
    or one), and each step done."""

    def stage(self, name: str, total: int | None = None) -> None: ...

    def advance(self) -> None: ...


@dataclass(frozen=True)
class Analysis:
    """What the page shows of a recording or exam (``summary``, plain JSON types) and the
    files written, by key, relative to the output folder (see :func:`analyse` and
    :func:`analyse_exam`)."""

    summary: dict[str, Any]
    files: dict[str, Path]


@dataclass(frozen=True)
class _Segmented:
    """One recording segmented: what measure, the regional analysis and the overlay video
    take of it, and predict's folder."""

    recording: Recording
    segmented: SegmentedRecording
    predict_dir: Path
    quality: RecordingQuality

    def masks_original(self) -> Iterator[np.ndarray]:
        """The masks at the frame's size, read one at a time from predict's masks.npz."""
        return iter_npz_frames(self.predict_dir / "masks.npz", ORIGINAL_KEY)


def _stage(progress: AnalysisProgress | None, name: str, total: int | None = None) -> None:
    if progress is not None:
        progress.stage(name, total)


def analyse(
    source: InputSource,
    model: SegmentationModel,
    out_dir: str | Path,
    *,
    view: str | None = None,
    thresholds: Sequence[Thresholds] = (),
    progress: AnalysisProgress | None = None,
) -> Analysis:
    """Segment ``source``, a recording of ``view`` (A4C or A2C; ``None``: the view classifier
    recognises it), with predict's default pipeline and write every output into ``out_dir``
    (see the module docstring); with ``thresholds`` of that view (learned per view, at most
    one per view) the regional analysis flags hypokinetic segments (possible MI) by their
    score.

    Raises :class:`~lvwall.errors.DataError` for a recording that cannot be read, as
    ``lvwall predict`` reports it.
    """
    out_dir = Path(out_dir)
    recording = source.open()
    segmented = _segment(recording, model, out_dir, progress, "")
    _stage(progress, "measuring")
    call = ViewCall.given(view) if view else segmented.segmented.recognise_view()
    measurements = measure_segmented(segmented.segmented, view=call)
    measure_paths = write_measurements(measurements, out_dir / MEASURE / recording.name)
    summary, files = _view_outputs(
        segmented, measurements, measure_paths, out_dir, thresholds, progress, ""
    )
    return Analysis(
        summary=to_plain({**summary, "model": model.description, "exam": None, "a2c": None}),
        files={key: path.relative_to(out_dir) for key, path in files.items()},
    )


def analyse_exam(
    four_chamber: InputSource,
    two_chamber: InputSource,
    model: SegmentationModel,
    out_dir: str | Path,
    *,
    thresholds: Sequence[Thresholds] = (),
    progress: AnalysisProgress | None = None,
) -> Analysis:
    """Analyse the A4C and A2C recordings of one heart as :func:`analyse` does each, and
    measure them together as one exam (:func:`lvwall.measure.measure_exam`: biplane volumes
    and EF, two-view GLS, twelve segments), written as ``lvwall measure --a2c`` writes it.

    The summary is the A4C recording's, with the exam (its ``exam.json``) under ``exam``
    and the A2C recording's own summary under ``a2c``; the A2C's files are keyed with
    :data:`A2C_PREFIX`, the exam's with :data:`EXAM_PREFIX`. The two sources must have
    different names (those of one :func:`lvwall.data.discover` call do): each recording
    has its own folders.
    """
    if four_chamber.name == two_chamber.name:
        raise ValueError(f"the two recordings of an exam share the name {four_chamber.name!r}")
    out_dir = Path(out_dir)
    # Both read before either is segmented: a second file that is no recording fails at once.
    recordings = dict(zip(VIEWS, (four_chamber.open(), two_chamber.open()), strict=True))
    segmented = {
        view: _segment(recording, model, out_dir, progress, f" the {view} recording")
        for view, recording in recordings.items()
    }
    _stage(progress, "measuring the exam")
    name = exam_name(four_chamber.name) or four_chamber.name
    exam = measure_exam(*(segmented[view].segmented for view in VIEWS), name=name)
    exam_paths = write_exam(exam, out_dir / MEASURE / name)
    outputs = {
        view: _view_outputs(
            segmented[view],
            exam.views[view],
            {key: out_dir / MEASURE / name / view / file for key, file in OUTPUT_FILES.items()},
            out_dir,
            thresholds,
            progress,
            f" of the {view} recording",
        )
        for view in VIEWS
    }
    (four, four_files), (two, two_files) = (outputs[view] for view in VIEWS)
    files = {
        **four_files,
        **{A2C_PREFIX + key: path for key, path in two_files.items()},
        **{EXAM_PREFIX + key: path for key, path in exam_paths.items()},
    }
    summary = {**four, "model": model.description, "exam": exam.to_json(), "a2c": two}
    return Analysis(
        summary=to_plain(summary),
        files={key: path.relative_to(out_dir) for key, path in files.items()},
    )


def _segment(
    recording: Recording,
    model: SegmentationModel,
    out_dir: Path,
    progress: AnalysisProgress | None,
    which: str,
) -> _Segmented:
    """Segment ``recording`` and write predict's files (``which``: the recording, in the
    stage's name)."""
    _stage(progress, f"segmenting{which}", recording.n_frames)
    collector = SegmentedCollector(recording, progress)
    frames = collector.keep(segment_frames(recording.frames(), model, PredictOptions()))
    predict_dir = OUTPUT_WRITERS["npz"].write(recording, frames, out_dir / PREDICT)
    segmented = collector.result()
    return _Segmented(recording, segmented, predict_dir, RecordingQuality.of(segmented.qualities))


def _view_outputs(
    segmented: _Segmented,
    measurements: Measurements,
    measure_paths: dict[str, Path],
    out_dir: Path,
    thresholds: Sequence[Thresholds],
    progress: AnalysisProgress | None,
    which: str,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The regional analysis and the overlay video of one measured recording (its view is
    that of ``measurements``): its summary for the page and every file of it, by key
    (``which``: the recording, in the stages' names)."""
    recording, quality, view = segmented.recording, segmented.quality, measurements.view
    name, masks = recording.name, segmented.segmented.masks
    _stage(progress, f"regional analysis{which}")
    regional, regional_paths = _regional(
        segmented.segmented,
        measurements.cycle,
        quality.flagged,
        out_dir / REGIONAL / name,
        view,
        thresholds,
    )

    _stage(progress, f"rendering the overlay video{which}", len(masks))
    video = out_dir / SERVE / name / OVERLAY_VIDEO
    write_webm(
        video,
        _counted(
            overlay_frames(
                recording.frames(),
                segmented.masks_original(),
                _overlay_labels(masks),
                quality.frame_flags,
                view,
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
        for path in sorted(segmented.predict_dir.iterdir())
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
        "view": view,
        "view_source": measurements.view_call.source,
        "view_probability": measurements.view_call.probability,
        "quality": quality.to_json(),
        "flagged": [index + 1 for index in quality.flagged],
        "measurements": measurements.to_json(),
        "regional": regional,
        "segment_colours": {segment: SEGMENT_COLOURS[segment] for segment in segment_names(view)},
    }
    return summary, files


def _counted(
    frames: Iterator[np.ndarray], progress: AnalysisProgress | None
) -> Iterator[np.ndarray]:
    for frame in frames:
        if progress is not None:
            progress.advance()
        yield frame


def _regional(
    segmented: SegmentedRecording,
    cycle: Cycle | None,
    flagged: list[int],
    folder: Path,
    view: str,
    thresholds: Sequence[Thresholds],
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The regional analysis of the measured cycle (the whole recording without one), with
    the ``flagged`` frames (0-based) held as ``lvwall regional`` holds them: its JSON for the
    page and the files written into ``folder``, or why it could not be made.

    ``thresholds`` flag segments only where one is of ``view`` (a thresholds file is of one
    view); the server's score is used either way, so that both views' tables compare.
    """
    name, masks = segmented.name, segmented.masks
    frames = cycle.frames if cycle is not None else range(len(masks))
    score = thresholds[0].score if thresholds else DEFAULT_SCORE
    applied = next((learned for learned in thresholds if learned.view == view), None)
    if applied is not None:
        no_flags = None
    elif not thresholds:
        no_flags = "start lvwall serve with --thresholds from lvwall regional-eval"
    else:
        views = " and ".join(learned.view for learned in thresholds)
        no_flags = f"the server's --thresholds are for the {views} view, not {view}"
    about: dict[str, Any] = {
        "first_frame": frames.start + 1,
        "last_frame": frames.stop,
        "cycle": cycle is not None,
        "score": score,
        "thresholds": applied is not None,
        "no_flags_reason": no_flags,
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
            thresholds=applied,
            source=source,
            excluded=[index - frames.start for index in flagged if index in frames],
            view=view,
        )
    except RegionalError as error:
        return {**about, "error": str(error)}, {}
    paths = write_regional(analysis, folder, segmented.greys[frames.start], title=name)
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
