"""The records every reader returns, whatever the dataset.

Readers turn HMC-QU, CAMUS and the phantom into :class:`LabelledRecording` objects: grey
frames and binary LV-wall masks at model size, with the IDs needed for patient-wise splits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lvwall.data.exams import VIEW_TOKENS

#: The apical views lvwall segments: 4-chamber and 2-chamber (Lang et al., JASE 28(1), 2015).
VIEWS: tuple[str, ...] = ("A4C", "A2C")

#: The six wall segments each apical view shows, in the order of HMC-QU's A4C.xlsx and
#: A2C.xlsx columns: along the wall from the basal end on the image's left (standard display,
#: apex up) over the apex to the basal end on the right. Label maps (regional analysis,
#: measurements, phantom) number them 1..6 in this order; 0 is background. In A4C the left
#: wall is the septum and the right one the lateral wall; in A2C the left is the inferior
#: wall and the right the anterior one (Cerqueira et al., Circulation 105(4), 2002).
VIEW_SEGMENTS: dict[str, tuple[str, ...]] = {
    "A4C": ("SEG3", "SEG9", "SEG14", "SEG16", "SEG12", "SEG6"),
    "A2C": ("SEG4", "SEG10", "SEG15", "SEG13", "SEG7", "SEG1"),
}

#: The names of each view's two walls, image left then right (standard display).
VIEW_WALLS: dict[str, tuple[str, str]] = {
    "A4C": ("septal", "lateral"),
    "A2C": ("inferior", "anterior"),
}

#: The six A4C segments: the view of HMC-QU's masks and of most of lvwall's defaults.
SEGMENT_NAMES: tuple[str, ...] = VIEW_SEGMENTS["A4C"]

#: The AHA 17-segment names of the twelve segments the two apical views show.
SEGMENT_TITLES: dict[str, str] = {
    "SEG3": "basal inferoseptal",
    "SEG9": "mid inferoseptal",
    "SEG14": "apical septal",
    "SEG16": "apical lateral",
    "SEG12": "mid anterolateral",
    "SEG6": "basal anterolateral",
    "SEG4": "basal inferior",
    "SEG10": "mid inferior",
    "SEG15": "apical inferior",
    "SEG13": "apical anterior",
    "SEG7": "mid anterior",
    "SEG1": "basal anterior",
}


#: Marks an A2C recording of HMC-QU-TAU at the end of its ECHO name (HMC-QU's A2C.xlsx).
TAU_MARK = "*"
#: The view of each view token (:data:`lvwall.data.exams.VIEW_TOKENS`).
_TOKEN_VIEWS: dict[str, str] = {
    token: view for view, tokens in VIEW_TOKENS.items() for token in tokens
}
#: The view part that ends every HMC-QU ECHO name: ``_4CH_1``, ``_CH2_1``, ``_2CH_3``.
_VIEW_SUFFIX = re.compile(rf"_(?P<token>{'|'.join(_TOKEN_VIEWS)})_[^_]*$", re.IGNORECASE)


def patient_id(echo: str) -> str:
    """The patient of an HMC-QU ECHO name, in either view: its text before the view part and
    before any space (``ES0001 _4CH_1``, ``ES0001_CH2_1``: ``ES0001``; ``ES000155 n_4CH_1``,
    ``ES000155 N_2CH_1``: ``ES000155``); a trailing ``*`` is ignored."""
    stem = _VIEW_SUFFIX.sub("", echo.strip().rstrip(TAU_MARK).strip())
    return stem.strip().split(" ")[0]


def echo_view(echo: str) -> str | None:
    """The view an ECHO name's view part shows (``ES0001 _4CH_1``: A4C; ``ES0001_CH2_1``,
    ``PH0001 _2CH_1``: A2C), or ``None`` for a name without one."""
    match = _VIEW_SUFFIX.search(echo.strip().rstrip(TAU_MARK).strip())
    return None if match is None else _TOKEN_VIEWS[match["token"].upper()]


def check_view(view: str) -> str:
    """One view name from :data:`VIEWS`, any case; :class:`ValueError` otherwise."""
    chosen = str(view).upper()
    if chosen not in VIEWS:
        raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")
    return chosen


def segment_names(view: str) -> tuple[str, ...]:
    """The six segments of ``view`` (any case) in label-map order (1..6)."""
    return VIEW_SEGMENTS[check_view(view)]


def check_views(views: Sequence[str] | None) -> tuple[str, ...]:
    """``views`` as names from :data:`VIEWS`, any case, repeats dropped (all of them for
    ``None``); :class:`ValueError` for an unknown one or none."""
    if views is None:
        return VIEWS
    chosen = tuple(dict.fromkeys(str(view).upper() for view in views))
    unknown = [view for view in chosen if view not in VIEWS]
    if unknown or not chosen:
        raise ValueError(f"views must be among {list(VIEWS)}, got {list(views)}")
    return chosen


#: The side of every HMC-QU ground-truth mask (Degerli et al., IEEE Access 9:34442, 2021).
HMCQU_MASK_SIZE: int = 224
#: The per-pixel labels of :attr:`LabelledRecording.structures` (CAMUS's: Leclerc et al.,
#: IEEE TMI 2019); 0 is background.
STRUCTURE_LABELS: dict[str, int] = {"cavity": 1, "wall": 2, "atrium": 3}

#: The model's default input side: that of the HMC-QU masks, to which frames are resized.
MODEL_SIZE: int = HMCQU_MASK_SIZE


@dataclass(frozen=True)
class EchoRecord:
    """One row of HMC-QU's ``A4C.xlsx`` or ``A2C.xlsx`` (``view``): ``segment_mi`` in the
    view's segment order (:func:`segment_names`).

    Frame numbers are 1-based and inclusive, as in the sheet.
    """

    echo: str
    segment_mi: tuple[bool, ...]
    reference_frame: int
    end_of_cycle: int
    mask_available: bool
    view: str = "A4C"

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", check_view(self.view))
        if len(self.segment_mi) != len(SEGMENT_NAMES):
            raise ValueError(f"segment_mi needs {len(SEGMENT_NAMES)} values, got {self.segment_mi}")
        if not 1 <= self.reference_frame <= self.end_of_cycle:
            raise ValueError(
                f"need 1 <= reference_frame <= end_of_cycle, got "
                f"{self.reference_frame}..{self.end_of_cycle}"
            )

    @property
    def mi(self) -> bool:
        """A recording is MI when any of its six segments is."""
        return any(self.segment_mi)

    @property
    def n_cycle_frames(self) -> int:
        return self.end_of_cycle - self.reference_frame + 1

    @property
    def patient(self) -> str:
        """The patient ID, the same in both views (:func:`patient_id`)."""
        return patient_id(self.echo)

    def segment_dict(self) -> dict[str, bool]:
        """Each segment's MI label by the view's segment name."""
        return dict(zip(segment_names(self.view), self.segment_mi, strict=True))


@dataclass
class LabelledRecording:
    """Frames and LV-wall masks of one recording (or one CAMUS patient's stills).

    ``frames`` is float32 (T, H, W) in [0, 1]; ``masks`` is uint8 (T, H, W) in {0, 1}.
    ``patient`` groups recordings for splits; ``label`` is the stratification class
    (1 = MI) where it is known; ``view`` is one of :data:`VIEWS`. ``structures``, where the
    source labels more than the wall (CAMUS), is uint8 (T, H, W) with the labels of
    :data:`STRUCTURE_LABELS`; its wall is ``masks``.
    """

    name: str
    patient: str
    frames: np.ndarray
    masks: np.ndarray
    label: int = 0
    source: str = ""
    meta: dict = field(default_factory=dict)
    view: str = VIEWS[0]
    structures: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"{self.name}: view must be one of {list(VIEWS)}, got {self.view!r}")
        if self.frames.ndim != 3 or self.frames.shape != self.masks.shape:
            raise ValueError(
                f"{self.name}: frames {self.frames.shape} and masks {self.masks.shape} "
                "must both be (T, H, W)"
            )
        if self.structures is not None and self.structures.shape != self.masks.shape:
            raise ValueError(
                f"{self.name}: structures {self.structures.shape} and masks "
                f"{self.masks.shape} must have one shape"
            )

    def __len__(self) -> int:
        return self.frames.shape[0]
