"""Geometry of the heart in an apical four-chamber (A4C) or two-chamber (A2C) view, at
end-diastole.

All coordinates are in centimetres in the imaging plane, with the transducer (the apex of
the sector) at the origin, ``x`` to the image right and ``z`` the depth, downwards. The views
follow the standard convention (Lang et al., "Recommendations for Cardiac Chamber
Quantification by Echocardiography", JASE 28(1), 2015): LV apex at the top, atria below the
atrioventricular valves. In A4C the septum is the LV's image-left wall, with the RV and RA
left of it; in A2C, the plane turned some 60-90 degrees from A4C about the LV long axis
(biplane volumes take the two as orthogonal), the left wall is the inferior one and the right
wall the anterior one, and the plane misses the right heart, so only the LV and the left
atrium show.

The LV wall is the band between endocardium and epicardium from the left to the right
mitral annulus, open at the base, which is what the HMC-QU ground truth labels (Degerli et
al., IEEE Access 9:34442, 2021). Each side is split by endocardial arc length into basal, mid
and apical thirds: the six segments of the view in the AHA 17-segment model (Cerqueira et
al., Circulation 105(4):539, 2002), numbered in
:func:`lvwall.data.records.segment_names` order, the same positions in both views.

One module because it is one drawing: the shapes of both views share the sampling, the
polygons and the segment boundaries they are built from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lvwall.data.records import SEGMENT_NAMES, check_view

#: Contour points per wall segment (the polygon of a segment has this many + 1 per side).
POINTS_PER_SEGMENT = 12
_N_SEGMENTS = len(SEGMENT_NAMES)


@dataclass(frozen=True)
class RightHeartShape:
    """The dimensions of the right heart, which only the A4C plane cuts, in cm.

    The RV apex lies ``rv_apex_height`` of the LV length up from the base; the tricuspid
    annulus sits ``tricuspid_offset`` nearer the apex than the mitral one (the normal apical
    displacement of the septal tricuspid leaflet) and spans ``rv_base_width``. The RA hangs
    ``ra_depth`` below it, ``interatrial_gap`` from the left atrium.
    """

    rv_apex_height: float
    rv_base_width: float
    rv_wall_thickness: float
    tricuspid_offset: float
    ra_depth: float
    interatrial_gap: float
    tricuspid_leaflets: tuple[float, float]


@dataclass(frozen=True)
class HeartShape:
    """The dimensions of one heart in one view, in cm and radians (drawn by
    :func:`sample_heart_shape`).

    ``apex`` is the LV endocardial apex (x, z); ``tilt`` turns the long axis from the vertical
    (positive: base to the image right). The LV endocardium is a half ellipse of length
    ``lv_length`` (apex to mitral annulus) whose image-left and image-right halves (A4C:
    septal and lateral; A2C: inferior and anterior) have half-widths ``left_half_width`` and
    ``right_half_width``, narrowed towards the annulus by ``basal_taper``. ``right`` is the
    right heart, ``None`` in A2C, whose plane does not cut it.
    """

    apex: tuple[float, float]
    tilt: float
    lv_length: float
    left_half_width: float
    right_half_width: float
    basal_taper: float
    left_thickness: float
    right_thickness: float
    apical_thickness: float
    la_depth: float
    la_overhang: float
    atrial_wall_thickness: float
    mitral_leaflets: tuple[float, float]
    papillary_size: float
    right: RightHeartShape | None
    view: str


def sample_heart_shape(
    rng: np.random.Generator,
    *,
    view: str = "A4C",
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
    rotation_deg: float = 0.0,
) -> HeartShape:
    """Draw a plausible adult heart as ``view`` (any case) shows it; ``scale``, ``shift``
    (cm) and ``rotation_deg`` move it."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if check_view(view) == "A2C":
        return _sample_a2c(rng, scale, shift, rotation_deg)
    return _sample_a4c(rng, scale, shift, rotation_deg)


def _sample_a4c(
    rng: np.random.Generator, scale: float, shift: tuple[float, float], rotation_deg: float
) -> HeartShape:
    """An A4C heart. Ranges follow normal adult A4C dimensions (Lang et al., JASE 2015): LV
    length 7-9 cm, end-diastolic LV width 4-5 cm, wall thickness 0.6-1.1 cm, RV basal width
    2.5-4 cm. The LV sits right of the sector's centre line, the RV left of it.

    The draws keep the order they have always had (right-heart draws between the LV's and
    the atria's), so a seed gives the same A4C heart as before A2C existed.
    """
    u = rng.uniform
    half_width = 2.4 * scale * u(0.92, 1.08)
    apex = (0.25 + shift[0] + u(-0.3, 0.3), 3.1 + shift[1] + u(-0.3, 0.3))
    tilt = np.deg2rad(3.0 + rotation_deg + u(-3.0, 3.0))
    lv_length = 7.9 * scale * u(0.92, 1.08)
    left_half_width = half_width * u(0.85, 0.97)
    right_half_width = half_width * u(1.0, 1.12)
    basal_taper = u(0.15, 0.27)
    left_thickness = scale * u(0.9, 1.15)
    right_thickness = scale * u(0.8, 1.05)
    apical_thickness = scale * u(0.55, 0.75)
    rv_apex_height = u(0.64, 0.8)
    rv_base_width = scale * u(2.7, 3.6)
    rv_wall_thickness = scale * u(0.3, 0.45)
    tricuspid_offset = scale * u(0.4, 0.9)
    la_depth = scale * u(3.6, 4.8)
    la_overhang = scale * u(0.1, 0.7)
    ra_depth = scale * u(3.2, 4.4)
    interatrial_gap = scale * u(0.25, 0.4)
    atrial_wall_thickness = scale * u(0.2, 0.3)
    mitral_leaflets = (scale * u(1.9, 2.4), scale * u(1.2, 1.6))
    tricuspid_leaflets = (scale * u(1.3, 1.7), scale * u(1.6, 2.1))
    papillary_size = scale * u(0.0, 0.55)
    right = RightHeartShape(
        rv_apex_height=rv_apex_height,
        rv_base_width=rv_base_width,
        rv_wall_thickness=rv_wall_thickness,
        tricuspid_offset=tricuspid_offset,
        ra_depth=ra_depth,
        interatrial_gap=interatrial_gap,
        tricuspid_leaflets=tricuspid_leaflets,
    )
    return HeartShape(
        apex=apex,
        tilt=tilt,
        lv_length=lv_length,
        left_half_width=left_half_width,
        right_half_width=right_half_width,
        basal_taper=basal_taper,
        left_thickness=left_thickness,
        right_thickness=right_thickness,
        apical_thickness=apical_thickness,
        la_depth=la_depth,
        la_overhang=la_overhang,
        atrial_wall_thickness=atrial_wall_thickness,
        mitral_leaflets=mitral_leaflets,
        papillary_size=papillary_size,
        right=right,
        view="A4C",
    )


def _sample_a2c(
    rng: np.random.Generator, scale: float, shift: tuple[float, float], rotation_deg: float
) -> HeartShape:
    """An A2C heart: no right heart, and the LV centred on the sector with its long axis
    near the vertical, since nothing lies beside it.

    The length matches A4C's (7-9 cm): the biplane method of discs traces the same LV in both
    planes about one long axis (Lang et al., JASE 2015). The two walls are more alike than
    A4C's septum and lateral wall: the inferior and anterior widths and thicknesses overlap
    (normal wall 0.6-1.0 cm, Lang et al., JASE 2015), where A4C's septum is the thicker wall
    and its lateral half the wider. The mitral leaflets swap: the shorter posterior leaflet
    hinges on the image left (inferior), the anterior one on the right; the left atrium
    reaches further right, where its appendage lies.
    """
    u = rng.uniform
    half_width = 2.4 * scale * u(0.92, 1.08)
    return HeartShape(
        apex=(shift[0] + u(-0.3, 0.3), 3.1 + shift[1] + u(-0.3, 0.3)),
        tilt=np.deg2rad(rotation_deg + u(-3.0, 3.0)),
        lv_length=7.9 * scale * u(0.92, 1.08),
        left_half_width=half_width * u(0.9, 1.02),
        right_half_width=half_width * u(0.95, 1.08),
        basal_taper=u(0.12, 0.24),
        left_thickness=scale * u(0.8, 1.05),
        right_thickness=scale * u(0.75, 1.0),
        apical_thickness=scale * u(0.55, 0.75),
        la_depth=scale * u(3.6, 4.8),
        la_overhang=scale * u(0.4, 1.0),
        atrial_wall_thickness=scale * u(0.2, 0.3),
        mitral_leaflets=(scale * u(1.2, 1.6), scale * u(1.9, 2.4)),
        papillary_size=scale * u(0.0, 0.55),
        right=None,
        view="A2C",
    )


@dataclass(frozen=True)
class LvWall:
    """The LV wall contours at end-diastole, from the basal end on the image left over the
    apex to the basal end on the right (A4C: septal to lateral; A2C: inferior to anterior),
    ``POINTS_PER_SEGMENT`` points per segment (6 * n + 1 points).

    ``endo`` and ``epi`` are (P, 2) with ``epi[i]`` on the outward normal of ``endo[i]``;
    ``inward`` are unit normals into the cavity; ``height`` runs from 0 at the apex to 1 at
    the annulus; ``left`` flags the image-left half (A4C: septal; A2C: inferior).
    """

    endo: np.ndarray
    epi: np.ndarray
    inward: np.ndarray
    height: np.ndarray
    left: np.ndarray

    def segment_slice(self, segment: int) -> slice:
        """Contour indices of segment ``segment`` (0-based, in the view's
        :func:`~lvwall.data.records.segment_names` order), ends included."""
        if not 0 <= segment < _N_SEGMENTS:
            raise ValueError(f"segment must be in 0..{_N_SEGMENTS - 1}, got {segment}")
        n = POINTS_PER_SEGMENT
        return slice(segment * n, (segment + 1) * n + 1)


@dataclass(frozen=True)
class RightHeart:
    """The A4C's right-heart contours (cm): RV cavity, outline and free wall (RV apex to
    tricuspid annulus), RA cavity and the tricuspid annulus as (septal, lateral) hinges."""

    shape: RightHeartShape
    rv_cavity: np.ndarray
    rv_outline: np.ndarray
    rv_free_wall: np.ndarray
    ra_cavity: np.ndarray
    tricuspid_annulus: np.ndarray


@dataclass(frozen=True)
class Heart:
    """All end-diastolic contours of one apical view (cm), built by :func:`build_heart`.

    Closed outlines are (P, 2) polygons. ``mitral_annulus`` holds the (image-left,
    image-right) hinge points; ``axis_down`` is the unit LV long axis from apex to base and
    ``axis_right`` the unit vector across it towards the image-right wall (A4C: lateral;
    A2C: anterior). ``right`` is the right heart, ``None`` in A2C.
    """

    shape: HeartShape
    lv: LvWall
    lv_cavity: np.ndarray
    lv_outline: np.ndarray
    la_cavity: np.ndarray
    mitral_annulus: np.ndarray
    papillary: np.ndarray
    axis_down: np.ndarray
    axis_right: np.ndarray
    right: RightHeart | None

    @property
    def view(self) -> str:
        return self.shape.view

    def outlines(self) -> list[np.ndarray]:
        """The outer contour of every chamber in the view (LV, then RV, LA, RA as present)."""
        if self.right is None:
            return [self.lv_outline, self.la_cavity]
        return [self.lv_outline, self.right.rv_outline, self.la_cavity, self.right.ra_cavity]


def _frame_vectors(tilt: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors down the long axis (apex to base) and across it, towards the image right."""
    down = np.array([np.sin(tilt), np.cos(tilt)])
    across = np.array([np.cos(tilt), -np.sin(tilt)])
    return down, across


def _resample_by_arc_length(curve: np.ndarray, n: int) -> np.ndarray:
    """``n + 1`` points at equal arc-length steps along a dense polyline (ends kept)."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))])
    targets = np.linspace(0.0, arc[-1], n + 1)
    return np.stack([np.interp(targets, arc, curve[:, k]) for k in range(2)], axis=1)


def _unit_normals(curve: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline ordered left base -> apex -> right base, pointing left of
    the direction of travel, which is outwards (away from the cavity) for that order."""
    tangent = np.gradient(curve, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    # Travelling up the left wall, over the apex and down the right one in image coordinates
    # (z down), the cavity lies to the right of travel; (t_z, -t_x) points away from it.
    return np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)


def _lv_endocardium_local(shape: HeartShape, alpha: np.ndarray) -> np.ndarray:
    """Endocardium in LV-local (across, down-from-apex) cm for parameter angles ``alpha``.

    A blunted half ellipse (alpha = 0 at the apex, +-pi/2 at the annulus) narrowed near the
    base, which gives the bullet shape of the LV in apical views.
    """
    half_width = np.where(alpha < 0, shape.left_half_width, shape.right_half_width)
    taper = 1.0 - shape.basal_taper * (np.abs(alpha) / (np.pi / 2)) ** 6
    # |sin|^0.8 instead of sin: a blunter apex than an ellipse, as real LVs have.
    across = half_width * np.sign(alpha) * np.abs(np.sin(alpha)) ** 0.8 * taper
    down = shape.lv_length * (1.0 - np.cos(alpha))
    return np.stack([across, down], axis=1)


def _to_global(shape: HeartShape, local: np.ndarray) -> np.ndarray:
    down, across = _frame_vectors(shape.tilt)
    return np.asarray(shape.apex) + local[:, :1] * across + local[:, 1:] * down


def build_lv_wall(shape: HeartShape) -> LvWall:
    """The LV endocardium and epicardium, resampled so each side splits into three segments of
    equal endocardial arc length (the AHA basal/mid/apical thirds)."""
    sides = []
    for sign in (-1.0, 1.0):
        alpha = sign * np.linspace(np.pi / 2, 0.0, 600)  # base -> apex
        dense = _to_global(shape, _lv_endocardium_local(shape, alpha))
        sides.append(_resample_by_arc_length(dense, 3 * POINTS_PER_SEGMENT))
    left_side, right_side = sides
    endo = np.concatenate([left_side, right_side[::-1][1:]])
    n_side = 3 * POINTS_PER_SEGMENT
    left = np.arange(len(endo)) < n_side
    down, _ = _frame_vectors(shape.tilt)
    height = ((endo - np.asarray(shape.apex)) @ down) / shape.lv_length
    height = np.clip(height, 0.0, 1.0)
    side_thickness = np.where(left, shape.left_thickness, shape.right_thickness)
    # Thickness falls from the side walls to the thin apical cap.
    thickness = shape.apical_thickness + (side_thickness - shape.apical_thickness) * np.sqrt(height)
    outward = _unit_normals(endo)
    epi = endo + thickness[:, None] * outward
    return LvWall(endo=endo, epi=epi, inward=-outward, height=height, left=left)


def segment_polygons(endo: np.ndarray, epi: np.ndarray) -> list[np.ndarray]:
    """The six wall-segment polygons (label-map order) of one frame's contours."""
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
    across: np.ndarray,
    n: int = 48,
) -> np.ndarray:
    """A chamber hanging below the chord ``top_left``-``top_right``: a boxy half superellipse
    (exponent 3), the D shape of the atria in apical views."""
    centre = (top_left + top_right) / 2
    half = np.linalg.norm(top_right - top_left) / 2
    beta = np.linspace(0.0, np.pi, n)
    exponent = 2.0 / 3.0
    below = depth * np.abs(np.sin(beta)) ** exponent
    sideways = half * np.sign(np.cos(beta)) * np.abs(np.cos(beta)) ** exponent
    return centre + sideways[:, None] * across + below[:, None] * down


def _right_heart(
    shape: HeartShape,
    right: RightHeartShape,
    lv: LvWall,
    la_left: np.ndarray,
) -> RightHeart:
    """The A4C's right heart: the RV wraps the septum's right-ventricular face from the RV
    apex (lower than the LV apex) down to the tricuspid annulus; the RA hangs below that
    annulus, left of the left atrium (whose top left corner is ``la_left``)."""
    down, lateral = _frame_vectors(shape.tilt)
    septal_epi = lv.epi[lv.left]  # base -> apex
    septal_height = lv.height[lv.left]
    apex_index = int(np.argmin(np.abs(septal_height - (1.0 - right.rv_apex_height))))
    base_height = 1.0 - right.tricuspid_offset / shape.lv_length
    base_index = int(np.argmin(np.abs(septal_height - base_height)))
    rv_apex = septal_epi[apex_index]
    tricuspid_septal = septal_epi[base_index]
    tricuspid_lateral = tricuspid_septal - right.rv_base_width * lateral + 0.3 * down
    span = float((tricuspid_lateral - rv_apex) @ down)
    free_wall = _cubic_bezier(
        rv_apex,
        rv_apex - 0.75 * right.rv_base_width * lateral + 0.1 * span * down,
        tricuspid_lateral - 0.3 * right.rv_base_width * lateral - 0.5 * span * down,
        tricuspid_lateral,
        40,
    )
    septal_face = septal_epi[base_index : apex_index + 1]  # tricuspid annulus -> RV apex
    cavity = np.concatenate([septal_face, free_wall[1:]])
    outward = -_unit_normals(free_wall)
    outer_wall = free_wall + right.rv_wall_thickness * outward
    outline = np.concatenate([septal_face, outer_wall[1:], [tricuspid_septal]])
    ra_right = la_left - right.interatrial_gap * lateral
    ra_left = tricuspid_lateral - 0.2 * lateral
    ra_top_shift = float((tricuspid_lateral - ra_right) @ down) * down
    ra_cavity = _superellipse_bowl(ra_left, ra_right + ra_top_shift, right.ra_depth, down, lateral)
    return RightHeart(
        shape=right,
        rv_cavity=cavity,
        rv_outline=outline,
        rv_free_wall=free_wall,
        ra_cavity=ra_cavity,
        tricuspid_annulus=np.stack([tricuspid_septal, tricuspid_lateral]),
    )


def _papillary(shape: HeartShape, lv: LvWall) -> np.ndarray:
    """A papillary muscle: a small ellipse on the image-right wall at mid-cavity, where both
    views can cut the anterolateral muscle (not LV wall in the HMC-QU sense, so never part of
    the mask)."""
    index = int(np.argmin(np.abs(lv.height - 0.55) + 10 * lv.left))
    centre = lv.endo[index] + lv.inward[index] * 0.45 * shape.papillary_size
    along = np.array([lv.inward[index][1], -lv.inward[index][0]])
    angle = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)[:, None]
    return (
        centre
        + 0.9 * shape.papillary_size * np.cos(angle) * along
        + (0.4 * shape.papillary_size * np.sin(angle) * lv.inward[index])
    )


def build_heart(shape: HeartShape) -> Heart:
    """Build every contour of the view of a :class:`HeartShape`: LV, left atrium and mitral
    annulus always, the right heart where the shape has one (A4C)."""
    down, across = _frame_vectors(shape.tilt)
    lv = build_lv_wall(shape)
    mitral = np.stack([lv.endo[0], lv.endo[-1]])
    la_left = mitral[0] + 0.1 * across
    la_right = mitral[1] + shape.la_overhang * across
    la_cavity = _superellipse_bowl(la_left, la_right, shape.la_depth, down, across)
    return Heart(
        shape=shape,
        lv=lv,
        lv_cavity=lv.endo,
        lv_outline=np.concatenate([lv.epi, [lv.endo[-1], lv.endo[0]]]),
        la_cavity=la_cavity,
        mitral_annulus=mitral,
        papillary=_papillary(shape, lv),
        axis_down=down,
        axis_right=across,
        right=None if shape.right is None else _right_heart(shape, shape.right, lv, la_left),
    )
