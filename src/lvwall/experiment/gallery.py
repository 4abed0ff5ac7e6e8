"""The report's figures for a finished experiment: which recordings to show, and their
predictions by the model of the fold that held each recording out.

* per loss, the best, median and worst recordings by Dice (input, ground truth, prediction);
* for the reference loss's median recording, its cardiac cycle as a strip of overlays, once
  per loss;
* learning curves per fold and loss, and box plots of every metric;
* saliency (vanilla gradient, as in Degerli et al., IEEE Access 2021) and learned filters
  from :mod:`lvwall.explain` for one frame. These are extras: if one fails, the report
  carries a note instead of the figure;
* the regional wall analysis (:mod:`lvwall.regional`) of the reference loss's median
  recording as predicted by its model: the six-segment split, the segments' motion over the
  cycle and their scores next to the recording's per-segment MI labels, as in the study's
  MI detection from the segmented wall. A wall the analysis cannot split gives a note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lvwall.data import SEGMENT_NAMES, SEGMENT_TITLES, LabelledRecording
from lvwall.errors import LvwallError
from lvwall.experiment.evaluate import predict_masks, predict_probabilities
from lvwall.experiment.figures import (
    Case,
    case_panels,
    cycle_strip,
    learning_curves,
    metric_boxplots,
    png_bytes,
    png_file_bytes,
    select_cases,
)
from lvwall.experiment.report import ReportFigure, ReportTable
from lvwall.experiment.results import PRIMARY_METRIC, ExperimentResults
from lvwall.experiment.stats import loss_label
from lvwall.explain import (
    explain_frame,
    feature_map_figure,
    feature_maps,
    first_convolution,
    grey_kernels,
    kernel_grid_figure,
    saliency_figure,
)
from lvwall.measure import measure_recording, plot_measurements
from lvwall.model import UNet
from lvwall.quality import check_recording
from lvwall.regional import (
    SCORE_RANGES,
    RegionalAnalysis,
    analyse_cycle,
    plot_motion_curves,
    plot_segment_diagram,
    plot_segment_overlay,
)

#: The model that scored a (fold number, loss) pair.
ModelLookup = Callable[[int, str], UNet]

SECTION_CASES = "Best, median and worst recordings"
SECTION_CYCLE = "One cardiac cycle"
SECTION_CURVES = "Learning curves"
SECTION_METRICS = "Metrics per recording"
SECTION_EXPLAIN = "What the network looks at"
SECTION_REGIONAL = "Regional wall analysis"


@dataclass(frozen=True)
class Gallery:
    """Figures in report order, their file stems, and notes on figures that were skipped."""

    figures: list[ReportFigure]
    stems: list[str]
    notes: list[str]


def _predict(model: UNet, frames: np.ndarray) -> np.ndarray:
    # A few recordings: the CPU is quick enough, and the models stay where load_model put them.
    return predict_masks(model.eval(), frames)


def _case_figure(
    results: ExperimentResults,
    loss: str,
    recordings: Mapping[str, LabelledRecording],
    model_for: ModelLookup,
) -> Figure:
    cases = []
    for label, row in select_cases(results.table, loss, PRIMARY_METRIC).items():
        recording = recordings[row["recording"]]
        frame = len(recording) // 2
        prediction = _predict(model_for(int(row["fold"]), loss), recording.frames[[frame]])
        cases.append(
            Case(
                title=f"{label}: {recording.name} (fold {row['fold']}), "
                f"recording Dice {row[PRIMARY_METRIC]:.3f}, frame {frame + 1}",
                frame=recording.frames[frame],
                truth=recording.masks[frame],
                prediction=prediction[0],
            )
        )
    return case_panels(cases, title=loss_label(loss))


def _median_recording(results: ExperimentResults) -> pd.Series:
    return select_cases(results.table, results.losses[0], PRIMARY_METRIC)["median"]


def _first_regional(
    results: ExperimentResults,
    recordings: Mapping[str, LabelledRecording],
    model_for: ModelLookup,
    median: LabelledRecording,
    median_predictions: Mapping[str, np.ndarray],
) -> tuple[list[tuple[str, str, bytes, str, ReportTable | None]], LvwallError | None]:
    """The regional figures of the median recording, else of the best or the worst one.

    A predicted wall that cannot be split is a finding about the model, not a failed run:
    the next case is tried, and the first error is returned when none splits.
    """
    reference = results.losses[0]
    cases = select_cases(results.table, reference, PRIMARY_METRIC)
    first_error: LvwallError | None = None
    for name in ("median", "best", "worst"):
        recording = recordings[cases[name]["recording"]]
        model = model_for(int(cases[name]["fold"]), reference)
        if recording is median:
            prediction = median_predictions[reference]
        else:
            prediction = _predict(model, recording.frames)
        probabilities = predict_probabilities(model.eval(), recording.frames)
        flags = [v.flags for v in check_recording(recording.frames, probabilities, prediction)]
        try:
            return _regional_figures(recording, prediction, flags, loss_label(reference)), None
        except LvwallError as error:
            first_error = first_error or error
    return [], first_error


def _explain_figures(
    model: UNet, frame: np.ndarray, title: str
) -> tuple[list[tuple[str, str, Figure, str]], list[str]]:
    drawers: list[tuple[str, str, Callable[[], Figure], str]] = [
        (
            "saliency",
            "Vanilla-gradient saliency",
            lambda: saliency_figure(explain_frame(model, frame, "vanilla"), title=title),
            "|d(summed wall probability)/d(input)| (Simonyan et al., 2014), the study's map; "
            "the explained region is outlined.",
        ),
        (
            "filters",
            "First-layer kernels",
            lambda: kernel_grid_figure(grey_kernels(first_convolution(model))),
            "The 3x3 kernels of the first convolution (red positive, blue negative).",
        ),
        (
            "feature_maps",
            "Feature maps",
            lambda: feature_map_figure(feature_maps(model, frame), frame),
            "The most active channels of each block for this frame.",
        ),
    ]
    drawn, notes = [], []
    for stem, name, draw, caption in drawers:
        try:
            drawn.append((stem, name, draw(), caption))
        # An explanation is an extra: whatever goes wrong in it must not cost the report.
        except Exception as error:
            notes.append(f"{name} skipped: {type(error).__name__}: {error}")
    return drawn, notes


def _mi_label(recording: LabelledRecording, segment: str) -> str:
    labels = recording.meta.get("segment_mi")
    if not isinstance(labels, Mapping) or segment not in labels:
        return "–"
    return "MI" if labels[segment] else "no MI"


def _regional_table(recording: LabelledRecording, analysis: RegionalAnalysis) -> ReportTable:
    motion = analysis.motion
    rows = tuple(
        (
            name,
            SEGMENT_TITLES[name],
            f"{100 * motion.max_displacement[index]:.1f}",
            f"{100 * motion.max_thickening[index]:.1f}",
            f"{analysis.scores[index]:.3g}",
            _mi_label(recording, name),
        )
        for index, name in enumerate(SEGMENT_NAMES)
    )
    header = (
        "Segment",
        "Wall",
        "Max displacement (% long axis)",
        "Max thickening (%)",
        f"Score ({analysis.score})",
        "MI label",
    )
    return ReportTable("regional", header, rows)


def _regional_figures(
    recording: LabelledRecording,
    prediction: np.ndarray,
    frame_flags: list[tuple[str, ...]],
    model_name: str,
) -> list[tuple[str, str, bytes, str, ReportTable | None]]:
    """The regional analysis of ``prediction`` (T, H, W), leaving out the frames quality
    control flagged, as (stem, title, PNG, caption, table); raises :class:`LvwallError`
    when the predicted wall cannot be split."""
    flagged = [index for index, flags in enumerate(frame_flags) if flags]
    analysis = analyse_cycle(
        prediction, source=f"{recording.name} ({model_name} prediction)", excluded=flagged
    )
    title = f"{model_name}: {recording.name}"
    unsplit = [index + 1 for index in analysis.held_frames if index not in flagged]
    held = "".join(
        (
            f" Frames {', '.join(str(index + 1) for index in flagged)} were flagged by "
            "quality control and hold the previous frame's split."
            if flagged
            else "",
            f" Frames {', '.join(map(str, unsplit))} could not be split and hold the previous "
            "frame's split."
            if unsplit
            else "",
        )
    )
    return [
        (
            "regional_overlay",
            "Segments of the predicted wall",
            png_file_bytes(
                lambda target: plot_segment_overlay(
                    recording.frames[0], analysis.labels[0], target, title=title
                )
            ),
            f"The {model_name} model's predicted wall on the first frame (the cycle's "
            "reference), split into the six A4C segments.",
            None,
        ),
        (
            "regional_motion",
            "Segment motion over the cycle",
            png_file_bytes(lambda target: plot_motion_curves(analysis.motion, target, title=title)),
            "Per-segment endocardial displacement and inward motion (% of the LV long axis) and "
            f"wall thickening over the cycle, measured on the predicted masks.{held}",
            None,
        ),
        (
            "regional_diagram",
            "Segment scores",
            png_file_bytes(
                lambda target: plot_segment_diagram(
                    analysis.scores,
                    target,
                    value_label=f"{analysis.score} score",
                    title=title,
                    value_range=SCORE_RANGES[analysis.score],
                )
            ),
            f"The {analysis.score} motion score of each segment (low: hypokinetic), next to the "
            "recording's per-segment MI labels (– : not labelled).",
            _regional_table(recording, analysis),
        ),
        _measurement_entry(recording, prediction, frame_flags, model_name, title),
    ]


def _measurement_entry(
    recording: LabelledRecording,
    prediction: np.ndarray,
    frame_flags: list[tuple[str, ...]],
    model_name: str,
    title: str,
) -> tuple[str, str, bytes, str, ReportTable | None]:
    """``lvwall measure`` of the predicted masks (with the frames' quality flags), with the
    same numbers from the recording's ground-truth masks beside them, so that what the
    segmentation costs shows."""
    predicted = measure_recording(prediction, frame_flags=frame_flags, name=recording.name)
    truth = measure_recording(recording.masks, name=recording.name)
    rows = [
        ("EF (%, discs)", "ef_percent", predicted.ef_percent, truth.ef_percent),
        ("GLS (%)", "gls_percent", predicted.gls_percent, truth.gls_percent),
        *(
            (
                f"{name} strain (%)",
                f"segments.{name}.strain_percent",
                predicted.segment_strain[name],
                truth.segment_strain[name],
            )
            for name in SEGMENT_NAMES
        ),
    ]
    table = ReportTable(
        "measurements",
        ("Number", f"{model_name} masks", "Ground-truth masks"),
        tuple(
            (label, _measured(ours, predicted.missing, key), _measured(theirs, truth.missing, key))
            for label, key, ours, theirs in rows
        ),
    )
    reason = predicted.missing.get("ef_percent")
    missing = (
        f" The {model_name} model's EF, GLS and strain are not measured: {reason}."
        if reason
        else ""
    )
    return (
        "measurements",
        "Volumes, EF and strain",
        png_file_bytes(lambda target: plot_measurements(predicted, target, title=title)),
        "The cavity volume over the cycle (method of discs, px3 as the spacing is not known) "
        "with ED and ES marked, longitudinal strain per segment and GLS, measured on the "
        f"{model_name} model's masks; the table sets the numbers of the ground-truth masks "
        f"beside them.{missing}",
        table,
    )


def _measured(value: float | None, missing: Mapping[str, str], key: str) -> str:
    """A number to one decimal, or why it is missing, said in its cell."""
    if value is not None:
        return f"{value:.1f}"
    return f"not measured: {missing[key]}" if key in missing else "not measured"


def study_gallery(
    results: ExperimentResults,
    recordings: Mapping[str, LabelledRecording],
    model_for: ModelLookup,
    histories: Mapping[str, Mapping[int, pd.DataFrame]],
) -> Gallery:
    """Every figure of the report for ``results``.

    ``recordings`` maps names to the recordings the models were scored on; ``model_for``
    gives the model of a (fold number, loss); ``histories[loss][fold]`` are the chosen runs'
    per-epoch metrics (``metrics.csv``).
    """
    figures: list[ReportFigure] = []
    stems: list[str] = []

    def add(stem: str, section: str, title: str, figure: Figure, caption: str) -> None:
        add_png(stem, section, title, png_bytes(figure), caption)

    def add_png(
        stem: str,
        section: str,
        title: str,
        png: bytes,
        caption: str,
        table: ReportTable | None = None,
    ) -> None:
        stems.append(stem)
        figures.append(ReportFigure(section, title, png, caption, table))

    for loss in results.losses:
        add(
            f"cases_{loss}",
            SECTION_CASES,
            f"{loss_label(loss)}: best, median and worst recordings",
            _case_figure(results, loss, recordings, model_for),
            f"{loss_label(loss)}: recordings ranked by their mean Dice over frames; the middle "
            "frame of each, with the ground truth (green) and the prediction (magenta) of the "
            "model that did not see it in training.",
        )
    median = _median_recording(results)
    recording = recordings[median["recording"]]
    predictions: dict[str, np.ndarray] = {}
    for loss in results.losses:
        prediction = _predict(model_for(int(median["fold"]), loss), recording.frames)
        predictions[loss] = prediction
        add(
            f"cycle_{loss}",
            SECTION_CYCLE,
            f"{loss_label(loss)}: {recording.name} over one cycle",
            cycle_strip(recording.frames, recording.masks, prediction, title=f"{loss_label(loss)}"),
            f"{recording.name} (the median recording of {loss_label(results.losses[0])}) "
            f"across its cardiac cycle: prediction filled in magenta, ground truth outlined in "
            "green.",
        )
    add(
        "learning_curves",
        SECTION_CURVES,
        "Learning curves",
        learning_curves(histories),
        "Training loss and inner-validation Dice per epoch of the chosen run of each fold.",
    )
    add(
        "metrics",
        SECTION_METRICS,
        "Metrics per recording",
        metric_boxplots(results.table, results.losses, results.metrics),
        "One dot per recording; boxes show the quartiles and the median.",
    )
    loss = results.losses[-1]
    frame = recording.frames[len(recording) // 2]
    explained, notes = _explain_figures(
        model_for(int(median["fold"]), loss), frame, f"{loss_label(loss)}: {recording.name}"
    )
    for stem, title, figure, caption in explained:
        add(stem, SECTION_EXPLAIN, title, figure, f"{loss_label(loss)} model. {caption}")
    regional, error = _first_regional(results, recordings, model_for, recording, predictions)
    if error is not None:
        notes.append(f"Regional wall analysis skipped: {error}")
    for stem, title, png, caption, table in regional:
        add_png(stem, SECTION_REGIONAL, title, png, caption, table)
    return Gallery(figures, stems, notes)
