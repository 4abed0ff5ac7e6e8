"""Geometry of the heart in an apical four-chamber (A4C) view, at end-diastole.

All coordinates are in centimetres in the imaging plane, with the transducer (the apex of
the sector) at the origin, ``x`` to the image right and ``z`` the depth, downwards. The view
follows the standard A4C convention (Lang et al., "Recommendations for Cardiac Chamber
Quantification by Echocardiography", JASE 28(1), 2015): LV apex at the top, septum on the
image left of the LV, RV left of the septum, atria below the atrioventricular valves.

The LV wall is the band between endocardium and epicardium from the septal to the lateral
mitral annulus, open at the base, which is what the HMC-QU ground truth labels (Degerli et
al., IEEE Access 9:34442, 2021). Each side is split by endocardial arc length into basal, mid
and apical thirds: the six A4C segments of the AHA 17-segment model (Cerqueira et al.,
Circulation 105(4):539, 2002), numbered in :data:`lvwall.data.records.SEGMENT_NAMES` order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lvwall.data.records import SEGMENT_NAMES

#: Contour points per wall segment (the polygon of a segment has this many + 1 per side).
POINTS_PER_SEGMENT = 12
_N_SEGMENTS = len(SEGMENT_NAMES)


@dataclass(frozen=True)
class HeartShape:
    """The dimensions of one heart, in cm and radians (sampled by :func:`sample_heart_shape`).

    ``apex`` is the LV endocardial apex (x, z); ``tilt`` turns the long axis from the vertical
    (positive: base to the image right). The LV endocardium is a half ellipse of length
    ``lv_length`` (apex to mitral annulus) whose septal and lateral halves have half-widths
    ``septal_half_width`` and ``lateral_half_width``, narrowed towards the annulus by
    ``basal_taper``.
    """

    apex: tuple[float, float]
    tilt: float
    lv_length: float
    septal_half_width: float
    lateral_half_width: float
    basal_taper: float
    septal_thickness: float
    lateral_thickness: float
    apical_thickness: float
    rv_apex_height: float
    rv_base_width: float
    rv_wall_thickness: float
    tricuspid_offset: float
    la_depth: float
    la_overhang: float
    ra_depth: float
    interatrial_gap: float
    atrial_wall_thickness: float
    mitral_leaflets: tuple[float, float]
    tricuspid_leaflets: tuple[float, float]
    papillary_size: float


def sample_heart_shape(
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
) -> HeartShape:
    """Draw a plausible adult heart; ``scale``, ``shift`` (cm) and ``rotation_deg`` move it.

    Ranges follow normal adult A4C dimensions (Lang et al., JASE 2015): LV length 7-9 cm,
    end-diastolic LV width 4-5 cm, wall thickness 0.6-1.1 cm, RV basal width 2.5-4 cm.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    u = rng.uniform
    half_width = 2.4 * scale * u(0.92, 1.08)
    return HeartShape(
        apex=(0.25 + shift[0] + u(-0.3, 0.3), 3.1 + shift[1] + u(-0.3, 0.3)),
        tilt=np.deg2rad(3.0 + rotation_deg + u(-3.0, 3.0)),
        lv_length=7.9 * scale * u(0.92, 1.08),
        septal_half_width=half_width * u(0.85, 0.97),
        lateral_half_width=half_width * u(1.0, 1.12),
        basal_taper=u(0.15, 0.27),
        septal_thickness=scale * u(0.9, 1.15),
        lateral_thickness=scale * u(0.8, 1.05),
        apical_thickness=scale * u(0.55, 0.75),
        rv_apex_height=u(0.64, 0.8),
        rv_base_width=scale * u(2.7, 3.6),
        rv_wall_thickness=scale * u(0.3, 0.45),
        tricuspid_offset=scale * u(0.4, 0.9),
        la_depth=scale * u(3.6, 4.8),
        la_overhang=scale * u(0.1, 0.7),
        ra_depth=scale * u(3.2, 4.4),
        interatrial_gap=scale * u(0.25, 0.4),
        atrial_wall_thickness=scale * u(0.2, 0.3),
        mitral_leaflets=(scale * u(1.9, 2.4), scale * u(1.2, 1.6)),
        tricuspid_leaflets=(scale * u(1.3, 1.7), scale * u(1.6, 2.1)),
        papillary_size=scale * u(0.0, 0.55),
    )


@dataclass(frozen=True)
class LvWall:
    """The LV wall contours at end-diastole, from the septal base over the apex to the lateral
    base, ``POINTS_PER_SEGMENT`` points per segment (6 * n + 1 points).

    ``endo`` and ``epi`` are (P, 2) with ``epi[i]`` on the outward normal of ``endo[i]``;
    ``inward`` are unit normals into the cavity; ``height`` runs from 0 at the apex to 1 at
    the annulus; ``septal`` flags the septal half (image left).
    """

    endo: np.ndarray
    epi: np.ndarray
    inward: np.ndarray
    height: np.ndarray
    septal: np.ndarray

    def segment_slice(self, segment: int) -> slice:
        """Contour indices of segment ``segment`` (0-based, SEGMENT_NAMES order), ends included."""
        if not 0 <= segment < _N_SEGMENTS:
            raise ValueError(f"segment must be in 0..{_N_SEGMENTS - 1}, got {segment}")
        n = POINTS_PER_SEGMENT
        return slice(segment * n, (segment + 1) * n + 1)


@dataclass(frozen=True)
class Heart:
    """All end-diastolic contours of the A4C view (cm), built by :func:`build_heart`.

    Closed outlines are (P, 2) polygons. ``mitral_annulus`` and ``tricuspid_annulus`` are
    (septal, lateral) hinge points; ``axis_down`` is the unit LV long axis from apex to base
    and ``axis_lateral`` the unit vector across it towards the lateral wall.
    """

    shape: HeartShape
    lv: LvWall
    lv_cavity: np.ndarray
    lv_outline: np.ndarray
    rv_cavity: np.ndarray
    rv_outline: np.ndarray
    rv_free_wall: np.ndarray
    la_cavity: np.ndarray
    ra_cavity: np.ndarray
    mitral_annulus: np.ndarray
    tricuspid_annulus: np.ndarray
    papillary: np.ndarray
    axis_down: np.ndarray
    axis_lateral: np.ndarray


def _frame_vectors(tilt: float) -> tuple[np.ndarray, np.ndarray]:
    down = np.array([np.sin(tilt), np.cos(tilt)])
    lateral = np.array([np.cos(tilt), -np.sin(tilt)])
    return down, lateral


def _resample_by_arc_length(curve: np.ndarray, n: int) -> np.ndarray:
    """``n + 1`` points at equal arc-length steps along a dense polyline (ends kept)."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    targets = np.linspace(0.0, arc[-1], n + 1)
    return np.stack([np.interp(targets, arc, curve[:, k]) for k in range(2)], axis=1)


def _unit_normals(curve: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline ordered septal base -> apex -> lateral base, pointing left of
    the direction of travel, which is outwards (away from the cavity) for that order."""
    tangent = np.gradient(curve, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    # Travelling up the septum, over the apex and down the lateral wall in image coordinates
    # (z down), the cavity lies to the right of travel; (t_z, -t_x) points away from it.
    return np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)


def _lv_endocardium_local(shape: HeartShape, alpha: np.ndarray) -> np.ndarray:
    """Endocardium in LV-local (across, down-from-apex) cm for parameter angles ``alpha``.

    A blunted half ellipse (alpha = 0 at the apex, +-pi/2 at the annulus) narrowed near the
    base, which gives the bullet shape of the LV in A4C.
    """
    half_width = np.where(alpha < 0, shape.septal_half_width, shape.lateral_half_width)
    taper = 1.0 - shape.basal_taper * (np.abs(alpha) / (np.pi / 2)) ** 6
    # |sin|^0.8 instead of sin: a blunter apex than an ellipse, as real LVs have.
    across = half_width * np.sign(alpha) * np.abs(np.sin(alpha)) ** 0.8 * taper
    down = shape.lv_length * (1.0 - np.cos(alpha))
    return np.stack([across, down], axis=1)


def _to_global(shape: HeartShape, local: np.ndarray) -> np.ndarray:
    down, lateral = _frame_vectors(shape.tilt)
    return np.asarray(shape.apex) + local[:, :1] * lateral + local[:, 1:] * down


def build_lv_wall(shape: HeartShape) -> LvWall:
    """The LV endocardium and epicardium, resampled so each side splits into three segments of
    equal endocardial arc length (the AHA basal/mid/apical thirds)."""
    sides = []
    for sign in (-1.0, 1.0):
        alpha = sign * np.linspace(np.pi / 2, 0.0, 600)  # base -> apex
        dense = _to_global(shape, _lv_endocardium_local(shape, alpha))
        sides.append(_resample_by_arc_length(dense, 3 * POINTS_PER_SEGMENT))
    septal_side, lateral_side = sides
    endo = np.concatenate([septal_side, lateral_side[::-1][1:]])
    n_side = 3 * POINTS_PER_SEGMENT
    septal = np.arange(len(endo)) < n_side
    down, _ = _frame_vectors(shape.tilt)
    height = ((endo - np.asarray(shape.apex)) @ down) / shape.lv_length
    height = np.clip(height, 0.0, 1.0)
    side_thickness = np.where(septal, shape.septal_thickness, shape.lateral_thickness)
    # Thickness falls from the side walls to the thin apical cap.
    thickness = shape.apical_thickness + (side_thickness - shape.apical_thickness) * np.sqrt(height)
    outward = _unit_normals(endo)
    epi = endo + thickness[:, None] * outward
    return LvWall(endo=endo, epi=epi, inward=-outward, height=height, septal=septal)


def segment_polygons(endo: np.ndarray, epi: np.ndarray) -> list[np.ndarray]:
    """The six wall-segment polygons (SEGMENT_NAMES order) of one frame's contours."""
    polygons = []
    for segment in range(_N_SEGMENTS):
        n = POINTS_PER_SEGMENT
        part = slice(segment * n, (segment + 1) * n + 1)
        polygons.append(np.concatenate([endo[part], epi[part][::-1]]))
    return polygons


def _cubic_bezier(
    p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, n: int
) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _superellipse_bowl(
    top_left: np.ndarray,
    top_right: np.ndarray,
    depth: float,
    down: np.ndarray,
    lateral: np.ndarray,
    n: int = 48,
) -> np.ndarray:
    """A chamber hanging below the chord ``top_left``-``top_right``: a boxy half superellipse
    (exponent 3), the D shape of the atria in A4C."""
    centre = (top_left + top_right) / 2
    half = np.linalg.norm(top_right - top_left) / 2
    beta = np.linspace(0.0, np.pi, n)
    exponent = 2.0 / 3.0
    across = half * np.sign(np.cos(beta)) * np.abs(np.cos(beta)) ** exponent
    below = depth * np.abs(np.sin(beta)) ** exponent
    return centre + across[:, None] * lateral + below[:, None] * down


def _rv(
    shape: HeartShape, lv: LvWall, down: np.ndarray, lateral: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """RV cavity, outline and free wall: the RV wraps the septum's right-ventricular face from
    the RV apex (lower than the LV apex) down to the tricuspid annulus."""
    septal_epi = lv.epi[lv.septal]  # base -> apex
    septal_height = lv.height[lv.septal]
    apex_index = int(np.argmin(np.abs(septal_height - (1.0 - shape.rv_apex_height))))
    base_height = 1.0 - shape.tricuspid_offset / shape.lv_length
    base_index = int(np.argmin(np.abs(septal_height - base_height)))
    rv_apex = septal_epi[apex_index]
    tricuspid_septal = septal_epi[base_index]
    tricuspid_lateral = tricuspid_septal - shape.rv_base_width * lateral + 0.3 * down
    span = float((tricuspid_lateral - rv_apex) @ down)
    free_wall = _cubic_bezier(
        rv_apex,
        rv_apex - 0.75 * shape.rv_base_width * lateral + 0.1 * span * down,
        tricuspid_lateral - 0.3 * shape.rv_base_width * lateral - 0.5 * span * down,
        tricuspid_lateral,
        40,
    )
    septal_face = septal_epi[base_index : apex_index + 1]  # tricuspid annulus -> RV apex
    cavity = np.concatenate([septal_face, free_wall[1:]])
    outward = -_unit_normals(free_wall)
    outer_wall = free_wall + shape.rv_wall_thickness * outward
    outline = np.concatenate([septal_face, outer_wall[1:], [tricuspid_septal]])
    annulus = np.stack([tricuspid_septal, tricuspid_lateral])
    return cavity, outline, free_wall, annulus


def _papillary(shape: HeartShape, lv: LvWall) -> np.ndarray:
    """A papillary muscle: a small ellipse on the lateral wall at mid-cavity (not LV wall in
    the HMC-QU sense, so never part of the mask)."""
    index = int(np.argmin(np.abs(lv.height - 0.55) + 10 * lv.septal))
    centre = lv.endo[index] + lv.inward[index] * 0.45 * shape.papillary_size
    along = np.array([lv.inward[index][1], -lv.inward[index][0]])
    angle = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)[:, None]
    return (
        centre
        + 0.9 * shape.papillary_size * np.cos(angle) * along
        + (0.4 * shape.papillary_size * np.sin(angle) * lv.inward[index])
    )


def build_heart(shape: HeartShape) -> Heart:
    """Build every contour of the A4C view from a :class:`HeartShape`."""
    down, lateral = _frame_vectors(shape.tilt)
    lv = build_lv_wall(shape)
    mitral = np.stack([lv.endo[0], lv.endo[-1]])
    lv_cavity = lv.endo
    lv_outline = np.concatenate([lv.epi, [lv.endo[-1], lv.endo[0]]])
    rv_cavity, rv_outline, rv_free_wall, tricuspid = _rv(shape, lv, down, lateral)
    la_left = mitral[0] + 0.1 * lateral
    la_right = mitral[1] + shape.la_overhang * lateral
    la_cavity = _superellipse_bowl(la_left, la_right, shape.la_depth, down, lateral)
    ra_right = la_left - shape.interatrial_gap * lateral
    ra_left = tricuspid[1] - 0.2 * lateral
    ra_top_shift = float((tricuspid[1] - ra_right) @ down) * down
    ra_cavity = _superellipse_bowl(ra_left, ra_right + ra_top_shift, shape.ra_depth, down, lateral)
    return Heart(
        shape=shape,
        lv=lv,
        lv_cavity=lv_cavity,
        lv_outline=lv_outline,
        rv_cavity=rv_cavity,
        rv_outline=rv_outline,
        rv_free_wall=rv_free_wall,
        la_cavity=la_cavity,
        ra_cavity=ra_cavity,
        mitral_annulus=mitral,
        tricuspid_annulus=tricuspid,
        papillary=_papillary(shape, lv),
        axis_down=down,
        axis_lateral=lateral,
    )
