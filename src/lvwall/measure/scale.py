"""What one pixel of a model-size mask measures, in millimetres or in pixels of the frame.

A mask at model size (224 x 224) is the whole video frame resized, each axis on its own
(:func:`lvwall.data.preprocess.resize`), so a mask pixel spans ``height / 224`` frame rows
and ``width / 224`` frame columns. With the frame's pixel spacing (DICOM ultrasound region
calibration, CAMUS image spacing, or ``--spacing``), that is a size in millimetres, and
volumes come out in millilitres. Without it, lengths are in frame pixels, assumed square,
and volumes in ``px3``: cubic frame pixels. A ``px3`` volume compares frames of one
recording (and EF and strain, ratios, are the same in either unit), but not recordings
taken at other depths or zooms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lvwall.data import MAX_SPACING_MM, MIN_SPACING_MM, spacing_is_plausible

#: Cubic millimetres in a millilitre.
MM3_PER_ML = 1000.0
#: The units of a :class:`PixelScale`: millimetres, or pixels of the video frame.
UNITS: tuple[str, ...] = ("mm", "px")


@dataclass(frozen=True)
class PixelScale:
    """The size of one mask pixel along rows and columns, in ``unit`` (``"mm"`` or ``"px"``)."""

    row: float
    column: float
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        if not (self.row > 0 and self.column > 0 and math.isfinite(self.row * self.column)):
            raise ValueError(
                f"pixel sizes must be positive and finite, got {self.row} x {self.column}"
            )

    @property
    def area_unit(self) -> str:
        return f"{self.unit}2"

    @property
    def volume_unit(self) -> str:
        """``"ml"`` with millimetres, else ``"px3"`` (cubic frame pixels)."""
        return "ml" if self.unit == "mm" else "px3"

    @property
    def per_volume_unit(self) -> float:
        """How many cubic units (mm^3 or px^3) make one :attr:`volume_unit`."""
        return MM3_PER_ML if self.unit == "mm" else 1.0


def pixel_scale(
    mask_shape: tuple[int, int],
    frame_size: tuple[int, int] | None = None,
    spacing_mm: float | tuple[float, float] | None = None,
) -> PixelScale:
    """The scale of masks of ``mask_shape`` (rows, columns) resized from a frame.

    ``frame_size`` is the video frame's (height, width) in pixels (default: the mask's own,
    for masks drawn at the frame's size); ``spacing_mm`` the frame's pixel size in mm, one
    number for square pixels or (row, column). Raises :class:`ValueError` for a size that
    is not positive and for a spacing outside
    :data:`~lvwall.data.inputs.MIN_SPACING_MM`..:data:`~lvwall.data.inputs.MAX_SPACING_MM`
    (0.001 to 10 mm per pixel; a header fault, where volumes would come out as 1e182 ml).
    """
    rows, columns = mask_shape
    height, width = (rows, columns) if frame_size is None else frame_size
    if min(rows, columns, height, width) <= 0:
        raise ValueError(f"sizes must be positive, got mask {mask_shape} and frame {frame_size}")
    row_px, column_px = height / rows, width / columns
    if spacing_mm is None:
        return PixelScale(row_px, column_px, "px")
    row_mm, column_mm = (
        (spacing_mm, spacing_mm) if isinstance(spacing_mm, int | float) else spacing_mm
    )
    if not (spacing_is_plausible(row_mm) and spacing_is_plausible(column_mm)):
        raise ValueError(
            f"pixel spacing must be positive, {MIN_SPACING_MM:g} to {MAX_SPACING_MM:g} mm per "
            "pixel, "
            f"got {spacing_mm} mm"
        )
    return PixelScale(row_px * row_mm, column_px * column_mm, "mm")
