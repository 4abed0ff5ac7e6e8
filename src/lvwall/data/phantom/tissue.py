"""Echogenicity of the apical (A4C or A2C) scene: how strongly each place scatters ultrasound.

The scene is painted on a Cartesian raster in the end-diastolic (reference) configuration;
scatterers sampled there keep their amplitude as the tissue moves. Levels follow the usual
B-mode appearance (Szabo, "Diagnostic Ultrasound Imaging: Inside Out", 2nd ed., 2014, ch. 8):
blood scatters ~30-40 dB less than myocardium, the pericardium and the fibrous
atrioventricular junction are the brightest reflectors, and interfaces facing the beam give
specular echoes that walls parallel to the beam lack (why the lateral wall drops out).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from lvwall.data.phantom.anatomy import Heart


@dataclass(frozen=True)
class Raster:
    """A Cartesian grid in cm: pixel (row, col) has its centre at
    ``(origin[0] + col * spacing, origin[1] + row * spacing)`` as (x, z)."""

    origin: tuple[float, float]
    spacing: float
    shape: tuple[int, int]

    @classmethod
    def covering(
        cls, x_range: tuple[float, float], z_range: tuple[float, float], spacing: float
    ) -> Raster:
        if spacing <= 0:
            raise ValueError(f"spacing must be positive, got {spacing}")
        cols = int(np.ceil((x_range[1] - x_range[0]) / spacing)) + 1
        rows = int(np.ceil((z_range[1] - z_range[0]) / spacing)) + 1
        return cls((x_range[0], z_range[0]), spacing, (rows, cols))

    def to_pixels(self, points: np.ndarray) -> np.ndarray:
        """(x, z) cm -> fractional (col, row)."""
        return (np.asarray(points) - np.asarray(self.origin)) / self.spacing

    def sample(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Bilinear values of ``image`` (on this raster) at (P, 2) points (x, z) in cm."""
        pixels = self.to_pixels(points)
        return ndimage.map_coordinates(
            image, [pixels[:, 1], pixels[:, 0]], order=1, mode="nearest"
        ).astype(np.float32)

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = self.shape
        x = self.origin[0] + self.spacing * np.arange(cols, dtype=np.float32)
        z = self.origin[1] + self.spacing * np.arange(rows, dtype=np.float32)
        return np.meshgrid(x, z)


@dataclass(frozen=True)
class Echogenicity:
    """Mean scattering amplitude per tissue, relative to myocardium (= 1 before texture)."""

    blood: float = 0.035
    myocardium: float = 1.0
    atrial_wall: float = 1.1
    surroundings: float = 0.55
    pericardium: float = 3.0
    fibrous: float = 3.2
    specular: float = 1.6
    texture: float = 0.3


def sample_echogenicity(rng: np.random.Generator) -> Echogenicity:
    """Per-recording variation of the tissue contrasts (patients and windows differ)."""
    u = rng.uniform
    return Echogenicity(
        blood=u(0.02, 0.06),
        atrial_wall=u(0.8, 1.4),
        surroundings=u(0.35, 0.75),
        pericardium=u(2.0, 3.8),
        fibrous=u(2.5, 4.5),
        specular=u(1.0, 2.4),
        texture=u(0.25, 0.5),
    )


@dataclass(frozen=True)
class TissueMaps:
    """Scattering amplitude and blood fraction of the reference scene on ``raster``."""

    raster: Raster
    amplitude: np.ndarray
    blood: np.ndarray


def _fill(raster: Raster, polygons: list[np.ndarray]) -> np.ndarray:
    canvas = np.zeros(raster.shape, np.uint8)
    shift = 4  # sub-pixel vertex precision
    scaled = [np.round(raster.to_pixels(p) * (1 << shift)).astype(np.int32) for p in polygons]
    cv2.fillPoly(canvas, scaled, 1, lineType=cv2.LINE_8, shift=shift)
    return canvas.astype(bool)


def _distance_outside(raster: Raster, region: np.ndarray) -> np.ndarray:
    """Distance in cm from each pixel to ``region`` (0 inside it)."""
    outside = (~region).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, 5) * raster.spacing


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field with correlation length ``sigma_px``."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px)
    return field / (field.std() + 1e-12)


def _blob(raster: Raster, centre: np.ndarray, radius: float) -> np.ndarray:
    x, z = raster.coordinates()
    return np.exp(-((x - centre[0]) ** 2 + (z - centre[1]) ** 2) / (2 * radius**2))


def _specular(raster: Raster, blood: np.ndarray) -> np.ndarray:
    """Strength of specular reflection at blood-tissue interfaces: the share of the
    interface normal along the beam (a wall facing the transducer reflects, a wall parallel
    to the beam does not), |n . r|, weighted by how sharp the interface is."""
    soft = ndimage.gaussian_filter(blood.astype(np.float32), 0.05 / raster.spacing)
    grad_z, grad_x = np.gradient(soft)
    x, z = raster.coordinates()
    radius = np.hypot(x, z) + 1e-6
    along_beam = np.abs(grad_x * x / radius + grad_z * z / radius)
    return along_beam / (along_beam.max() + 1e-12)


def paint_tissue(
    heart: Heart, raster: Raster, levels: Echogenicity, rng: np.random.Generator
) -> TissueMaps:
    """Paint the reference scene: surroundings, heart walls, cavities, pericardium, fibrous
    annuli and specular interfaces, each with a slowly varying texture."""
    shape = heart.shape
    px = 1.0 / raster.spacing
    texture = np.exp(levels.texture * _smooth_noise(rng, raster.shape, 0.25 * px))
    amplitude = levels.surroundings * np.exp(0.3 * _smooth_noise(rng, raster.shape, 0.4 * px))

    right = heart.right
    atrial_cavities, ventricle_outlines = [heart.la_cavity], [heart.lv_outline]
    cavities = [heart.lv_cavity]
    orifices = [_orifice(heart.mitral_annulus, heart.axis_down)]
    if right is not None:
        atrial_cavities.append(right.ra_cavity)
        ventricle_outlines.append(right.rv_outline)
        cavities.append(right.rv_cavity)
        orifices.append(_orifice(right.tricuspid_annulus, heart.axis_down))
    atria = _fill(raster, atrial_cavities)
    atrial_walls = _distance_outside(raster, atria) <= shape.atrial_wall_thickness
    ventricles = _fill(raster, ventricle_outlines)
    heart_region = ventricles | atrial_walls
    amplitude = np.where(atrial_walls, levels.atrial_wall, amplitude)
    amplitude = np.where(ventricles, levels.myocardium, amplitude)

    blood = _fill(raster, [*cavities, *orifices]) | atria
    if shape.papillary_size > 0.05:
        blood &= ~_fill(raster, [heart.papillary])
    amplitude = np.where(blood, levels.blood, amplitude)

    outside = _distance_outside(raster, heart_region | blood)
    lining = np.exp(-(((outside - 0.12) / 0.09) ** 2)) * (outside > 0)
    brightness = 0.6 + 0.4 * np.clip(1.0 + 0.8 * _smooth_noise(rng, raster.shape, px), 0, 2)
    amplitude = amplitude + levels.pericardium * lining * brightness

    across, down = heart.axis_right, heart.axis_down
    # The AV groove right of the mitral annulus, and left of it A4C's crux (where septum and
    # AV valves meet) or A2C's inferior AV groove with the coronary sinus: both bright.
    av_groove = heart.mitral_annulus[1] + 0.5 * across + 0.15 * down
    crux = heart.mitral_annulus[0] - 0.35 * across + 0.3 * down
    fibrous = _blob(raster, av_groove, 0.45) + _blob(raster, crux, 0.5)
    if right is not None:
        fibrous += 0.7 * _blob(raster, right.tricuspid_annulus[1] - 0.3 * across, 0.35)
    amplitude = amplitude + levels.fibrous * fibrous * ~blood

    amplitude = amplitude + levels.specular * _specular(raster, blood) * ~blood
    amplitude = ndimage.gaussian_filter(amplitude * texture, 0.03 * px)
    blood_fraction = ndimage.gaussian_filter(blood.astype(np.float32), 0.03 * px)
    return TissueMaps(raster, amplitude.astype(np.float32), blood_fraction)


def _orifice(annulus: np.ndarray, down: np.ndarray) -> np.ndarray:
    """The valve orifice as a thin quad below the annulus chord, joining ventricle and atrium."""
    return np.stack([annulus[0], annulus[1], annulus[1] + 0.4 * down, annulus[0] + 0.4 * down])
