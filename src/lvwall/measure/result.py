"""What ``lvwall measure`` reports for one recording, and its JSON and CSV forms."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lvwall.data import SEGMENT_TITLES, segment_names
from lvwall.measure.intervals import COVERAGE, Interval
from lvwall.measure.phases import Cycle
from lvwall.measure.scale import PixelScale
from lvwall.measure.strain import EULERIAN_WEIGHT
from lvwall.quality import ViewCall

#: What the numbers are and where their formulas come from (the JSON ``method`` field).
METHOD = (
    "ED and ES: largest and smallest LV cavity area (endocardial border closed by the mitral "
    "annulus line) of the first complete cycle whose ED and ES pass quality control (Lang et "
    "al., JASE 2015). Volumes: single-plane method of discs, 20 discs along the long axis from "
    "the annulus midpoint to the apex (Lang 2015); area-length 8A^2/(3 pi L) as a second "
    "estimate. EF = (EDV - ESV) / EDV x 100. GLS = (L_ES - L_ED) / L_ED x 100 of the "
    "endocardial border length (Voigt et al., EHJ-CVI 2015). Segmental strain: the same of "
    "each segment, each side's length change shared among its segments by their own length "
    f"in each frame (weight {EULERIAN_WEIGHT:g}) and by their inward motion "
    f"({1 - EULERIAN_WEIGHT:g}). Intervals: "
    f"{COVERAGE:.0%} split-conformal intervals over masks at several probability thresholds "
    "(cf. Judge et al. 2025)."
)


@dataclass(frozen=True)
class QualitySummary:
    """How quality control judged the measured cycle; ``checked`` False when no flags were
    given (then the counts are ``None``)."""

    checked: bool
    cycle_frames: int | None = None
    flagged_frames: int | None = None
    ed_flagged: bool | None = None
    es_flagged: bool | None = None

    def to_json(self) -> dict:
        return {
            "checked": self.checked,
            "cycle_frames": self.cycle_frames,
            "flagged_frames": self.flagged_frames,
            "ed_flagged": self.ed_flagged,
            "es_flagged": self.es_flagged,
        }


@dataclass(frozen=True)
class Measurements:
    """LV volumes, EF, GLS and segmental strain of one recording, and how they were found.

    Frame indices are 0-based (``ed_index``, ``es_index``, ``time_to_peak``); the JSON and
    CSV count frames from 1, as HMC-QU's A4C.xlsx and ``lvwall regional --start`` do.
    Numbers that cannot be trusted are ``None``, with the reason in ``missing`` under the
    number's JSON key. ``intervals`` maps a number's key (``edv``, ``esv``, ``ef_percent``,
    ``gls_percent``, or a segment name for its strain) to its interval, ``None`` where it has
    none. ``frames`` is the per-frame table; ``strain_curves`` (T, 7) the GLS and the six
    segments' strain at each frame of the cycle from its ED (NaN elsewhere).
    """

    name: str
    scale: PixelScale
    cycle: Cycle | None
    edv: float | None
    esv: float | None
    ef_percent: float | None
    edv_area_length: float | None
    esv_area_length: float | None
    ef_area_length_percent: float | None
    gls_percent: float | None
    segment_strain: dict[str, float | None]
    time_to_peak: dict[str, int | None]
    quality: QualitySummary
    frames: pd.DataFrame
    strain_curves: np.ndarray
    intervals: dict[str, Interval | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    view_call: ViewCall = field(default_factory=ViewCall.default)

    @property
    def view(self) -> str:
        """The view the segments are named by (A4C or A2C)."""
        return self.view_call.view

    @property
    def segment_names(self) -> tuple[str, ...]:
        """The six segments of the view, in label-map order."""
        return segment_names(self.view)

    @property
    def ed_index(self) -> int | None:
        return None if self.cycle is None else self.cycle.ed

    @property
    def es_index(self) -> int | None:
        return None if self.cycle is None else self.cycle.es

    def to_json(self) -> dict:
        """The ``measurements.json`` content (see docs/measure.md for each field)."""
        cycle = None
        if self.cycle is not None:
            frames = self.cycle.frames
            cycle = {
                "first_frame": frames.start + 1,
                "last_frame": frames.stop,
                "complete_cycles": self.cycle.n_cycles,
            }
        return {
            "name": self.name,
            "view": self.view,
            "view_source": self.view_call.source,
            "view_probability": self.view_call.probability,
            "n_frames": len(self.frames),
            "ed_frame": json_frame(self.ed_index),
            "es_frame": json_frame(self.es_index),
            "cycle": cycle,
            "edv": json_number(self.edv),
            "esv": json_number(self.esv),
            "volume_unit": self.scale.volume_unit,
            "ef_percent": json_number(self.ef_percent),
            "area_length": {
                "edv": json_number(self.edv_area_length),
                "esv": json_number(self.esv_area_length),
                "ef_percent": json_number(self.ef_area_length_percent),
            },
            "gls_percent": json_number(self.gls_percent),
            "segments": {
                name: {
                    "title": SEGMENT_TITLES[name],
                    "strain_percent": json_number(self.segment_strain[name]),
                    "time_to_peak_frame": json_frame(self.time_to_peak[name]),
                }
                for name in self.segment_names
            },
            "quality": self.quality.to_json(),
            "intervals": {
                "coverage": COVERAGE,
                **{key: json_interval(self.intervals.get(key)) for key in _INTERVAL_KEYS},
                "segments": {
                    name: json_interval(self.intervals.get(name)) for name in self.segment_names
                },
            },
            "missing": dict(self.missing),
            "pixel_size": {
                "row": self.scale.row,
                "column": self.scale.column,
                "unit": self.scale.unit,
            },
            "method": METHOD,
        }

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n"

    def csv_text(self) -> str:
        return self.frames.to_csv(index=False, float_format="%.4f")


_INTERVAL_KEYS = ("edv", "esv", "ef_percent", "gls_percent")


def json_frame(index: int | None) -> int | None:
    """A 0-based frame index as every output writes it: counted from 1."""
    return None if index is None else int(index) + 1


def json_number(value: float | None) -> float | None:
    """A reported number as JSON writes it (4 decimals); :class:`ValueError` for a
    non-finite one, which must be reported missing instead."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise ValueError(f"a reported number is {value}; report it missing with a reason instead")
    return round(float(value), 4)


def json_interval(value: Interval | None) -> dict | None:
    """An interval as JSON writes it: ``{"low", "high"}``, or ``None``."""
    if value is None:
        return None
    return {"low": json_number(value.low), "high": json_number(value.high)}
