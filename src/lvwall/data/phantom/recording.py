"""Simulate one apical (A4C or A2C) recording: video, LV-wall masks, segment maps and motion
truth.

One module because every frame's video, masks, segment maps and truth come from the same
moving heart in one pass; split apart, each would recompute the motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lvwall.data.phantom import bmode
from lvwall.data.phantom.anatomy import Heart, build_heart, sample_heart_shape, segment_polygons
from lvwall.data.phantom.function import FunctionTruth, function_truth
from lvwall.data.phantom.motion import (
    CardiacCycle,
    DisplacementField,
    leaflet_points,
    sample_kinetics,
    sample_segment_amplitudes,
    systolic_field,
)
from lvwall.data.phantom.overlays import ScannerOverlay, tint_grey
from lvwall.data.phantom.params import PhantomParams, sample_params
from lvwall.data.phantom.tissue import Raster, TissueMaps, paint_tissue, sample_echogenicity
from lvwall.data.records import MODEL_SIZE, SEGMENT_NAMES, EchoRecord, check_view, segment_names

#: Display pixels per polar range sample and per beam line at full depth: fine enough that
#: scan conversion interpolates smoothly, coarse enough to keep the simulation fast.
_PIXELS_PER_SAMPLE = 1.3
_PIXELS_PER_LINE = 4.3
#: Frame-to-frame correlation of tissue scatterers (out-of-plane motion decorrelates
#: speckle slowly) and of reverberation clutter; blood decorrelates fully.
_TISSUE_CORRELATION = 0.97
_CLUTTER_CORRELATION = 0.8
_LEAFLET_SCATTERERS = 160
#: The view tag of HMC-QU's and CAMUS's recording names.
_VIEW_TAGS = {"A4C": "4CH", "A2C": "2CH"}


@dataclass
class PhantomRecording:
    """One simulated recording with its ground truth.

    ``video`` is uint8 (N, H, W, 3), the whole recording. ``record`` is its A4C.xlsx row
    (an A2C recording's too: the sheet's six flags are positional, :attr:`segment_names`
    names them): Reference Frame .. End of Cycle (1-based, inclusive) is the end-diastole to
    end-diastole cycle that has masks. ``masks`` (uint8 0/1) and ``segment_maps`` (uint8, 0
    background, 1..6 in :attr:`segment_names` order) are (T, 224, 224) for those frames, in
    the frame geometry of HMC-QU masks (the whole video frame resized to 224 x 224).
    ``segment_motion`` (6,) is the motion amplitude of each segment (1 = normal, <= 0.3 =
    hypokinetic); ``endo_displacement`` (T, 6) the mean displacement of each segment's
    endocardium from end-diastole, in mm; ``function`` the cycle's true cavity areas,
    volumes, lengths, EF and strain.
    """

    echo: str
    video: np.ndarray
    record: EchoRecord
    masks: np.ndarray
    segment_maps: np.ndarray
    segment_motion: np.ndarray
    endo_displacement: np.ndarray
    function: FunctionTruth
    params: PhantomParams

    @property
    def view(self) -> str:
        """The apical view simulated, ``"A4C"`` or ``"A2C"``."""
        return self.params.view

    @property
    def segment_names(self) -> tuple[str, ...]:
        """The view's six segment names, in label-map order (labels 1..6)."""
        return segment_names(self.view)


def echo_name(index: int, view: str = "A4C") -> str:
    """HMC-QU-style recording name: ``PH0001 _4CH_1``, or ``PH0001 _2CH_1`` for an A2C
    ``view`` (patient ``PH0001`` either way, so a patient's two views stay together)."""
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    return f"PH{index:04d} _{_VIEW_TAGS[check_view(view)]}_1"


@dataclass(frozen=True)
class _Scan:
    sector: bmode.Sector
    psf: bmode.PointSpreadFunction
    converter: bmode.ScanConverter


def _scan(params: PhantomParams, heart: Heart, rng: np.random.Generator) -> _Scan:
    angle = np.deg2rad(params.sector_deg)
    apex = (params.width * (0.5 + rng.uniform(-0.02, 0.02)), params.height * rng.uniform(0, 0.02))
    base_depth = float(np.max(heart.lv.epi[:, 1]))
    visible = max(params.depth_cm / params.zoom, min(params.depth_cm, base_depth + 2.0))
    pixels_per_cm = min(
        (params.height - apex[1]) / visible,
        (params.width / 2 - 4) / (params.depth_cm * np.sin(angle / 2)),
    )
    full_depth_px = params.depth_cm * pixels_per_cm
    sector = bmode.Sector(
        depth=params.depth_cm,
        angle=angle,
        n_samples=max(int(round(full_depth_px / _PIXELS_PER_SAMPLE)), 32),
        n_lines=max(int(round(angle * full_depth_px / _PIXELS_PER_LINE)), 24),
    )
    psf = bmode.PointSpreadFunction(
        axial_sigma=rng.uniform(0.07, 0.1),
        lateral_sigma=rng.uniform(0.08, 0.12),
        lateral_growth=rng.uniform(0.006, 0.01),
    )
    converter = bmode.ScanConverter(sector, params.width, params.height, apex, pixels_per_cm)
    return _Scan(sector, psf, converter)


def _scene_raster(sector: bmode.Sector, spacing: float) -> Raster:
    half_width = sector.depth * np.sin(min(sector.angle / 2 + 0.15, np.pi / 2)) + 1.0
    return Raster.covering((-half_width, half_width), (-0.5, sector.depth + 1.0), spacing)


@dataclass(frozen=True)
class _Scatterers:
    """Tissue scatterers: reference positions, their systolic displacement, echogenicity,
    and which are blood (whose speckle is redrawn every frame)."""

    reference: np.ndarray
    systolic: np.ndarray
    echo: np.ndarray
    blood: np.ndarray
    density: float


def _scatterers(
    sector: bmode.Sector,
    tissue: TissueMaps,
    field: DisplacementField,
    density: float,
    rng: np.random.Generator,
) -> _Scatterers:
    margin = 0.08
    count = int(density * sector.n_samples * sector.n_lines * (1 + 2 * margin / sector.angle))
    radius = rng.uniform(0.0, sector.depth, count)
    angle = rng.uniform(-sector.angle / 2 - margin, sector.angle / 2 + margin, count)
    reference = np.stack([radius * np.sin(angle), radius * np.cos(angle)], 1).astype(np.float32)
    return _Scatterers(
        reference=reference,
        systolic=field(reference).astype(np.float32),
        echo=tissue.raster.sample(tissue.amplitude, reference),
        blood=tissue.raster.sample(tissue.blood, reference) > 0.5,
        density=density,
    )


def _complex_normal(rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    real, imag = rng.standard_normal((2, *np.atleast_1d(shape)), dtype=np.float32)
    return (real + 1j * imag) * np.float32(np.sqrt(0.5))


class _NoisePool:
    """Unit complex Gaussian numbers drawn once; each request reads a slice at a random
    offset, which is as good as fresh noise to the eye and ~20x cheaper per frame."""

    def __init__(self, rng: np.random.Generator, largest: int) -> None:
        self._rng = rng
        self._values = _complex_normal(rng, 4 * largest)

    def take(self, shape: int | tuple[int, ...]) -> np.ndarray:
        count = int(np.prod(shape))
        start = int(self._rng.integers(0, len(self._values) - count + 1))
        return self._values[start : start + count].reshape(shape)


@dataclass(frozen=True)
class _Leaflet:
    hinge: np.ndarray
    partner: np.ndarray
    length: float
    offsets: np.ndarray
    echo: np.ndarray


def _leaflets(heart: Heart, rng: np.random.Generator) -> list[_Leaflet]:
    leaflets = []
    valves = [(heart.mitral_annulus, heart.shape.mitral_leaflets)]
    if heart.right is not None:
        valves.append((heart.right.tricuspid_annulus, heart.right.shape.tricuspid_leaflets))
    for annulus, lengths in valves:
        for k in (0, 1):
            along = rng.uniform(0, 1, _LEAFLET_SCATTERERS)
            across = rng.normal(0, 0.025, _LEAFLET_SCATTERERS)
            echo = rng.uniform(1.2, 2.2) * (1.3 - 0.6 * along)  # thick base, thin tip
            leaflets.append(
                _Leaflet(annulus[k], annulus[1 - k], lengths[k], np.stack([along, across], 1), echo)
            )
    return leaflets


def _leaflet_positions(
    leaflet: _Leaflet, field: DisplacementField, down: np.ndarray, c: float, opening: float
) -> np.ndarray:
    hinge = leaflet.hinge + c * field(leaflet.hinge[None])[0]
    partner = leaflet.partner + c * field(leaflet.partner[None])[0]
    towards_partner = (partner - hinge) / np.linalg.norm(partner - hinge)
    shut = towards_partner - 0.2 * down
    wide = -down - 0.25 * towards_partner
    return leaflet_points(hinge, shut, wide, leaflet.length, opening, leaflet.offsets)


def _haze(sector: bmode.Sector, level: float, rng: np.random.Generator) -> np.ndarray:
    """Reverberation clutter level per polar cell: strong in the near field (the chest wall
    rings), with patches further down; fixed in the image as real clutter is."""
    radius = sector.ranges[:, None]
    patches = np.abs(
        cv2.GaussianBlur(rng.standard_normal((sector.n_samples, sector.n_lines)), (0, 0), 6)
    )
    patches /= patches.max() + 1e-12
    return level * (3.0 * np.exp(-radius / 2.5) + 1.5 * np.exp(-radius / 8.0) * patches)


class _GrainPool:
    """Pixel-level grain of a low-quality acquisition and video chain (what gives HMC-QU
    frames their salt-and-pepper look): random crops of one smoothed noise image."""

    def __init__(self, rng: np.random.Generator, height: int, width: int) -> None:
        self._rng = rng
        self._size = (height, width)
        noise = rng.standard_normal((2, height + 64, width + 64), dtype=np.float32)
        self._noise = np.stack([cv2.GaussianBlur(n, (0, 0), 0.6) * 1.6 for n in noise])

    def take(self) -> np.ndarray:
        top, left = (int(self._rng.integers(0, 65)) for _ in range(2))
        height, width = self._size
        return self._noise[:, top : top + height, left : left + width]


def _add_grain(grey: np.ndarray, grain: np.ndarray, level: float, mask: np.ndarray) -> np.ndarray:
    """Multiplicative grain on the echo plus a sparse additive floor (chi-square shaped)."""
    speckled = grey * (1 + level * grain[0]) + (0.12 * level) * grain[1] ** 2 * mask
    return np.clip(speckled, 0.0, 1.0)


def _to_mask_pixels(converter: bmode.ScanConverter, points: np.ndarray) -> np.ndarray:
    """cm -> pixel coordinates of the video frame resized to MODEL_SIZE (pixel centres)."""
    pixels = converter.to_pixels(points)
    scale = np.array([MODEL_SIZE / converter.width, MODEL_SIZE / converter.height])
    return (pixels + 0.5) * scale - 0.5


def _segment_map(converter: bmode.ScanConverter, endo: np.ndarray, epi: np.ndarray) -> np.ndarray:
    labels = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    shift = 4
    for label, polygon in enumerate(segment_polygons(endo, epi), start=1):
        vertices = np.round(_to_mask_pixels(converter, polygon) * (1 << shift)).astype(np.int32)
        cv2.fillPoly(labels, [vertices], label, lineType=cv2.LINE_8, shift=shift)
    return labels


def _wall_truth(
    heart: Heart,
    field: DisplacementField,
    converter: bmode.ScanConverter,
    contraction: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, FunctionTruth]:
    """Segment maps, per-segment endocardial displacement (mm) and the function truth of the
    given frames."""
    lv = heart.lv
    endo_shift, epi_shift = field(lv.endo), field(lv.epi)
    segments = [lv.segment_slice(k) for k in range(len(SEGMENT_NAMES))]
    maps, displacement = [], []
    for c in contraction:
        maps.append(_segment_map(converter, lv.endo + c * endo_shift, lv.epi + c * epi_shift))
        moved = 10.0 * c * np.linalg.norm(endo_shift, axis=1)
        displacement.append([moved[part].mean() for part in segments])
    contours = lv.endo[None] + contraction[:, None, None] * endo_shift[None]
    mm_per_pixel = 10.0 / converter.pixels_per_cm
    function = function_truth(contours, segments, (mm_per_pixel, mm_per_pixel))
    return np.stack(maps), np.asarray(displacement, np.float32), function


def _seed_streams(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """Independent streams for the parameters and the scene, so fixing some parameters
    leaves the anatomy, speckle and motion of a seed unchanged."""
    params_seed, scene_seed = np.random.SeedSequence(seed).spawn(2)
    return params_seed, scene_seed


def draw_params(seed: int, **fixed: object) -> PhantomParams:
    """The parameters :func:`simulate_recording` draws for ``seed``, with ``fixed`` fields
    set instead (e.g. ``width=160, height=106`` for a small video)."""
    return sample_params(np.random.default_rng(_seed_streams(seed)[0]), **fixed)


@dataclass(frozen=True)
class _Scene:
    """Everything fixed for a recording: anatomy, scanner, motion and scatterers."""

    heart: Heart
    scan: _Scan
    segment_amplitudes: np.ndarray
    field: DisplacementField
    cycle: CardiacCycle
    scatterers: _Scatterers
    leaflets: list[_Leaflet]


def _build_scene(params: PhantomParams, rng: np.random.Generator) -> _Scene:
    shape = sample_heart_shape(
        rng,
        view=params.view,
        scale=params.heart_scale,
        shift=params.heart_shift_cm,
        rotation_deg=params.heart_rotation_deg,
    )
    heart = build_heart(shape)
    scan = _scan(params, heart, rng)
    tissue = paint_tissue(heart, _scene_raster(scan.sector, 0.05), sample_echogenicity(rng), rng)
    amplitudes = sample_segment_amplitudes(rng, params.segment_mi)
    kinetics = sample_kinetics(rng, params.heart_scale)
    field = systolic_field(heart, amplitudes, kinetics, _scene_raster(scan.sector, 0.3))
    cycle = CardiacCycle(
        params.cycle_frames, params.first_ed_frame - 1, end_systole=rng.uniform(0.34, 0.4)
    )
    scatterers = _scatterers(scan.sector, tissue, field, params.scatterers_per_cell, rng)
    return _Scene(heart, scan, amplitudes, field, cycle, scatterers, _leaflets(heart, rng))


class _FrameRenderer:
    """Renders the frames of a scene in order: speckle decorrelates a little from frame to
    frame in tissue and fully in blood, clutter flickers, noise is fresh."""

    def __init__(self, scene: _Scene, params: PhantomParams, rng: np.random.Generator) -> None:
        self.scene, self.params = scene, params
        sector, scatterers = scene.scan.sector, scene.scatterers
        power_scale = bmode.unit_power_scale(sector, scene.scan.psf, scatterers.density)
        self.depth = bmode.depth_profile(sector, params.tgc_error_db, params.noise_db)
        beam_gain = _beam_gain(sector, scene.heart, params.dropout, rng)
        self.iq_gain = (power_scale * self.depth.tissue_gain * beam_gain).astype(np.float32)
        haze = _haze(sector, params.clutter, rng) * np.sqrt(scatterers.density)
        self.haze = haze.astype(np.float32)
        self.overlay = (
            ScannerOverlay(params, scene.scan.converter, scene.cycle, rng)
            if params.overlays
            else None
        )
        self.grain = _GrainPool(rng, params.height, params.width)
        self.noise = _NoisePool(rng, max(len(scatterers.reference), self.haze.size))
        self.speckle = _complex_normal(rng, len(scatterers.reference))
        self.clutter = _complex_normal(rng, self.haze.shape)
        self.leaflet_echo = np.concatenate([leaf.echo for leaf in scene.leaflets])

    def _advance_noise(self) -> None:
        blood = self.scene.scatterers.blood
        fresh = np.float32(np.sqrt(1 - _TISSUE_CORRELATION**2))
        self.speckle = np.float32(_TISSUE_CORRELATION) * self.speckle + fresh * self.noise.take(
            len(self.speckle)
        )
        self.speckle[blood] = self.noise.take(int(blood.sum()))
        fresh = np.float32(np.sqrt(1 - _CLUTTER_CORRELATION**2))
        self.clutter = np.float32(_CLUTTER_CORRELATION) * self.clutter + fresh * self.noise.take(
            self.haze.shape
        )

    def _scatterer_field(self, contraction: float, opening: float) -> tuple[np.ndarray, np.ndarray]:
        scene = self.scene
        leaflets = [
            _leaflet_positions(leaf, scene.field, scene.heart.axis_down, contraction, opening)
            for leaf in scene.leaflets
        ]
        moved = scene.scatterers.reference + np.float32(contraction) * scene.scatterers.systolic
        points = np.concatenate([moved, *leaflets], dtype=np.float32)
        amplitudes = np.concatenate(
            [
                scene.scatterers.echo * self.speckle,
                self.leaflet_echo * self.noise.take(len(self.leaflet_echo)),
            ]
        )
        return points, amplitudes

    def render(self, index: int, contraction: float, opening: float) -> np.ndarray:
        """Frame ``index`` (0-based) as uint8 RGB."""
        scan, params = self.scene.scan, self.params
        self._advance_noise()
        points, amplitudes = self._scatterer_field(contraction, opening)
        iq = bmode.backscatter(
            scan.sector, scan.psf, points, amplitudes, extra=self.haze * self.clutter
        )
        iq = iq * self.iq_gain + self.depth.noise_level * self.noise.take(iq.shape)
        display = bmode.log_compress(
            bmode.envelope(iq), params.dynamic_range_db, params.gain_db, params.grey_gamma
        )
        grey = _add_grain(
            scan.converter(display), self.grain.take(), params.grain, scan.converter.sector_mask
        )
        rgb = tint_grey(grey, params.tint)
        return self.overlay.draw(rgb, index) if self.overlay else rgb


def simulate_recording(
    seed: int, *, params: PhantomParams | None = None, echo: str | None = None
) -> PhantomRecording:
    """Simulate one recording, deterministically from ``seed``.

    Without ``params``, they are drawn with :func:`draw_params` from ``seed``; with them,
    ``seed`` still fixes the anatomy, speckle and motion, so two calls that differ only in
    ``params.segment_mi`` show the same heart with different infarcts. ``echo`` names the
    recording (default :func:`echo_name` of ``seed`` and ``params.view``).
    """
    if params is None:
        params = draw_params(seed)
    rng = np.random.default_rng(_seed_streams(seed)[1])
    scene = _build_scene(params, rng)
    frames = np.arange(params.n_frames)
    contraction = scene.cycle.contraction(frames)
    opening = scene.cycle.valve_opening(frames)
    renderer = _FrameRenderer(scene, params, rng)
    video = np.stack(
        [renderer.render(int(i), float(contraction[i]), float(opening[i])) for i in frames]
    )
    first, last = params.first_ed_frame - 1, params.end_of_cycle
    segment_maps, endo_displacement, function = _wall_truth(
        scene.heart, scene.field, scene.scan.converter, contraction[first:last]
    )
    record = EchoRecord(
        echo=echo or echo_name(seed, params.view),
        segment_mi=tuple(bool(flag) for flag in params.segment_mi),
        reference_frame=params.first_ed_frame,
        end_of_cycle=params.end_of_cycle,
        mask_available=True,
    )
    return PhantomRecording(
        echo=record.echo,
        video=video,
        record=record,
        masks=(segment_maps > 0).astype(np.uint8),
        segment_maps=segment_maps,
        segment_motion=scene.segment_amplitudes,
        endo_displacement=endo_displacement,
        function=function,
        params=params,
    )


def _beam_gain(
    sector: bmode.Sector, heart: Heart, dropout: float, rng: np.random.Generator
) -> np.ndarray:
    """Dropout over the image-right wall (A4C's lateral, A2C's anterior wall: lung in the
    way), plus weaker beams at the sector edges (apodisation)."""
    lv = heart.lv
    target = lv.endo[int(np.argmin(np.abs(lv.height - rng.uniform(0.4, 0.9)) + 10 * lv.left))]
    radius, angle = sector.polar(target[None])
    gain = bmode.dropout_gain(
        sector,
        centre=(float(radius[0]), float(angle[0]) + rng.uniform(0.0, 0.08)),
        size=(rng.uniform(1.5, 3.5), rng.uniform(0.05, 0.12)),
        strength=dropout,
    )
    edge = 1.0 - 0.35 * (np.abs(sector.angles) / (sector.angle / 2))[None, :] ** 4
    return gain * edge.astype(np.float32)
