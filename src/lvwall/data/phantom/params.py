"""The knobs of one phantom recording, and their random draw per recording."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from lvwall.data.records import SEGMENT_NAMES, check_view

_N_SEGMENTS = len(SEGMENT_NAMES)


@dataclass(frozen=True)
class PhantomParams:
    """Everything that varies between phantom recordings; defaults give a typical one.

    Video: ``width`` x ``height`` pixels (HMC-QU: 636 x 422), ``n_frames`` frames at ``fps``.
    Rhythm: ``cycle_frames`` frames per beat (25 fps: 20 = 75 bpm); ``first_ed_frame`` is the
    1-based frame of the first end-diastole, which becomes the record's Reference Frame; the
    masked cycle ends at the next end-diastole, frame ``first_ed_frame + cycle_frames``.
    Scan: sector radius ``depth_cm`` and opening ``sector_deg``; ``zoom`` > 1 lets the frame cut
    off the bottom of the sector, as HMC-QU frames do.
    Heart: ``heart_scale`` (1 = average adult), ``heart_shift_cm`` (x, z) and
    ``heart_rotation_deg`` (of the long axis, positive turns the base to the image right).
    View: ``view``, ``"A4C"`` or ``"A2C"`` (any case, kept upper case): which apical plane the
    scan cuts (A2C: LV and left atrium only, :mod:`~lvwall.data.phantom.anatomy`).
    MI: ``segment_mi`` flags the hypokinetic segments, in the view's
    :func:`~lvwall.data.records.segment_names` order (from the image-left base over the apex
    to the image-right base, the same positions in both views).
    Image quality: ``gain_db`` (overall brightness), ``dynamic_range_db`` (log-compression
    range), ``grey_gamma`` (grey map: > 1 darkens mid-tones), ``noise_db`` (electronic noise
    re tissue at full depth), ``tgc_error_db`` (far field brighter or darker than near),
    ``clutter`` (reverberation haze, 0-1 of tissue level), ``dropout`` (0-1 loss of the
    lateral wall), ``grain`` (0-1 pixel-level noise of a low-quality video chain),
    ``scatterers_per_cell`` (speckle density per polar grid cell; ~1 is fully developed).
    Display: ``overlays`` draws ECG, depth marks and text like a scanner; ``tint`` multiplies
    the R, G, B channels of the grey image.
    """

    width: int = 636
    height: int = 422
    fps: float = 25.0
    n_frames: int = 40
    cycle_frames: int = 20
    first_ed_frame: int = 1
    depth_cm: float = 15.5
    sector_deg: float = 75.0
    zoom: float = 1.05
    heart_scale: float = 1.0
    heart_shift_cm: tuple[float, float] = (0.0, 0.0)
    heart_rotation_deg: float = 0.0
    segment_mi: tuple[bool, ...] = (False,) * _N_SEGMENTS
    gain_db: float = 0.0
    dynamic_range_db: float = 36.0
    grey_gamma: float = 2.0
    noise_db: float = -16.0
    tgc_error_db: float = 0.0
    clutter: float = 0.2
    dropout: float = 0.4
    grain: float = 0.3
    scatterers_per_cell: float = 1.0
    overlays: bool = True
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    view: str = "A4C"

    def __post_init__(self) -> None:
        # Frozen: normalising the case needs object.__setattr__.
        object.__setattr__(self, "view", check_view(self.view))
        if self.width < 32 or self.height < 32:
            raise ValueError(f"video must be at least 32x32, got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.cycle_frames < 4:
            raise ValueError(f"cycle_frames must be at least 4, got {self.cycle_frames}")
        if self.first_ed_frame < 1:
            raise ValueError(f"first_ed_frame is 1-based, got {self.first_ed_frame}")
        if self.n_frames < self.end_of_cycle:
            raise ValueError(
                f"n_frames={self.n_frames} cannot hold the cycle ending at frame "
                f"{self.end_of_cycle} (first_ed_frame + cycle_frames)"
            )
        if len(self.segment_mi) != _N_SEGMENTS:
            raise ValueError(f"segment_mi needs {_N_SEGMENTS} flags, got {self.segment_mi}")
        if not 20.0 <= self.sector_deg <= 120.0:
            raise ValueError(f"sector_deg must be in [20, 120], got {self.sector_deg}")
        if self.depth_cm <= 5 or self.zoom <= 0 or self.heart_scale <= 0:
            raise ValueError(
                f"need depth_cm > 5, zoom > 0 and heart_scale > 0, got "
                f"{self.depth_cm}, {self.zoom}, {self.heart_scale}"
            )
        if min(self.dynamic_range_db, self.grey_gamma, self.scatterers_per_cell) <= 0:
            raise ValueError("dynamic_range_db, grey_gamma and scatterers_per_cell must be > 0")
        for name in ("clutter", "dropout", "grain"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if len(self.tint) != 3 or min(self.tint) < 0:
            raise ValueError(f"tint needs three non-negative factors, got {self.tint}")

    @property
    def end_of_cycle(self) -> int:
        """1-based frame of the end-diastole that closes the masked cycle (inclusive)."""
        return self.first_ed_frame + self.cycle_frames

    @property
    def mi(self) -> bool:
        return any(self.segment_mi)


def sample_segment_mi(rng: np.random.Generator) -> tuple[bool, ...]:
    """An MI pattern like HMC-QU's: about 45 % of recordings have none; otherwise a run of
    adjacent segments along the wall (image-left base -> apex -> image-right base), most
    often around the apex, where LAD infarcts lie. Positions, not names: an A2C recording
    draws the same way."""
    if rng.uniform() < 0.45:
        return (False,) * _N_SEGMENTS
    length = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.3, 0.3, 0.15, 0.12, 0.05, 0.08]))
    centre_weights = np.array([0.12, 0.22, 0.26, 0.2, 0.12, 0.08])
    centre = int(rng.choice(_N_SEGMENTS, p=centre_weights / centre_weights.sum()))
    start = int(np.clip(centre - (length - 1) // 2, 0, _N_SEGMENTS - length))
    return tuple(start <= k < start + length for k in range(_N_SEGMENTS))


def sample_params(rng: np.random.Generator, **fixed: object) -> PhantomParams:
    """Draw the parameters of one recording; keyword arguments fix any field instead.

    Ranges cover what HMC-QU and CAMUS show: 56-94 bpm, depth 13.5-18 cm, 65-85 degree
    sectors, hearts +-15 % in size, poor to good image quality, overlays on 80 % of them.
    ``view`` is never drawn (A4C unless fixed), so fixing it leaves every other draw of
    ``rng`` as it is: the A2C recording of a seed has the A4C one's rhythm, scanner settings
    and MI positions.
    """
    names = {field.name for field in fields(PhantomParams)}
    unknown = set(fixed) - names
    if unknown:
        raise ValueError(f"unknown PhantomParams fields: {sorted(unknown)}")
    u = rng.uniform
    cycle_frames = int(rng.integers(16, 28))
    first_ed = 1 if u() < 0.7 else int(rng.integers(2, cycle_frames // 2 + 1))
    n_frames = int(rng.integers(30, 51))
    tint = (1.0, 1.0, 1.0) if u() < 0.4 else (u(0.92, 1.0), u(0.95, 1.0), u(1.0, 1.08))
    drawn: dict[str, Any] = {
        "n_frames": n_frames,
        "cycle_frames": cycle_frames,
        "first_ed_frame": first_ed,
        "depth_cm": u(13.5, 18.0),
        "sector_deg": u(65.0, 85.0),
        "zoom": u(0.95, 1.15),
        "heart_scale": u(0.87, 1.13),
        "heart_shift_cm": (u(-0.7, 0.7), u(-0.6, 0.9)),
        "heart_rotation_deg": u(-8.0, 8.0),
        "segment_mi": sample_segment_mi(rng),
        "gain_db": u(-5.0, 5.0),
        "dynamic_range_db": u(28.0, 44.0),
        "grey_gamma": u(1.5, 2.6),
        "noise_db": u(-20.0, -6.0),
        "tgc_error_db": u(-6.0, 4.0),
        "clutter": u(0.05, 0.5),
        "dropout": u(0.0, 0.85),
        "grain": u(0.1, 0.5),
        "overlays": bool(u() < 0.8),
        "tint": tint,
    }
    drawn.update(fixed)
    if "n_frames" not in fixed:
        needed = drawn["first_ed_frame"] + drawn["cycle_frames"]
        drawn["n_frames"] = max(drawn["n_frames"], needed)
    return PhantomParams(**drawn)
