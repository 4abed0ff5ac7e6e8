"""Measure one recording: from its wall masks to LV volumes, EF, GLS and segmental strain.

Every frame's wall is split into its six segments (:func:`lvwall.regional.split_wall`) and
its endocardial border traced (:mod:`lvwall.measure.contour`); the cavity-area curve gives
the cycle and its ED and ES frames (:mod:`lvwall.measure.phases`); volumes, EF and strain
follow (:mod:`lvwall.measure.volumes`, :mod:`lvwall.measure.strain`), each with an interval
where the probability maps are known (:mod:`lvwall.measure.intervals`). A number that
cannot be trusted is reported missing, with the reason, and never as a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lvwall.data import segment_names
from lvwall.measure.contour import Endocardium, endocardium
from lvwall.measure.intervals import (
    ENSEMBLE_THRESHOLDS,
    Interval,
    interval,
    too_few_members_reason,
)
from lvwall.measure.phases import Cycle, NoCycleError, select_cycle
from lvwall.measure.result import Measurements, QualitySummary
from lvwall.measure.scale import PixelScale, pixel_scale
from lvwall.measure.strain import segmental_strain, strain_percent
from lvwall.measure.volumes import area_length_volume, disc_volume, ejection_fraction
from lvwall.quality import ViewCall
from lvwall.wall import RegionalError, split_wall

if TYPE_CHECKING:
    from lvwall.infer import SegmentedRecording

#: The numbers of a cycle, by their JSON key; segments report under ``segments.<NAME>``.
NUMBER_KEYS: tuple[str, ...] = (
    "edv",
    "esv",
    "ef_percent",
    "area_length.edv",
    "area_length.esv",
    "area_length.ef_percent",
    "gls_percent",
)


def strain_key(segment: str) -> str:
    return f"segments.{segment}.strain_percent"


def time_to_peak_key(segment: str) -> str:
    return f"segments.{segment}.time_to_peak_frame"


_PHASE_KEYS = ("ed_frame", "es_frame")
#: The lowest EF reported; below it the ED-ES pair is implausible (see _implausible_reason).
MIN_PLAUSIBLE_EF_PERCENT = -10.0


def _cycle_keys(names: Sequence[str]) -> tuple[str, ...]:
    """Every number that a cycle's ED and ES give, by JSON key, for segments ``names``."""
    return (
        *NUMBER_KEYS,
        *(strain_key(name) for name in names),
        *(time_to_peak_key(name) for name in names),
    )


@dataclass(frozen=True)
class _Frame:
    """One frame's endocardial border, or why its wall could not be split."""

    border: Endocardium | None
    error: str | None


def trace_border(
    mask: np.ndarray, scale: PixelScale, septal_side: str = "left", source: str = "mask"
) -> Endocardium:
    """The endocardial border of one wall mask (H, W) at model size, scaled by ``scale``;
    :class:`lvwall.wall.RegionalError` (naming ``source``) when its wall cannot be split."""
    return endocardium(split_wall(mask, septal_side=septal_side, source=source), scale)


def _trace(mask: np.ndarray, scale: PixelScale, septal_side: str, source: str) -> _Frame:
    try:
        return _Frame(trace_border(mask, scale, septal_side, source), None)
    except RegionalError as error:
        return _Frame(None, str(error))


@dataclass(frozen=True)
class _CycleNumbers:
    """The numbers of one ED-ES pair, in the units of the scale."""

    edv: float
    esv: float
    ef: float
    edv_area_length: float
    esv_area_length: float
    ef_area_length: float
    gls: float
    strain: np.ndarray

    def value(self, key: str, names: Sequence[str]) -> float:
        """The number of JSON key ``key``, or the strain of segment ``key`` of ``names``."""
        if key in names:
            return float(self.strain[list(names).index(key)])
        return float(getattr(self, _INTERVAL_FIELDS[key]))


_INTERVAL_FIELDS = {"edv": "edv", "esv": "esv", "ef_percent": "ef", "gls_percent": "gls"}


def _interval_kind(key: str) -> str:
    """The interval kind (see :mod:`lvwall.measure.intervals`) of a number with an interval:
    its own for the cycle's numbers, ``strain_percent`` for a segment's strain."""
    return key if key in _INTERVAL_FIELDS else "strain_percent"


def _numbers(ed: Endocardium, es: Endocardium, scale: PixelScale) -> _CycleNumbers:
    unit = scale.per_volume_unit
    edv, esv = disc_volume(ed) / unit, disc_volume(es) / unit
    edv_al = area_length_volume(ed.cavity_area, ed.long_axis_length) / unit
    esv_al = area_length_volume(es.cavity_area, es.long_axis_length) / unit
    return _CycleNumbers(
        edv=edv,
        esv=esv,
        ef=ejection_fraction(edv, esv),
        edv_area_length=edv_al,
        esv_area_length=esv_al,
        ef_area_length=ejection_fraction(edv_al, esv_al),
        gls=float(strain_percent(es.length, ed.length)),
        strain=segmental_strain(ed, es),
    )


def measure_segmented(
    recording: SegmentedRecording,
    spacing_mm: float | tuple[float, float] | None = None,
    septal_side: str = "left",
    view: str | ViewCall | None = None,
    phases: tuple[int, int] | None = None,
) -> Measurements:
    """:func:`measure_recording` of a segmented recording, with everything it knows (masks,
    probabilities, frame size, pixel spacing, quality flags); ``spacing_mm`` (mm per pixel)
    replaces the recording's own pixel spacing where given. Without a ``view`` the view
    classifier recognises it (:meth:`SegmentedRecording.recognise_view`)."""
    if view is None:
        view = recording.recognise_view()
    return measure_recording(
        recording.masks,
        recording.probabilities,
        spacing_mm=spacing_mm or recording.spacing_mm,
        frame_size=recording.frame_size,
        frame_flags=recording.frame_flags,
        phases=phases,
        septal_side=septal_side,
        view=view,
        name=recording.name,
    )


def measure_recording(
    masks: np.ndarray,
    probabilities: np.ndarray | None = None,
    *,
    spacing_mm: float | tuple[float, float] | None = None,
    frame_size: tuple[int, int] | None = None,
    frame_flags: Sequence[Sequence[str]] | None = None,
    phases: tuple[int, int] | None = None,
    septal_side: str = "left",
    view: str | ViewCall | None = None,
    name: str = "recording",
) -> Measurements:
    """Measure a recording's wall masks (T, H, W) at model size.

    ``probabilities`` (T, H, W) are the model's wall probabilities; with them every number
    gets an interval. ``spacing_mm`` is the video frame's pixel size (one number, or (row,
    column)) and ``frame_size`` its (height, width) in pixels (default: the masks' own); see
    :func:`lvwall.measure.scale.pixel_scale`. ``frame_flags`` holds each frame's quality-
    control flags (empty: the frame passed). ``phases`` gives the 0-based (ED, ES) frames
    instead of finding them, for recordings that are not a whole cycle (CAMUS ED and ES
    stills). ``view`` (A4C or A2C, given; a :class:`lvwall.quality.ViewCall`; ``None``: A4C
    by default) names the six segments (:data:`lvwall.data.VIEW_SEGMENTS`); ``septal_side``
    is the image side of the view's first wall (the septum in A4C, the inferior wall in A2C).
    Raises :class:`ValueError` for arguments of the wrong shape, an unknown view or a
    spacing that is not positive.
    """
    view_call = _view_call(view)
    names = segment_names(view_call.view)
    masks = np.asarray(masks)
    if masks.ndim != 3 or len(masks) < 1:
        raise ValueError(f"need masks of shape (T, H, W), got {masks.shape}")
    if probabilities is not None and np.shape(probabilities) != masks.shape:
        raise ValueError(
            f"probabilities {np.shape(probabilities)} and masks {masks.shape} differ in shape"
        )
    if frame_flags is not None and len(frame_flags) != len(masks):
        raise ValueError(f"need flags for each of the {len(masks)} frames, got {len(frame_flags)}")
    scale = pixel_scale(masks.shape[1:], frame_size, spacing_mm)
    traced = [
        _trace(mask, scale, septal_side, f"{name}, frame {index + 1}")
        for index, mask in enumerate(masks)
    ]
    flagged = None if frame_flags is None else [bool(flags) for flags in frame_flags]
    try:
        cycle = _find_cycle(traced, flagged, phases)
    except NoCycleError as error:
        return _unmeasured(name, view_call, scale, traced, frame_flags, error.reason)

    missing: dict[str, str] = {}
    quality = _quality(cycle, flagged)
    reason = _flagged_reason(cycle, frame_flags)
    numbers = curves = None
    if reason is None:
        ed, es = traced[cycle.ed].border, traced[cycle.es].border
        numbers = _numbers(ed, es, scale)
        reason = _implausible_reason(numbers)
    if reason is None:
        curves = _strain_curves(traced, cycle)
    else:
        numbers = None
        missing.update(dict.fromkeys(_cycle_keys(names), reason))
    time_to_peak = _time_to_peak(curves, names, missing)
    intervals = _intervals(probabilities, cycle, numbers, scale, septal_side, names, name, missing)
    return Measurements(
        name=name,
        view_call=view_call,
        scale=scale,
        cycle=cycle,
        edv=None if numbers is None else numbers.edv,
        esv=None if numbers is None else numbers.esv,
        ef_percent=None if numbers is None else numbers.ef,
        edv_area_length=None if numbers is None else numbers.edv_area_length,
        esv_area_length=None if numbers is None else numbers.esv_area_length,
        ef_area_length_percent=None if numbers is None else numbers.ef_area_length,
        gls_percent=None if numbers is None else numbers.gls,
        segment_strain={
            segment: None if numbers is None else float(numbers.strain[index])
            for index, segment in enumerate(names)
        },
        time_to_peak=time_to_peak,
        quality=quality,
        frames=_frame_table(traced, names, scale, frame_flags, curves),
        strain_curves=_curve_array(curves, len(traced), len(names)),
        intervals=intervals,
        missing=missing,
    )


def _find_cycle(
    traced: list[_Frame], flagged: list[bool] | None, phases: tuple[int, int] | None
) -> Cycle:
    if phases is not None:
        ed, es = phases
        if not (0 <= ed < len(traced) and 0 <= es < len(traced)) or ed == es:
            raise ValueError(f"phases must be two different frames of {len(traced)}, got {phases}")
        for index in (ed, es):
            if traced[index].border is None:
                raise NoCycleError(traced[index].error or "")
        return Cycle(ed=ed, es=es, next_ed=None, n_cycles=1)
    areas = np.array([np.nan if f.border is None else f.border.cavity_area for f in traced])
    try:
        return select_cycle(areas, flagged)
    except NoCycleError as error:
        failed = [f.error for f in traced if f.error is not None]
        if not failed:
            raise
        raise NoCycleError(
            f"{error.reason}; {len(failed)} of its {len(traced)} frames hold no wall that can "
            f"be split (first: {failed[0]})"
        ) from None


def _view_call(view: str | ViewCall | None) -> ViewCall:
    if view is None:
        return ViewCall.default()
    return view if isinstance(view, ViewCall) else ViewCall.given(view)


def _unmeasured(
    name: str,
    view_call: ViewCall,
    scale: PixelScale,
    traced: list[_Frame],
    frame_flags: Sequence[Sequence[str]] | None,
    reason: str,
) -> Measurements:
    names = segment_names(view_call.view)
    return Measurements(
        name=name,
        view_call=view_call,
        scale=scale,
        cycle=None,
        edv=None,
        esv=None,
        ef_percent=None,
        edv_area_length=None,
        esv_area_length=None,
        ef_area_length_percent=None,
        gls_percent=None,
        segment_strain=dict.fromkeys(names),
        time_to_peak=dict.fromkeys(names),
        quality=QualitySummary(checked=frame_flags is not None),
        frames=_frame_table(traced, names, scale, frame_flags, None),
        strain_curves=_curve_array(None, len(traced), len(names)),
        intervals=dict.fromkeys((*_INTERVAL_FIELDS, *names)),
        missing=dict.fromkeys((*_PHASE_KEYS, *_cycle_keys(names)), reason),
    )


def _quality(cycle: Cycle, flagged: list[bool] | None) -> QualitySummary:
    if flagged is None:
        return QualitySummary(checked=False)
    frames = list(cycle.frames)
    return QualitySummary(
        checked=True,
        cycle_frames=len(frames),
        flagged_frames=sum(flagged[index] for index in frames),
        ed_flagged=flagged[cycle.ed],
        es_flagged=flagged[cycle.es],
    )


def _flagged_reason(cycle: Cycle, frame_flags: Sequence[Sequence[str]] | None) -> str | None:
    if frame_flags is None:
        return None
    for phase, index in (("ED", cycle.ed), ("ES", cycle.es)):
        if frame_flags[index]:
            reason = (
                f"quality control flagged the {phase} frame {index + 1} "
                f"({', '.join(frame_flags[index])})"
            )
            if cycle.next_ed is not None:
                reason += ", and no complete cycle has both its ED and ES unflagged"
            return reason
    return None


def _implausible_reason(numbers: _CycleNumbers) -> str | None:
    """Why the numbers of an ED-ES pair cannot be those of a heart, or ``None``.

    A cycle found in a recording has ES at its smallest cavity, but given phases (stills)
    can have ES larger than ED: a small negative EF is measurement noise on a failing heart
    (the experts' own CAMUS masks give EF down to about -1 %), a large one means the stills
    are swapped or a wall is mis-segmented.
    """
    if numbers.ef >= MIN_PLAUSIBLE_EF_PERCENT:
        return None
    return (
        f"the ES cavity is larger than the ED cavity (EF {numbers.ef:.0f} %, below "
        f"{MIN_PLAUSIBLE_EF_PERCENT:g} %): the ED and ES frames may be swapped, or a wall "
        "mis-segmented"
    )


def _strain_curves(traced: list[_Frame], cycle: Cycle) -> dict[int, np.ndarray]:
    """GLS and segment strain (7,) of each traced frame of the cycle, from its ED."""
    ed = traced[cycle.ed].border
    curves = {}
    for index in cycle.frames:
        border = traced[index].border
        if border is not None:
            gls = float(strain_percent(border.length, ed.length))
            curves[index] = np.concatenate([[gls], segmental_strain(ed, border)])
    return curves


def _time_to_peak(
    curves: dict[int, np.ndarray] | None, names: Sequence[str], missing: dict[str, str]
) -> dict[str, int | None]:
    """Frame of each segment's peak shortening (most negative strain) in the cycle."""
    peaks: dict[str, int | None] = dict.fromkeys(names)
    if curves is None:
        return peaks
    frames = np.array(sorted(curves))
    values = np.stack([curves[index] for index in frames])
    for column, name in enumerate(names, start=1):
        lowest = int(np.argmin(values[:, column]))
        if values[lowest, column] < 0:
            peaks[name] = int(frames[lowest])
        else:
            missing[time_to_peak_key(name)] = f"{name} does not shorten during the cycle"
    return peaks


def _intervals(
    probabilities: np.ndarray | None,
    cycle: Cycle,
    numbers: _CycleNumbers | None,
    scale: PixelScale,
    septal_side: str,
    names: Sequence[str],
    name: str,
    missing: dict[str, str],
) -> dict[str, Interval | None]:
    keys = (*_INTERVAL_FIELDS, *names)
    if numbers is None:
        return dict.fromkeys(keys)
    if probabilities is None:
        missing["intervals"] = "no probability maps were given, so no segmentation uncertainty"
        return dict.fromkeys(keys)
    members = []
    for threshold in ENSEMBLE_THRESHOLDS:
        ed, es = (
            _trace(
                (probabilities[index] >= threshold).astype(np.uint8),
                scale,
                septal_side,
                f"{name}, frame {index + 1} at threshold {threshold}",
            ).border
            for index in (cycle.ed, cycle.es)
        )
        if ed is not None and es is not None:
            members.append(_numbers(ed, es, scale))
    too_few = too_few_members_reason(len(members), "the walls of ED and ES")
    if too_few is not None:
        missing["intervals"] = too_few
        return dict.fromkeys(keys)
    return {
        key: interval(
            _interval_kind(key),
            numbers.value(key, names),
            [member.value(key, names) for member in members],
        )
        for key in keys
    }


def _frame_table(
    traced: list[_Frame],
    names: Sequence[str],
    scale: PixelScale,
    frame_flags: Sequence[Sequence[str]] | None,
    curves: dict[int, np.ndarray] | None,
) -> pd.DataFrame:
    """One row per frame: cavity, long axis, volumes, lengths, strain, flags, errors."""
    length, area, volume = scale.unit, scale.area_unit, scale.volume_unit
    rows = []
    for index, frame in enumerate(traced):
        row: dict[str, object] = {"frame": index + 1}
        border = frame.border
        row[f"cavity_area_{area}"] = np.nan if border is None else border.cavity_area
        row[f"long_axis_{length}"] = np.nan if border is None else border.long_axis_length
        row[f"volume_{volume}"] = (
            np.nan if border is None else disc_volume(border) / scale.per_volume_unit
        )
        row[f"volume_area_length_{volume}"] = (
            np.nan
            if border is None
            else area_length_volume(border.cavity_area, border.long_axis_length)
            / scale.per_volume_unit
        )
        row[f"endocardial_length_{length}"] = np.nan if border is None else border.length
        lengths = np.full(len(names), np.nan) if border is None else border.segment_lengths
        for name, value in zip(names, lengths, strict=True):
            row[f"{name}_length_{length}"] = value
        strain = (curves or {}).get(index, np.full(len(names) + 1, np.nan))
        row["gls_percent"] = strain[0]
        for name, value in zip(names, strain[1:], strict=True):
            row[f"{name}_strain_percent"] = value
        row["quality_flags"] = "" if frame_flags is None else ";".join(frame_flags[index])
        row["error"] = frame.error or ""
        rows.append(row)
    return pd.DataFrame(rows)


def _curve_array(
    curves: dict[int, np.ndarray] | None, n_frames: int, n_segments: int
) -> np.ndarray:
    array = np.full((n_frames, n_segments + 1), np.nan)
    for index, values in (curves or {}).items():
        array[index] = values
    return array
