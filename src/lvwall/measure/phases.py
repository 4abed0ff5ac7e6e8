"""End-diastole and end-systole from the LV cavity-area curve, and which cycle to measure.

End-diastole (ED) is the frame of largest LV cavity and end-systole (ES) the frame of
smallest, over one cardiac cycle (Lang et al., "Recommendations for Cardiac Chamber
Quantification by Echocardiography in Adults", JASE 28(1), 2015; without an ECG, the
cavity size is what defines them). A complete cycle runs from one ED, a peak of the area
curve, through its ES, the lowest frame before the next peak, to that next ED.

Rule for recordings longer than one cycle: the first complete cycle is measured, unless
quality control flags its ED or ES frame; then the first complete cycle whose ED and ES are
both unflagged, and only where every cycle is flagged the first one (and its numbers are
reported missing). The first, because it is what a reader checking the result finds first
and what HMC-QU's A4C.xlsx annotates (its "Reference Frame" is the first ED); later cycles
only where the first cannot be trusted. A peak must stand out of the frames round it by
half the curve's range (:data:`RANGE_SHARE`, between its 5th and 95th percentiles) and by at
least :data:`MIN_PROMINENCE` of the median area, so that segmentation jitter and the
diastolic dip between rapid filling and the atrial kick do not make beats. A recording's
first or last frame counts as a peak when its area is within :data:`EDGE_TOLERANCE` of the
nearest peak's: recordings usually start at an ED (HMC-QU's mostly do), but one that
starts within a frame or two of it has that frame taken as its ED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

#: A peak (ED) rises at least this share of the area curve's range above the frames round it
RANGE_SHARE = 0.5
#: and at least this fraction of the median cavity area (an ED-to-ES change of 5 % of the
#: area is an EF of about 7 %).
MIN_PROMINENCE = 0.05
#: The first or last frame is an ED when within this fraction of the nearest peak's area.
EDGE_TOLERANCE = 0.1


class NoCycleError(Exception):
    """The cavity-area curve holds no complete cycle; ``reason`` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Cycle:
    """The measured cycle: 0-based frames of its ED, ES and the next ED (``None`` where the
    phases were given rather than found), and how many complete cycles the recording has."""

    ed: int
    es: int
    next_ed: int | None
    n_cycles: int

    @property
    def frames(self) -> range:
        """The frames of the cycle, ED to the next ED (or to ES when that is not known)."""
        return range(self.ed, (self.es if self.next_ed is None else self.next_ed) + 1)


def end_diastoles(areas: np.ndarray) -> np.ndarray:
    """0-based frames of the peaks (EDs) of a cavity-area curve (T,), NaN where unmeasured."""
    areas = np.asarray(areas, dtype=float)
    known = np.isfinite(areas)
    if known.sum() < 2:
        return np.array([], dtype=int)
    frames = np.arange(len(areas))
    filled = np.interp(frames, frames[known], areas[known])
    low, high = np.percentile(filled, [5, 95])
    prominence = max(MIN_PROMINENCE * float(np.median(filled)), RANGE_SHARE * (high - low))
    # Padding with a value below the curve lets find_peaks see peaks on the first and last
    # frame.
    padded = np.concatenate([[filled.min() - 1.0], filled, [filled.min() - 1.0]])
    peaks, _ = find_peaks(padded, prominence=prominence)
    peaks = peaks[known[peaks - 1]] - 1
    edges = (peaks == 0) | (peaks == len(areas) - 1)
    inner = peaks[~edges]
    kept = []
    for peak in peaks:
        if peak in inner:
            kept.append(peak)
            continue
        others = inner if len(inner) else peaks[peaks != peak]
        if len(others):
            nearest = others[np.argmin(np.abs(others - peak))]
            if filled[peak] >= (1.0 - EDGE_TOLERANCE) * filled[nearest]:
                kept.append(peak)
    return np.array(kept, dtype=int)


def select_cycle(areas: np.ndarray, flagged: Sequence[bool] | None = None) -> Cycle:
    """The cycle to measure in a cavity-area curve (T,), by the rule of the module docstring.

    ``flagged`` (T booleans) marks frames that quality control flagged. Raises
    :class:`NoCycleError` when the curve holds no complete cycle.
    """
    areas = np.asarray(areas, dtype=float)
    if areas.ndim != 1:
        raise ValueError(f"need a cavity-area curve of shape (T,), got {areas.shape}")
    if flagged is not None and len(flagged) != len(areas):
        raise ValueError(f"need one flag per frame ({len(areas)}), got {len(flagged)}")
    peaks = end_diastoles(areas)
    cycles = []
    for ed, next_ed in zip(peaks[:-1], peaks[1:], strict=True):
        between = np.arange(ed + 1, next_ed)
        between = between[np.isfinite(areas[between])]
        if len(between):
            cycles.append((int(ed), int(between[np.argmin(areas[between])]), int(next_ed)))
    if not cycles:
        raise NoCycleError(
            f"the cavity-area curve of its {len(areas)} frames holds no complete cycle "
            "(end-diastole, end-systole, end-diastole): the recording is shorter than one "
            "heartbeat or its cavity does not contract"
        )
    clean = [c for c in cycles if flagged is None or not (flagged[c[0]] or flagged[c[1]])]
    ed, es, next_ed = (clean or cycles)[0]
    return Cycle(ed=ed, es=es, next_ed=next_ed, n_cycles=len(cycles))
