"""B-mode image formation for a phased-array sector scan.

The echo of a line is the sum of the scatterers' echoes, each the pulse shifted to the
scatterer's range (the convolution model of Bamber & Dickinson, Phys Med Biol 25(3), 1980;
Jensen, "Estimation of Blood Velocities Using Ultrasound", 1996, ch. 2). It is formed here
directly as its complex baseband (IQ) signal in polar (range, angle) coordinates:

    IQ(r, theta) = sum_j a_j exp(-i 4 pi r_j / lambda) h(r - r_j, theta - theta_j),

whose modulus is the Hilbert-transform envelope of the RF line (the analytic signal, Szabo,
"Diagnostic Ultrasound Imaging: Inside Out", 2014, ch. 8). The carrier phase of each scatterer
is exact, so speckle moves and decorrelates with the tissue as in real echo. ``h`` is a
Gaussian pulse envelope along range and a Gaussian beam across angle that widens with depth.
Then: depth attenuation and time-gain compensation, electronic noise, log compression to
the display dynamic range, and scan conversion to Cartesian pixels (``cv2.remap``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft
from scipy import ndimage

#: Round-trip attenuation in soft tissue, dB/cm at 2.5 MHz (0.5 dB/cm/MHz each way).
ROUND_TRIP_ATTENUATION_DB_CM = 2.5
#: Where tissue of unit echogenicity (RMS envelope 1) sits on the display scale at 0 dB gain.
TISSUE_DISPLAY_LEVEL = 0.72


@dataclass(frozen=True)
class Sector:
    """The polar grid of a sector scan: ``n_samples`` ranges over [0, depth) cm and
    ``n_lines`` beams evenly over the opening ``angle`` (rad), centred on straight down."""

    depth: float
    angle: float
    n_samples: int
    n_lines: int

    def __post_init__(self) -> None:
        if self.depth <= 0 or not 0 < self.angle < np.pi:
            raise ValueError(f"need depth > 0 and 0 < angle < pi, got {self.depth}, {self.angle}")
        if self.n_samples < 8 or self.n_lines < 8:
            raise ValueError(f"need >= 8 samples and lines, got {self.n_samples}, {self.n_lines}")

    @property
    def range_step(self) -> float:
        return self.depth / self.n_samples

    @property
    def angle_step(self) -> float:
        return self.angle / (self.n_lines - 1)

    @property
    def ranges(self) -> np.ndarray:
        return np.arange(self.n_samples) * self.range_step

    @property
    def angles(self) -> np.ndarray:
        return -self.angle / 2 + np.arange(self.n_lines) * self.angle_step

    def polar(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Range (cm) and angle (rad, positive to the image right) of (P, 2) points (x, z)."""
        return np.hypot(points[:, 0], points[:, 1]), np.arctan2(points[:, 0], points[:, 1])


@dataclass(frozen=True)
class PointSpreadFunction:
    """Pulse-echo response: Gaussian pulse envelope along range (``axial_sigma`` cm) and a
    Gaussian beam across (``lateral_sigma`` cm at the probe, growing ``lateral_growth`` cm per
    cm of depth); ``wavelength`` in cm (0.06 cm: 2.5 MHz at 1540 m/s)."""

    axial_sigma: float = 0.11
    lateral_sigma: float = 0.12
    lateral_growth: float = 0.009
    wavelength: float = 0.0616

    def __post_init__(self) -> None:
        if min(self.axial_sigma, self.lateral_sigma, self.wavelength) <= 0:
            raise ValueError(f"PSF sizes must be positive, got {self}")
        if self.lateral_growth < 0:
            raise ValueError(f"lateral_growth must be >= 0, got {self.lateral_growth}")

    def axial_samples(self, sector: Sector) -> float:
        return max(self.axial_sigma / sector.range_step, 0.5)

    def lateral_lines(self, sector: Sector) -> np.ndarray:
        """Beam width in lines at each range sample (an angle, so wide near the probe)."""
        radius = np.maximum(sector.ranges, 0.5 * sector.range_step)
        width = (self.lateral_sigma + self.lateral_growth * radius) / radius / sector.angle_step
        return np.clip(width, 0.5, sector.n_lines / 6)


def _splat_indices(
    sector: Sector, sample: np.ndarray, line: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    i0, j0 = np.floor(sample), np.floor(line)
    inside = (i0 >= 0) & (i0 < sector.n_samples - 1) & (j0 >= 0) & (j0 < sector.n_lines - 1)
    fi, fj = (sample - i0)[inside], (line - j0)[inside]
    corner = i0[inside].astype(np.int64) * sector.n_lines + j0[inside].astype(np.int64)
    weights = weights[inside]
    index = np.concatenate(
        [corner, corner + 1, corner + sector.n_lines, corner + sector.n_lines + 1]
    )
    share = np.concatenate([(1 - fi) * (1 - fj), (1 - fi) * fj, fi * (1 - fj), fi * fj])
    spread = np.tile(weights, 4) * share
    size = sector.n_samples * sector.n_lines
    real = np.bincount(index, spread.real, minlength=size)
    imag = np.bincount(index, spread.imag, minlength=size)
    return (real + 1j * imag).astype(np.complex64).reshape(sector.n_samples, sector.n_lines)


def psf_filter(sector: Sector, psf: PointSpreadFunction, grid: np.ndarray) -> np.ndarray:
    """Convolve a polar grid with the PSF: along range a fixed Gaussian, across angle a
    Gaussian whose width in lines depends on range (applied row by row in Fourier space)."""
    along_range = ndimage.gaussian_filter1d(
        grid, psf.axial_samples(sector), axis=0, mode="constant", truncate=3.0
    )
    n_padded = 2 * sector.n_lines
    frequency = np.fft.fftfreq(n_padded)
    sigma = psf.lateral_lines(sector)[:, None]
    transfer = np.exp(-2 * (np.pi * sigma * frequency[None, :]) ** 2)
    spectrum = scipy.fft.fft(along_range, n=n_padded, axis=1)
    return scipy.fft.ifft(spectrum * transfer.astype(np.float32), axis=1)[:, : sector.n_lines]


def unit_power_scale(sector: Sector, psf: PointSpreadFunction, density: float) -> np.ndarray:
    """Per-range factor that gives unit mean power to a field of ``density`` scatterers per
    grid cell with unit mean-square amplitude: the power of the filtered field is
    density * sum(h^2) = density / (4 pi sigma_r sigma_theta) for unit-sum Gaussians."""
    if density <= 0:
        raise ValueError(f"density must be positive, got {density}")
    sigma_product = psf.axial_samples(sector) * psf.lateral_lines(sector)
    return np.sqrt(4 * np.pi * sigma_product / density)[:, None]


def backscatter(
    sector: Sector,
    psf: PointSpreadFunction,
    points: np.ndarray,
    amplitudes: np.ndarray,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """The IQ image of scatterers at (P, 2) ``points`` with complex ``amplitudes``.

    ``extra`` is an optional complex grid (e.g. clutter) added before the PSF, so it is
    blurred like tissue.
    """
    radius, angle = sector.polar(np.asarray(points, np.float32))
    # The carrier phase of each echo; cos/sin in float32 is ~50x faster than complex exp.
    phase = radius * np.float32(-4 * np.pi / psf.wavelength)
    carrier = np.cos(phase) + 1j * np.sin(phase)
    sample = radius / np.float32(sector.range_step)
    line = (angle + np.float32(sector.angle / 2)) / np.float32(sector.angle_step)
    grid = _splat_indices(sector, sample, line, amplitudes * carrier)
    if extra is not None:
        grid = grid + extra
    return psf_filter(sector, psf, grid)


def envelope(iq: np.ndarray) -> np.ndarray:
    """Envelope detection: the modulus of the analytic (IQ) signal."""
    return np.abs(iq).astype(np.float32)


def log_compress(
    amplitude: np.ndarray, dynamic_range_db: float, gain_db: float = 0.0, gamma: float = 1.0
) -> np.ndarray:
    """Log-compress an envelope to display values in [0, 1], then apply the grey map.

    Unit amplitude (tissue of unit echogenicity) maps to :data:`TISSUE_DISPLAY_LEVEL`;
    ``dynamic_range_db`` spans the whole display scale; ``gain_db`` shifts everything; the
    grey map ``v ** gamma`` (gamma > 1) darkens the mid-tones as scanner presets do.
    """
    if dynamic_range_db <= 0 or gamma <= 0:
        raise ValueError(f"need positive dynamic range and gamma, got {dynamic_range_db}, {gamma}")
    decibels = 20 * np.log10(np.maximum(amplitude, 1e-6)) + gain_db
    level = np.clip(TISSUE_DISPLAY_LEVEL + decibels / dynamic_range_db, 0.0, 1.0)
    return (level**gamma).astype(np.float32)


def dropout_gain(
    sector: Sector, centre: tuple[float, float], size: tuple[float, float], strength: float
) -> np.ndarray:
    """Beam-space gain with a smooth dip: the loss of a wall behind lung or a rib.

    ``centre`` (range cm, angle rad) and ``size`` (cm, rad) give the dip's place and extent;
    ``strength`` in [0, 1] its depth (1 wipes the region out).
    """
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    radius = sector.ranges[:, None]
    angle = sector.angles[None, :]
    bump = np.exp(-(((radius - centre[0]) / size[0]) ** 2) - ((angle - centre[1]) / size[1]) ** 2)
    return (1.0 - strength * bump).astype(np.float32)


@dataclass(frozen=True)
class DepthProfile:
    """Net gain of tissue echoes after attenuation and time-gain compensation (TGC), and the
    level of electronic noise, which TGC amplifies with depth (dB re unit tissue)."""

    tissue_gain: np.ndarray
    noise_level: np.ndarray


def depth_profile(sector: Sector, tgc_error_db: float, noise_db: float) -> DepthProfile:
    """TGC undoes the round-trip attenuation up to ``tgc_error_db`` at full depth (a brighter
    or darker far field); noise is ``noise_db`` re tissue at full depth and falls towards the
    probe as the TGC gain does."""
    fraction = sector.ranges / sector.depth
    tissue = 10 ** (tgc_error_db * fraction / 20)
    tgc_db = ROUND_TRIP_ATTENUATION_DB_CM * (sector.ranges - sector.depth)
    noise = 10 ** ((noise_db + tgc_db) / 20)
    return DepthProfile(tissue[:, None].astype(np.float32), noise[:, None].astype(np.float32))


class ScanConverter:
    """Map polar (range, line) images onto a ``height`` x ``width`` Cartesian frame whose
    sector apex sits at pixel ``apex`` (x, y), ``pixels_per_cm`` pixels per cm."""

    def __init__(
        self,
        sector: Sector,
        width: int,
        height: int,
        apex: tuple[float, float],
        pixels_per_cm: float,
    ) -> None:
        if width < 8 or height < 8 or pixels_per_cm <= 0:
            raise ValueError(f"bad frame {width}x{height} at {pixels_per_cm} px/cm")
        self.sector = sector
        self.width, self.height = width, height
        self.apex, self.pixels_per_cm = apex, pixels_per_cm
        rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
        x = (cols - apex[0]) / pixels_per_cm
        z = (rows - apex[1]) / pixels_per_cm
        radius, angle = np.hypot(x, z), np.arctan2(x, z)
        self._map_line = ((angle + sector.angle / 2) / sector.angle_step).astype(np.float32)
        self._map_sample = (radius / sector.range_step).astype(np.float32)
        # Soft one-pixel edge: distance (px) inside the sector's arc and straight sides.
        inside_arc = (sector.depth - radius) * pixels_per_cm
        inside_sides = (sector.angle / 2 - np.abs(angle)) * radius * pixels_per_cm
        edge = np.minimum(inside_arc, inside_sides)
        self.sector_mask = np.clip(edge + 0.5, 0.0, 1.0).astype(np.float32)

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """(P, 2) points (x, z) in cm -> (P, 2) frame pixel coordinates (x, y)."""
        return np.asarray(self.apex) + np.asarray(points) * self.pixels_per_cm

    def __call__(self, polar_image: np.ndarray) -> np.ndarray:
        frame = cv2.remap(
            polar_image.astype(np.float32),
            self._map_line,
            self._map_sample,
            interpolation=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
        return frame * self.sector_mask
