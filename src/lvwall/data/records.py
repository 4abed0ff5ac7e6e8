"""The records every reader returns, whatever the dataset.

Readers turn HMC-QU, CAMUS and the phantom into :class:`LabelledRecording` objects: grey
frames and binary LV-wall masks at model size, with the IDs needed for patient-wise splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: The six A4C wall segments of HMC-QU, in the order of the A4C.xlsx columns. Label maps
#: (regional analysis, phantom) number them 1..6 in this order; 0 is background.
SEGMENT_NAMES: tuple[str, ...] = ("SEG3", "SEG9", "SEG14", "SEG16", "SEG12", "SEG6")

#: The AHA 17-segment names of the six A4C segments.
SEGMENT_TITLES: dict[str, str] = {
    "SEG3": "basal inferoseptal",
    "SEG9": "mid inferoseptal",
    "SEG14": "apical septal",
    "SEG16": "apical lateral",
    "SEG12": "mid anterolateral",
    "SEG6": "basal anterolateral",
}

#: The apical views lvwall segments: 4-chamber and 2-chamber (Lang et al., JASE 28(1), 2015).
VIEWS: tuple[str, ...] = ("A4C", "A2C")


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
#: The model's default input side: that of the HMC-QU masks, to which frames are resized.
MODEL_SIZE: int = HMCQU_MASK_SIZE


@dataclass(frozen=True)
class EchoRecord:
    """One row of HMC-QU's ``A4C.xlsx``.

    Frame numbers are 1-based and inclusive, as in the sheet.
    """

    echo: str
    segment_mi: tuple[bool, ...]
    reference_frame: int
    end_of_cycle: int
    mask_available: bool

    def __post_init__(self) -> None:
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
        """The patient ID: the ECHO name before its view suffix (``ES0001 _4CH_1``: ``ES0001``)."""
        return self.echo.split("_4CH")[0].split(" ")[0].strip()

    def segment_dict(self) -> dict[str, bool]:
        return dict(zip(SEGMENT_NAMES, self.segment_mi, strict=True))


@dataclass
class LabelledRecording:
    """Frames and LV-wall masks of one recording (or one CAMUS patient's stills).

    ``frames`` is float32 (T, H, W) in [0, 1]; ``masks`` is uint8 (T, H, W) in {0, 1}.
    ``patient`` groups recordings for splits; ``label`` is the stratification class
    (1 = MI) where it is known; ``view`` is one of :data:`VIEWS`.
    """

    name: str
    patient: str
    frames: np.ndarray
    masks: np.ndarray
    label: int = 0
    source: str = ""
    meta: dict = field(default_factory=dict)
    view: str = VIEWS[0]

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"{self.name}: view must be one of {list(VIEWS)}, got {self.view!r}")
        if self.frames.ndim != 3 or self.frames.shape != self.masks.shape:
            raise ValueError(
                f"{self.name}: frames {self.frames.shape} and masks {self.masks.shape} "
                "must both be (T, H, W)"
            )

    def __len__(self) -> int:
        return self.frames.shape[0]
