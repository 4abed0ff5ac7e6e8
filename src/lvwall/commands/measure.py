"""``lvwall measure``: LV volumes, EF, GLS and segmental strain of apical recordings, single
views or two-view exams (biplane EF, twelve segments)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from lvwall.atomic import check_output_dir
from lvwall.commands._console import FrameProgress
from lvwall.commands._options import (
    model_option,
    out_option,
    recording_view_option,
    spacing_option,
)
from lvwall.commands._view import choose_view
from lvwall.data import InputSource, discover, exam_name, pair_exams, pair_stills
from lvwall.errors import LvwallError, problem_with
from lvwall.infer import (
    SegmentationModel,
    SegmentedRecording,
    join_stills,
    load_segmentation_model,
    npz_recording_name,
    read_masks_npz,
    segment_recording,
)
from lvwall.measure import (
    ExamMeasurements,
    Measurements,
    measure_exam,
    measure_segmented,
    write_exam,
    write_measurements,
)
from lvwall.quality import ViewCall

#: The (ED, ES) frames of a still pair, as :func:`lvwall.infer.join_stills` orders them.
STILL_PHASES = (0, 1)


def command(
    inputs: list[Path] = typer.Argument(
        None,
        help="Recordings (videos, GIFs, DICOM files, folders of frames, or folders of these) "
        "to segment, masks.npz files written by `lvwall predict`, or ED/ES stills named "
        "NAME_ED.png and NAME_ES.png.",
        show_default=False,
    ),
    out: Path = out_option(
        "Folder for the results; each recording's (or exam's) go to OUT/<name>/."
    ),
    model: Path | None = model_option("Model for recordings"),
    spacing: float | None = spacing_option(),
    view: str | None = recording_view_option("the inputs (not of --a2c)"),
    a2c: Path | None = typer.Option(
        None,
        "--a2c",
        help="The A2C recording of the same heart as the one A4C input: measure both as one "
        "exam (biplane volumes and EF, twelve segments).",
    ),
    ed: Path | None = typer.Option(
        None, "--ed", help="An end-diastolic still (image); give --es with it."
    ),
    es: Path | None = typer.Option(
        None, "--es", help="The end-systolic still of the same view as --ed."
    ),
    exams: bool = typer.Option(
        False,
        "--exams",
        help="Pair the inputs into A4C/A2C exams by the view token in their names "
        "(4CH/CH4/A4C and 2CH/CH2/A2C; see docs/measure.md).",
    ),
) -> None:
    """Measure LV volumes (method of discs and area-length), ejection fraction, global
    longitudinal strain and the six segments' strain of each apical recording, each with an
    interval from the segmentation's uncertainty; with an A2C recording of the same heart
    (--a2c, or --exams for a batch), also biplane volumes and EF and all twelve segments.

    Writes OUT/<name>/measurements.json, measurements.csv (one row per frame) and
    measurements.png; an exam writes OUT/<exam>/exam.json, segments.csv and exam.png, and
    each view's files in OUT/<exam>/A4C/ and A2C/. ED and ES are the largest and smallest
    cavity of the first complete cycle, or the stills as given (--ed/--es, NAME_ED/NAME_ES).
    Numbers that cannot be trusted are written as null with the reason. Every input is
    processed even when others fail; the exit code is 1 if any failed.
    """
    console = Console(stderr=True)
    check_output_dir(out)
    if (ed is None) != (es is None):
        raise typer.BadParameter("give --ed and --es together", param_hint="--ed/--es")
    parts = _parts(inputs or [], ed, es, view, out)
    if not parts and a2c is None:
        raise typer.BadParameter("give recordings, masks.npz files or --ed/--es stills")
    jobs = _jobs(parts, a2c, exams, console)
    segmenter = _Segmenter(model, console)
    with segmenter.progress:
        outcomes = [job.run(segmenter, out, spacing, console) for job in jobs]
    _print_summary(outcomes)
    if not outcomes or not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(1)


class _Segmenter:
    """Loads the model on first use (masks.npz inputs need none) and segments sources."""

    def __init__(self, model: Path | None, console: Console) -> None:
        self.model_path, self.console = model, console
        self.model: SegmentationModel | None = None
        self.progress = FrameProgress(console, verb="segmenting")

    def segment(self, source: InputSource) -> SegmentedRecording:
        if self.model is None:
            self.model = load_segmentation_model(self.model_path)
            self.console.print(f"model: {self.model.description}", highlight=False)
        return segment_recording(source, self.model, self.progress)


@dataclass(frozen=True)
class _Part:
    """One view's input: how to read its segmented recording, and its phases if given."""

    label: str
    name: str
    view: str | None
    read: Callable[[_Segmenter], SegmentedRecording]
    phases: tuple[int, int] | None = None

    def read_with_view(
        self, segmenter: _Segmenter, console: Console
    ) -> tuple[SegmentedRecording, ViewCall]:
        """The segmented recording and the view it is measured as (:func:`choose_view`),
        with a warning printed where the classifier disagrees with a given view."""
        recording = self.read(segmenter)
        call, warning = choose_view(recording, self.view)
        if warning:
            console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        return recording, call


def _parts(
    inputs: list[Path], ed: Path | None, es: Path | None, view: str | None, out: Path | None
) -> list[_Part]:
    parts = [
        _Part(str(path), npz_recording_name(path), view, lambda _, path=path: read_masks_npz(path))
        for path in inputs
        if path.suffix.lower() == ".npz"
    ]
    sources = discover([path for path in inputs if path.suffix.lower() != ".npz"], skip_folder=out)
    by_stem = {source.path.stem: source for source in sources}
    stills = pair_stills(list(by_stem))
    for stem, (ed_stem, es_stem) in stills.pairs.items():
        parts.append(_stills_part(by_stem[ed_stem], by_stem[es_stem], stem, view))
    parts += [
        _Part(str(by_stem[stem].path), by_stem[stem].name, view, _segmenting(by_stem[stem]))
        for stem in stills.alone
    ]
    if ed is not None and es is not None:
        ed_source, es_source = discover([ed, es])
        parts.append(_stills_part(ed_source, es_source, ed.stem, view))
    return parts


def _segmenting(source: InputSource) -> Callable[[_Segmenter], SegmentedRecording]:
    return lambda segmenter: segmenter.segment(source)


def _stills_part(ed: InputSource, es: InputSource, name: str, view: str | None) -> _Part:
    def read(segmenter: _Segmenter) -> SegmentedRecording:
        return join_stills(segmenter.segment(ed), segmenter.segment(es), name)

    return _Part(f"{ed.path} + {es.path.name}", name, view, read, STILL_PHASES)


@dataclass(frozen=True)
class _Outcome:
    label: str
    view: str
    measurements: Measurements | ExamMeasurements | None = None
    folder: Path | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.measurements is not None


@dataclass(frozen=True)
class _Single:
    part: _Part

    def run(self, segmenter: _Segmenter, out: Path, spacing: float | None, console) -> _Outcome:
        part = self.part
        try:
            recording, call = part.read_with_view(segmenter, console)
            with console.status(f"measuring {escape(recording.name)}"):
                result = measure_segmented(
                    recording, spacing_mm=spacing, view=call, phases=part.phases
                )
                paths = write_measurements(result, out / recording.name)
        except LvwallError as error:
            return _Outcome(
                part.label, part.view or "view not decided", error=problem_with(error, part.label)
            )
        return _Outcome(part.label, call.describe(), result, paths["json"].parent)


@dataclass(frozen=True)
class _Exam:
    name: str
    four_chamber: _Part
    two_chamber: _Part

    def run(self, segmenter: _Segmenter, out: Path, spacing: float | None, console) -> _Outcome:
        label = self.name
        try:
            recordings = [
                part.read_with_view(segmenter, console)[0]
                for part in (self.four_chamber, self.two_chamber)
            ]
            phases = {
                part.view: part.phases
                for part in (self.four_chamber, self.two_chamber)
                if part.phases is not None
            }
            with console.status(f"measuring exam {escape(self.name)}"):
                result = measure_exam(
                    *recordings, spacing_mm=spacing, phases=phases, name=self.name
                )
                paths = write_exam(result, out / self.name)
        except LvwallError as error:
            return _Outcome(label, "A4C+A2C", error=str(error))
        return _Outcome(label, "A4C+A2C", result, paths["json"].parent)


def _as_view(part: _Part, view: str) -> _Part:
    return _Part(part.label, part.name, view, part.read, part.phases)


def _jobs(parts: list[_Part], a2c: Path | None, exams: bool, console: Console) -> list:
    if a2c is not None:
        if len(parts) != 1:
            raise typer.BadParameter(
                f"--a2c pairs with exactly one A4C recording or still pair, got {len(parts)}",
                param_hint="--a2c",
            )
        (four,) = parts
        (two,) = _parts([a2c], None, None, "A2C", None)
        name = exam_name(four.name) or four.name
        return [_Exam(name, _as_view(four, "A4C"), two)]
    if not exams:
        return [_Single(part) for part in parts]
    by_name = {part.name: part for part in parts}
    pairing = pair_exams(list(by_name))
    jobs: list = [
        _Exam(name, _as_view(by_name[four], "A4C"), _as_view(by_name[two], "A2C"))
        for name, (four, two) in pairing.pairs.items()
    ]
    for name in pairing.alone:
        console.print(
            f"{escape(by_name[name].label)}: no A4C/A2C partner by the naming convention "
            "(docs/measure.md), measured as a single view",
            highlight=False,
        )
        jobs.append(_Single(by_name[name]))
    return jobs


def _print_summary(outcomes: list[_Outcome]) -> None:
    """One plain line per input (and a second for what is missing, or why it failed): read
    as well in a log or an 80-column terminal as on a wide screen."""
    console = Console(highlight=False, soft_wrap=True)
    if not outcomes:
        console.print("[red]no recordings found in the inputs[/]")
    for outcome in outcomes:
        result = outcome.measurements
        if result is None:
            console.print(f"{escape(outcome.label)}: [red]failed:[/] {escape(outcome.error)}")
            continue
        console.print(f"[green]{escape(outcome.label)}[/] ({outcome.view}): {_numbers(result)}")
        console.print(f"  -> {escape(str(outcome.folder))}")
        missing = [reason for key, reason in result.missing.items() if key != "intervals"]
        if missing:
            console.print(f"  [yellow]missing:[/] {escape(missing[0])}")


def _numbers(result: Measurements | ExamMeasurements) -> str:
    """The headline numbers of a result, ``n/a`` where missing."""
    if isinstance(result, ExamMeasurements):
        singles = ", ".join(
            f"{view} {_value(single.ef_percent, '{:.1f}')}" for view, single in result.views.items()
        )
        ef = f"biplane EF {_value(result.ef_percent, '{:.1f} %')} ({singles})"
        unit = result.volume_unit
        phases = ""
    else:
        ef = f"EF {_value(result.ef_percent, '{:.1f} %')}"
        unit = result.scale.volume_unit
        phases = (
            f"ED {_value(_frame(result.ed_index), '{}')}, "
            f"ES {_value(_frame(result.es_index), '{}')}, "
        )
    return (
        f"{phases}{ef}, GLS {_value(result.gls_percent, '{:.1f} %')}, "
        f"EDV {_value(result.edv, '{:.4g} ' + unit)}, ESV {_value(result.esv, '{:.4g} ' + unit)}"
    )


def _frame(index: int | None) -> int | None:
    return None if index is None else index + 1


def _value(value: float | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)
