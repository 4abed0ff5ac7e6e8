"""The colour and legend of each wall segment, the same in every figure, overlay and page."""

from __future__ import annotations

from lvwall.data import SEGMENT_NAMES, SEGMENT_TITLES

#: One colour per segment, ``SEGMENT_NAMES`` order (Okabe-Ito palette).
SEGMENT_COLOURS: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#CC79A7",
    "#0072B2",
    "#D55E00",
)


def segment_legend_label(index: int) -> str:
    """``"SEG3 basal inferoseptal"`` for the segment at ``index`` of ``SEGMENT_NAMES``."""
    name = SEGMENT_NAMES[index]
    return f"{name} {SEGMENT_TITLES[name]}"
