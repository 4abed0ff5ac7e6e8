"""The cardiac cycle and the motion of the heart in the apical (A4C or A2C) plane.

Timing follows a normal Wiggers diagram: systole takes ~35-40 % of the cycle, then rapid
early filling, diastasis and the atrial kick; the mitral valve is shut from end-diastole to
just after end-systole, wide open in early filling and half-closed in diastasis.

Motion is one smooth systolic displacement field scaled by the contraction curve c(t) (0 at
end-diastole, 1 at end-systole). The field is a thin-plate spline (Bookstein, IEEE TPAMI
11(6), 1989) through control points on the walls: the endocardium moves inwards and towards
the apex, the epicardium less, so the wall thickens; the mitral annulus descends towards the
apex (MAPSE ~1.2-1.6 cm, Hu et al., J Am Soc Echocardiogr 26(9), 2013); in A4C the
tricuspid annulus more (TAPSE). A myocardial infarction makes its segments hypokinetic: their
motion amplitude drops to 0-30 % of normal (Cerqueira et al., Circulation 105(4), 2002,
wall-motion scoring), and healthy neighbours stretch them a little (systolic lengthening).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.interpolate import RBFInterpolator

from lvwall.data.phantom.anatomy import POINTS_PER_SEGMENT, Heart, RightHeart
from lvwall.data.phantom.tissue import Raster
from lvwall.data.records import SEGMENT_NAMES

#: Motion amplitude (fraction of normal) of hypokinetic (MI) and normal segments.
MI_AMPLITUDE_RANGE = (0.0, 0.3)
NORMAL_AMPLITUDE_RANGE = (0.85, 1.15)


def _smoothstep_knots(phase: np.ndarray, knots: list[tuple[float, float]]) -> np.ndarray:
    """Interpolate (phase, value) knots with a smoothstep in each interval: continuous with
    zero slope at every knot, like the plateaus and turns of volume curves."""
    xs = np.array([k[0] for k in knots])
    ys = np.array([k[1] for k in knots])
    index = np.clip(np.searchsorted(xs, phase, side="right") - 1, 0, len(xs) - 2)
    t = (phase - xs[index]) / (xs[index + 1] - xs[index])
    t = np.clip(t, 0.0, 1.0)
    return ys[index] + (ys[index + 1] - ys[index]) * t * t * (3 - 2 * t)


@dataclass(frozen=True)
class CardiacCycle:
    """Timing of a regular rhythm sampled at the video frame rate.

    ``frames_per_cycle`` frames make one beat; ``first_ed`` is the 0-based frame of the first
    end-diastole; ``end_systole`` is the phase (fraction of the beat) of end-systole.
    """

    frames_per_cycle: int
    first_ed: int = 0
    end_systole: float = 0.37

    def __post_init__(self) -> None:
        if self.frames_per_cycle < 4:
            raise ValueError(f"frames_per_cycle must be at least 4, got {self.frames_per_cycle}")
        if self.first_ed < 0:
            raise ValueError(f"first_ed must be >= 0, got {self.first_ed}")
        if not 0.2 <= self.end_systole <= 0.5:
            raise ValueError(f"end_systole must be in [0.2, 0.5], got {self.end_systole}")

    def phase(self, frames: np.ndarray) -> np.ndarray:
        """Fraction of the beat (0 = end-diastole) at each 0-based frame index."""
        return np.mod((np.asarray(frames, float) - self.first_ed) / self.frames_per_cycle, 1.0)

    def contraction(self, frames: np.ndarray) -> np.ndarray:
        """c(t): 0 at end-diastole, 1 at end-systole; rapid filling, diastasis, atrial kick."""
        es = self.end_systole
        knots = [(0.0, 0.0), (es, 1.0), (es + 0.17, 0.22), (0.84, 0.12), (1.0, 0.0)]
        return _smoothstep_knots(self.phase(frames), knots)

    def valve_opening(self, frames: np.ndarray) -> np.ndarray:
        """AV-valve opening, 0 shut to 1 wide open: E wave, diastasis, A wave, closure."""
        es = self.end_systole
        knots = [
            (0.0, 0.0),
            (es + 0.03, 0.0),
            (es + 0.09, 1.0),
            (es + 0.2, 0.85),
            (0.78, 0.4),
            (0.87, 0.85),
            (0.96, 0.2),
            (1.0, 0.0),
        ]
        return _smoothstep_knots(self.phase(frames), knots)


def sample_segment_amplitudes(rng: np.random.Generator, segment_mi: tuple[bool, ...]) -> np.ndarray:
    """Motion amplitude of each segment: 0-0.3 of normal where MI, 0.85-1.15 elsewhere.

    Both ranges are drawn for every segment, so recordings that differ only in their MI
    pattern share all other random choices.
    """
    if len(segment_mi) != len(SEGMENT_NAMES):
        raise ValueError(f"segment_mi needs {len(SEGMENT_NAMES)} flags, got {len(segment_mi)}")
    hypokinetic = rng.uniform(*MI_AMPLITUDE_RANGE, len(SEGMENT_NAMES))
    normal = rng.uniform(*NORMAL_AMPLITUDE_RANGE, len(SEGMENT_NAMES))
    return np.where(np.asarray(segment_mi, bool), hypokinetic, normal)


@dataclass(frozen=True)
class Kinetics:
    """Systolic excursions of a normal heart (cm), drawn per recording.

    ``inward``: endocardial inward motion at the base; ``epicardial_share``: the epicardium's
    share of it (the rest is thickening); ``mapse``/``tapse``: mitral/tricuspid annular
    descent; ``rv_inward``: RV free-wall inward motion. An A2C view has no right heart to
    move, so it leaves ``tapse`` and ``rv_inward`` unused; they are drawn for every view all
    the same, so a seed's later draws do not depend on the view.
    """

    inward: float
    epicardial_share: float
    mapse: float
    tapse: float
    rv_inward: float


def sample_kinetics(rng: np.random.Generator, scale: float = 1.0) -> Kinetics:
    u = rng.uniform
    return Kinetics(
        inward=scale * u(0.55, 0.75),
        epicardial_share=u(0.3, 0.42),
        mapse=scale * u(1.1, 1.6),
        tapse=scale * u(1.6, 2.2),
        rv_inward=scale * u(0.25, 0.45),
    )


def point_amplitudes(segment_amplitudes: np.ndarray) -> np.ndarray:
    """Amplitude at every LV contour point: the segment values, blended smoothly across
    segment borders because myocardium is continuous."""
    n = POINTS_PER_SEGMENT
    per_point = np.repeat(segment_amplitudes, n)
    per_point = np.append(per_point, segment_amplitudes[-1])
    return ndimage.gaussian_filter1d(per_point, 0.3 * n, mode="nearest")


@dataclass(frozen=True)
class DisplacementField:
    """A displacement field (cm) sampled on a coarse raster, read bilinearly."""

    raster: Raster
    dx: np.ndarray
    dz: np.ndarray

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Displacement (P, 2) at (P, 2) points (x, z) in cm."""
        return np.stack(
            [self.raster.sample(self.dx, points), self.raster.sample(self.dz, points)], 1
        )


def _lv_controls(
    heart: Heart, amplitude: np.ndarray, kinetics: Kinetics
) -> tuple[np.ndarray, np.ndarray]:
    lv = heart.lv
    sin_alpha = np.sqrt(np.clip(lv.height * (2 - lv.height), 0, 1))  # ellipse: |sin| from height
    inward = kinetics.inward * (0.4 + 0.6 * sin_alpha) * amplitude
    towards_apex = -heart.axis_down * (kinetics.mapse * lv.height * amplitude)[:, None]
    endo = inward[:, None] * lv.inward + towards_apex
    epi = kinetics.epicardial_share * inward[:, None] * lv.inward + towards_apex
    return np.concatenate([lv.endo, lv.epi]), np.concatenate([endo, epi])


def _rv_controls(
    heart: Heart, right: RightHeart, kinetics: Kinetics
) -> tuple[np.ndarray, np.ndarray]:
    wall = right.rv_free_wall
    apex, annulus = wall[0], wall[-1]
    span = max(float((annulus - apex) @ heart.axis_down), 1e-6)
    height = np.clip(((wall - apex) @ heart.axis_down) / span, 0, 1)
    tangent = np.gradient(wall, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    inward = np.stack([tangent[:, 1], -tangent[:, 0]], 1)  # into the RV cavity
    bulge = np.sin(np.pi * np.clip(height, 0, 1)) ** 0.5
    shift = (
        kinetics.rv_inward * bulge[:, None] * inward
        - kinetics.tapse * height[:, None] * heart.axis_down
    )
    outer = wall - right.shape.rv_wall_thickness * inward
    return np.concatenate([wall[1:], outer[1:]]), np.concatenate([shift[1:], 0.8 * shift[1:]])


def _atrial_controls(
    cavity: np.ndarray, hinges: np.ndarray, hinge_shifts: np.ndarray, down: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Atrial walls follow their annulus near the valve and stay put at the far wall; across
    the chamber, each point follows the two valve hinges in proportion to how near it lies."""
    top = float(cavity[[0, -1]].mean(0) @ down)
    depth = cavity @ down - top
    share = 1.0 - np.clip(depth / max(float(depth.max()), 1e-6), 0, 1)
    chord = hinges[1] - hinges[0]
    across = np.clip((cavity - hinges[0]) @ chord / float(chord @ chord), 0, 1)[:, None]
    annulus_shift = (1 - across) * hinge_shifts[0] + across * hinge_shifts[1]
    return cavity, share[:, None] * annulus_shift


def _anchor_points(heart: Heart, raster: Raster) -> np.ndarray:
    """Still points: a ring well outside the heart, the chest wall and the raster's rim."""
    outlines = np.concatenate(heart.outlines())
    centre = (outlines.max(0) + outlines.min(0)) / 2
    radii = (outlines.max(0) - outlines.min(0)) / 2 + 2.5
    angle = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    ring = centre + radii * np.stack([np.cos(angle), np.sin(angle)], 1)
    rows, cols = raster.shape
    x0, z0 = raster.origin
    x1, z1 = x0 + (cols - 1) * raster.spacing, z0 + (rows - 1) * raster.spacing
    t = np.linspace(0, 1, 9)
    rim = np.concatenate(
        [
            np.stack([x0 + (x1 - x0) * t, np.full_like(t, z0)], 1),
            np.stack([x0 + (x1 - x0) * t, np.full_like(t, z1)], 1),
            np.stack([np.full_like(t, x0), z0 + (z1 - z0) * t], 1),
            np.stack([np.full_like(t, x1), z0 + (z1 - z0) * t], 1),
        ]
    )
    chest = np.stack([np.linspace(-2, 2, 9), np.full(9, 1.0)], 1)
    return np.concatenate([ring, rim, chest])


def systolic_field(
    heart: Heart,
    segment_amplitudes: np.ndarray,
    kinetics: Kinetics,
    raster: Raster,
) -> DisplacementField:
    """The end-systolic displacement of every point of the reference scene (cm)."""
    if segment_amplitudes.shape != (len(SEGMENT_NAMES),):
        raise ValueError(f"need {len(SEGMENT_NAMES)} segment amplitudes, got {segment_amplitudes}")
    amplitude = point_amplitudes(segment_amplitudes)
    lv_points, lv_shift = _lv_controls(heart, amplitude, kinetics)
    n_side = len(amplitude)
    mitral_shifts = lv_shift[[0, n_side - 1]]
    la_points, la_shift = _atrial_controls(
        heart.la_cavity, heart.mitral_annulus, mitral_shifts, heart.axis_down
    )
    anchors = _anchor_points(heart, raster)
    if heart.right is None:
        points = np.concatenate([lv_points, la_points, anchors])
        shifts = np.concatenate([lv_shift, la_shift, np.zeros_like(anchors)])
    else:
        right = heart.right
        rv_points, rv_shift = _rv_controls(heart, right, kinetics)
        # The tricuspid septal hinge sits on the septum's epicardium and moves with it.
        septal_hinge = int(
            np.argmin(np.linalg.norm(lv_points - right.tricuspid_annulus[0], axis=1))
        )
        tricuspid_shifts = np.stack([lv_shift[septal_hinge], rv_shift[len(right.rv_free_wall) - 2]])
        ra_points, ra_shift = _atrial_controls(
            right.ra_cavity, right.tricuspid_annulus, tricuspid_shifts, heart.axis_down
        )
        points = np.concatenate([lv_points, rv_points, la_points, ra_points, anchors])
        shifts = np.concatenate([lv_shift, rv_shift, la_shift, ra_shift, np.zeros_like(anchors)])
    spline = RBFInterpolator(points, shifts, kernel="thin_plate_spline", smoothing=1e-4)
    x, z = raster.coordinates()
    values = spline(np.stack([x.ravel(), z.ravel()], 1)).astype(np.float32)
    return DisplacementField(
        raster, values[:, 0].reshape(raster.shape), values[:, 1].reshape(raster.shape)
    )


def leaflet_points(
    hinge: np.ndarray,
    shut_direction: np.ndarray,
    open_direction: np.ndarray,
    length: float,
    opening: float,
    offsets: np.ndarray,
) -> np.ndarray:
    """Points of one valve leaflet hinged at ``hinge``, turned from its shut towards its open
    direction by ``opening`` (0..1). ``offsets`` are (along 0..1, across cm) per point; the
    leaflet curves a little towards its open side, like a sail."""
    shut_angle = np.arctan2(shut_direction[1], shut_direction[0])
    open_angle = np.arctan2(open_direction[1], open_direction[0])
    turn = np.angle(np.exp(1j * (open_angle - shut_angle)))
    angle = shut_angle + opening * turn
    along = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-along[1], along[0]]) * np.sign(turn)
    s = offsets[:, :1]
    sag = 0.12 * length * np.sin(np.pi * s) * (1 - 0.5 * opening)
    return hinge + length * s * along + (offsets[:, 1:] + sag) * across
