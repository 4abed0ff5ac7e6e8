"""The colour and legend of each wall segment, the same in every figure, overlay and page."""

from __future__ import annotations

from lvwall.data import SEGMENT_TITLES, segment_names

#: One colour per segment name: the six A4C segments take the Okabe-Ito palette, the six A2C
#: segments a second colour-blind-safe set (Tol's muted palette), so that a two-view exam's
#: twelve segments never share a colour.
SEGMENT_COLOURS: dict[str, str] = {
    "SEG3": "#E69F00",
    "SEG9": "#56B4E9",
    "SEG14": "#009E73",
    "SEG16": "#CC79A7",
    "SEG12": "#0072B2",
    "SEG6": "#D55E00",
    "SEG4": "#882255",
    "SEG10": "#44AA99",
    "SEG15": "#DDCC77",
    "SEG13": "#AA4499",
    "SEG7": "#332288",
    "SEG1": "#117733",
}


def segment_colours(view: str = "A4C") -> tuple[str, ...]:
    """The colours of ``view``'s six segments, in label-map order (1..6)."""
    return tuple(SEGMENT_COLOURS[name] for name in segment_names(view))


def segment_legend_label(index: int, view: str = "A4C") -> str:
    """``"SEG3 basal inferoseptal"`` for label ``index + 1`` of ``view``."""
    name = segment_names(view)[index]
    return f"{name} {SEGMENT_TITLES[name]}"
