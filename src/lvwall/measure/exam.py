"""A two-view exam measured as an echo lab reports it: biplane volumes and EF, each view's
single-plane numbers beside them, GLS per view and their mean, and twelve segments' strain.

The apical 4- and 2-chamber views cut the LV along two roughly orthogonal planes through its
long axis. Each view is measured on its own (:func:`lvwall.measure.measure_recording`, with
its own ED and ES: the two recordings need not share frame count or heart rate); the ED
borders of both views then give the biplane EDV, the ES borders the biplane ESV, by the
method of discs (:func:`lvwall.measure.volumes.biplane_volume`; Lang et al., JASE 28(1),
2015, the recommended method). GLS is each view's, and their mean as a two-view GLS (the
guideline averages the apical views; Voigt et al., EHJ-CVI 16(1), 2015). Each number's
interval comes from the same re-measurement at several probability thresholds as a
single view's (:mod:`lvwall.measure.intervals`), with both views re-measured together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lvwall.data import SEGMENT_TITLES, VIEWS
from lvwall.measure.contour import Endocardium
from lvwall.measure.intervals import (
    COVERAGE,
    ENSEMBLE_THRESHOLDS,
    Interval,
    interval,
    too_few_members_reason,
)
from lvwall.measure.recording import measure_segmented, trace_border
from lvwall.measure.result import Measurements, json_frame, json_interval, json_number
from lvwall.measure.volumes import biplane_volume, ejection_fraction
from lvwall.wall import RegionalError

if TYPE_CHECKING:
    from lvwall.infer import SegmentedRecording

#: The exam's biplane numbers, by JSON key.
BIPLANE_KEYS: tuple[str, ...] = ("edv", "esv", "ef_percent")
#: What the exam's numbers are (the JSON ``method`` field).
METHOD = (
    "Each view measured on its own (see its measurements.json). Biplane volumes: method of "
    "discs from the A4C and A2C endocardial borders of the same phase, V = pi/4 sum(a_i b_i) "
    "L/20, L the longer long axis (Lang et al., JASE 2015); EF = (EDV - ESV) / EDV x 100. "
    "Two-view GLS: the mean of the views' GLS (Voigt et al., EHJ-CVI 2015). Intervals: "
    f"{COVERAGE:.0%} split-conformal intervals over masks at several probability thresholds."
)


@dataclass(frozen=True)
class ExamMeasurements:
    """The numbers of one two-view exam: ``views`` holds each view's own measurements (A4C,
    A2C); ``edv``, ``esv`` and ``ef_percent`` are biplane, ``None`` with the reason in
    ``missing`` (by JSON key) where they cannot be measured; ``intervals`` by the same keys."""

    name: str
    views: dict[str, Measurements]
    edv: float | None
    esv: float | None
    ef_percent: float | None
    intervals: dict[str, Interval | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def volume_unit(self) -> str:
        return self.views[VIEWS[0]].scale.volume_unit

    @property
    def gls_percent(self) -> float | None:
        """The mean GLS of the two views; ``None`` unless both have one."""
        values = [view.gls_percent for view in self.views.values()]
        return None if any(value is None for value in values) else float(np.mean(values))

    def segments(self) -> pd.DataFrame:
        """One row per segment of both views: name, view, title, end-systolic strain and its
        interval (NaN where missing)."""
        rows = []
        for view, measurements in self.views.items():
            for name in measurements.segment_names:
                span = measurements.intervals.get(name)
                strain = measurements.segment_strain[name]
                rows.append(
                    {
                        "segment": name,
                        "view": view,
                        "title": SEGMENT_TITLES[name],
                        "strain_percent": np.nan if strain is None else strain,
                        "strain_low": np.nan if span is None else span.low,
                        "strain_high": np.nan if span is None else span.high,
                    }
                )
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        """The ``exam.json`` content (docs/measure.md describes each field)."""
        return {
            "name": self.name,
            "volume_unit": self.volume_unit,
            "biplane": {
                **{key: json_number(getattr(self, key)) for key in BIPLANE_KEYS},
                "intervals": {
                    "coverage": COVERAGE,
                    **{key: json_interval(self.intervals.get(key)) for key in BIPLANE_KEYS},
                },
            },
            "single_plane": {
                view: {
                    "name": measurements.name,
                    "ed_frame": json_frame(measurements.ed_index),
                    "es_frame": json_frame(measurements.es_index),
                    **{key: json_number(getattr(measurements, key)) for key in BIPLANE_KEYS},
                    "gls_percent": json_number(measurements.gls_percent),
                }
                for view, measurements in self.views.items()
            },
            "gls_percent": json_number(self.gls_percent),
            "segments": {
                row.segment: {
                    "view": row.view,
                    "title": row.title,
                    "strain_percent": _finite(row.strain_percent),
                    "interval": None
                    if np.isnan(row.strain_low)
                    else {"low": _finite(row.strain_low), "high": _finite(row.strain_high)},
                }
                for row in self.segments().itertuples()
            },
            "missing": dict(self.missing),
            "method": METHOD,
        }

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n"


def measure_exam(
    four_chamber: SegmentedRecording,
    two_chamber: SegmentedRecording,
    *,
    spacing_mm: float | tuple[float, float] | None = None,
    phases: Mapping[str, tuple[int, int]] | None = None,
    septal_side: str = "left",
    name: str | None = None,
) -> ExamMeasurements:
    """Measure the A4C and A2C recordings of one heart as one exam.

    ``phases`` gives a view's 0-based (ED, ES) frames instead of finding them (stills:
    ``{"A2C": (0, 1)}``); ``spacing_mm`` replaces both recordings' own pixel spacing;
    ``septal_side`` is the image side of each view's first wall (septal, inferior). ``name``
    defaults to the A4C recording's.
    """
    phases = dict(phases or {})
    unknown = set(phases) - set(VIEWS)
    if unknown:
        raise ValueError(f"phases are for the views {list(VIEWS)}, got {sorted(unknown)}")
    recordings = dict(zip(VIEWS, (four_chamber, two_chamber), strict=True))
    views = {
        view: measure_segmented(
            recording,
            spacing_mm=spacing_mm,
            septal_side=septal_side,
            view=view,
            phases=phases.get(view),
        )
        for view, recording in recordings.items()
    }
    name = name or four_chamber.name
    reason = _no_biplane_reason(views)
    if reason is not None:
        return ExamMeasurements(
            name, views, None, None, None, missing=dict.fromkeys(BIPLANE_KEYS, reason)
        )
    masks = {view: recording.masks for view, recording in recordings.items()}
    edv, esv, ef = _volumes(_phase_borders(masks, views, septal_side, ""), views)
    missing: dict[str, str] = {}
    intervals = _biplane_intervals(recordings, views, septal_side, (edv, esv, ef), missing)
    return ExamMeasurements(name, views, edv, esv, ef, intervals=intervals, missing=missing)


def _no_biplane_reason(views: dict[str, Measurements]) -> str | None:
    """Why the exam has no biplane numbers, or ``None`` when it can have them."""
    for view, measurements in views.items():
        if measurements.edv is None or measurements.esv is None:
            why = measurements.missing.get("edv", "no ED and ES were measured")
            return f"the {view} view has no ED and ES volumes: {why}"
    units = {measurements.scale.volume_unit for measurements in views.values()}
    if len(units) > 1:
        return (
            "one view has a pixel spacing and the other none, so their borders are in "
            "different units; give --spacing"
        )
    return None


def _phase_borders(
    masks: Mapping[str, np.ndarray],
    views: dict[str, Measurements],
    septal_side: str,
    label: str,
) -> dict[str, tuple[Endocardium, Endocardium]]:
    """Each view's (ED, ES) endocardial borders; :class:`RegionalError` when a wall does not
    split (never at the masks the views were measured on: their ED and ES did)."""
    return {
        view: tuple(
            trace_border(masks[view][index], measurements.scale, septal_side, f"{view}{label}")
            for index in (measurements.cycle.ed, measurements.cycle.es)
        )
        for view, measurements in views.items()
    }


def _volumes(
    borders: dict[str, tuple[Endocardium, Endocardium]], views: dict[str, Measurements]
) -> tuple[float, float, float]:
    unit = views[VIEWS[0]].scale.per_volume_unit
    (ed4, es4), (ed2, es2) = (borders[view] for view in VIEWS)
    edv = biplane_volume(ed4, ed2) / unit
    esv = biplane_volume(es4, es2) / unit
    return edv, esv, ejection_fraction(edv, esv)


def _biplane_intervals(
    recordings: Mapping[str, SegmentedRecording],
    views: dict[str, Measurements],
    septal_side: str,
    estimates: tuple[float, float, float],
    missing: dict[str, str],
) -> dict[str, Interval | None]:
    if any(recording.probabilities is None for recording in recordings.values()):
        missing["intervals"] = "no probability maps were given, so no segmentation uncertainty"
        return dict.fromkeys(BIPLANE_KEYS)
    members = []
    for threshold in ENSEMBLE_THRESHOLDS:
        masks = {
            view: (recording.probabilities >= threshold).astype(np.uint8)
            for view, recording in recordings.items()
        }
        try:
            borders = _phase_borders(masks, views, septal_side, f" at threshold {threshold}")
        except RegionalError:
            continue
        members.append(_volumes(borders, views))
    too_few = too_few_members_reason(len(members), "the ED and ES walls of both views")
    if too_few is not None:
        missing["intervals"] = too_few
        return dict.fromkeys(BIPLANE_KEYS)
    return {
        key: interval(key, estimate, [member[column] for member in members])
        for column, (key, estimate) in enumerate(zip(BIPLANE_KEYS, estimates, strict=True))
    }


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else json_number(float(value))
