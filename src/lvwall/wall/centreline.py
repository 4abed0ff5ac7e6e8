"""The wall's centreline: from one basal end (mitral annulus) round the apex to the other.

Why a minimal path and not a skeleton: thinning a noisy predicted mask leaves spurs and
loops round every small hole, and pruning them needs heuristics. Instead the centreline is
the cheapest path through the wall's pixel graph between the two basal ends, where a step
costs more the closer it runs to the wall's border (cost 1 / distance-to-border, as in
minimal-path centreline extraction for tubular structures: Deschamps & Cohen, Medical Image
Analysis 5(4), 2001). The path therefore follows the middle of the band, ignores spurs and
holes, and always yields one simple curve from base to base. The basal ends are found at
the two ends of the band's geodesic diameter (a double sweep of Dijkstra's algorithm); the
smoothed path is then prolonged along its end directions to the basal end faces, so that it
spans the whole wall. The apex is the point of the centreline farthest from the mitral
annulus midpoint, the end of the LV long axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from lvwall.data import MODEL_SIZE
from lvwall.wall.errors import RegionalError

#: Which side of the image the septum is on. In the standard A4C orientation (apex at the
#: top) the septum is on the image left.
SEPTAL_SIDES: tuple[str, ...] = ("left", "right")

#: A wall needs at least this fraction of the image's pixels.
MIN_WALL_FRACTION = 0.002
#: A hole in the wall larger than this fraction of the image is the LV cavity, enclosed.
MAX_HOLE_FRACTION = 0.005
#: A band is at least this many times longer than it is thick (a disc is about 1.3).
MIN_LENGTH_TO_WIDTH = 4.0
#: Centreline points within this fraction of the longest apex distance count as apex.
APEX_TOLERANCE = 0.02
#: How many path pixels back from an end give the direction in which the end is prolonged.
_END_DIRECTION_POINTS = 4
#: Each side (basal end to apex) holds at least this fraction of the centreline.
MIN_SIDE_FRACTION = 0.15
#: Closing radii (pixels at 224) tried in turn until the wall is one piece. The apex lies in
#: the cluttered near field and often drops out at end-diastole, where the wall is thinnest:
#: a segmenter then leaves septum and lateral wall apart by up to about twelve pixels.
BRIDGE_RADII: tuple[int, ...] = (2, 3, 4, 5, 6, 7)
#: The wall is one piece once no other piece is this large beside the largest (islands are
#: much smaller; a septum cut from its lateral wall is about as large).
MAX_SECOND_PIECE_SHARE = 0.25


@dataclass(frozen=True)
class Centreline:
    """The wall's centreline, evenly spaced by arc length.

    ``points`` is (N, 2) float as (row, col), starting at the septal basal end and ending at
    the lateral basal end; ``points[apex_index]`` is the apex, the centreline point farthest
    from the mitral annulus midpoint (the end of the LV long axis).
    """

    points: np.ndarray
    apex_index: int

    @property
    def length(self) -> float:
        return _polyline_length(self.points)

    @property
    def annulus_midpoint(self) -> np.ndarray:
        """Midpoint of the two basal ends: the mitral annulus centre."""
        return (self.points[0] + self.points[-1]) / 2.0

    @property
    def long_axis_length(self) -> float:
        """Distance from the mitral annulus midpoint to the apex, in pixels."""
        return float(np.linalg.norm(self.points[self.apex_index] - self.annulus_midpoint))

    @property
    def side_fractions(self) -> np.ndarray:
        """For each point, its position along its own side: 0 at the basal end, 1 at the apex.

        Septal points (index <= apex) count from the septal base, lateral points from the
        lateral base.
        """
        steps = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        arc = np.concatenate([[0.0], np.cumsum(steps)])
        apex_arc = arc[self.apex_index]
        septal = arc / apex_arc
        lateral = (arc[-1] - arc) / (arc[-1] - apex_arc)
        index = np.arange(len(self.points))
        return np.where(index <= self.apex_index, septal, lateral)


def _polyline_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def resample_by_arc_length(points: np.ndarray, n_points: int) -> np.ndarray:
    """Resample a polyline ``(M, 2)`` to ``n_points`` points evenly spaced by arc length."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise ValueError(f"need a polyline of shape (M>=2, 2), got {points.shape}")
    if n_points < 2:
        raise ValueError(f"n_points must be >= 2, got {n_points}")
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    targets = np.linspace(0.0, arc[-1], n_points)
    return np.stack([np.interp(targets, arc, points[:, k]) for k in range(2)], axis=1)


def scale_of(shape: tuple[int, ...]) -> float:
    """How much larger than the 224-pixel HMC-QU frames an image is."""
    return max(shape[-2:]) / MODEL_SIZE


def clean_wall_mask(mask: np.ndarray, source: str = "mask") -> np.ndarray:
    """The wall as one solid band: small gaps closed, islands dropped, small holes filled.

    Returns a bool (H, W) array. Raises :class:`RegionalError` when the mask is empty, too
    small, or a closed ring (the cavity enclosed, which an A4C wall open at the mitral valve
    never is).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"need one (H, W) mask, got shape {mask.shape}")
    wall = mask > 0
    if not wall.any():
        raise RegionalError(source, "the wall mask is empty")
    # Opening first removes hairlines and specks (thinner than a real wall, which is about
    # ten pixels thick at 224 px) that could bridge the mitral valve; closing then bridges
    # small gaps along the wall.
    scale = scale_of(wall.shape)
    opened = cv2.morphologyEx(wall.astype(np.uint8), cv2.MORPH_OPEN, _disc(round(scale)))
    if not opened.any():
        raise RegionalError(source, "the wall mask holds only specks and hairlines, no wall")
    components, sizes = _joined_pieces(opened, scale)
    largest = components == 1 + int(np.argmax(sizes))
    min_pixels = int(np.ceil(MIN_WALL_FRACTION * wall.size))
    if sizes.max() < min_pixels:
        raise RegionalError(
            source,
            f"the wall mask has only {int(sizes.max())} connected pixels, too few for an LV "
            f"wall (at least {min_pixels})",
        )
    filled = ndimage.binary_fill_holes(largest)
    holes, n_holes = ndimage.label(filled & ~largest)
    hole_sizes = np.bincount(holes.ravel(), minlength=n_holes + 1)[1:]
    if n_holes and hole_sizes.max() > MAX_HOLE_FRACTION * wall.size:
        raise RegionalError(
            source,
            "the wall mask is a closed ring round the cavity, but an A4C wall is open at the "
            "mitral valve",
        )
    return filled


def _joined_pieces(opened: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Close ``opened`` with the smallest of :data:`BRIDGE_RADII` that leaves the wall in one
    piece (the smallest radius where none does); return the labelled pieces and their sizes.

    The smallest radius that joins the pieces changes the wall least: closing only fills
    gaps and concavities narrower than the disc.
    """
    first_attempt = None
    for radius in BRIDGE_RADII:
        closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, _disc(round(radius * scale)))
        components, n_components = ndimage.label(closed, structure=np.ones((3, 3)))
        sizes = np.bincount(components.ravel(), minlength=n_components + 1)[1:]
        second = np.sort(sizes)[-2] if n_components > 1 else 0
        if second <= MAX_SECOND_PIECE_SHARE * sizes.max():
            return components, sizes
        if first_attempt is None:
            first_attempt = components, sizes
    return first_attempt


def main_wall_pixels(mask: np.ndarray, wall: np.ndarray) -> np.ndarray:
    """The mask's own pixels (bool (H, W)) that belong to the cleaned ``wall``.

    Islands and hairlines are dropped and nothing is added; the rim that opening shaved off
    the band is given back.
    """
    rim = cv2.dilate(wall.astype(np.uint8), _disc(round(scale_of(wall.shape)))).astype(bool)
    return rim & (np.asarray(mask) > 0)


def _disc(radius: int) -> np.ndarray:
    radius = max(1, radius)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def wall_centreline(
    wall: np.ndarray, septal_side: str = "left", n_points: int = 256, source: str = "mask"
) -> Centreline:
    """The centreline of a cleaned wall mask (see :func:`clean_wall_mask`).

    Raises :class:`RegionalError` when the mask is a blob rather than a band, or a band that
    does not turn round an apex.
    """
    if septal_side not in SEPTAL_SIDES:
        raise ValueError(f"septal_side must be one of {SEPTAL_SIDES}, got {septal_side!r}")
    if n_points < 8:
        raise ValueError(f"n_points must be >= 8, got {n_points}")
    wall = np.asarray(wall, dtype=bool)
    path = _minimal_path_between_ends(wall)
    sigma = 2.0 * scale_of(wall.shape)
    smooth = ndimage.gaussian_filter1d(path.astype(float), sigma, axis=0, mode="nearest")
    prolonged = _extend_to_border(smooth, wall)
    # Checked before resampling: in a blob both basal-end caps cover the same pixels, so the
    # two ends coincide and the path is a single point, which no polyline can be made of.
    length = _polyline_length(prolonged)
    mean_width = wall.sum() / max(length, 1.0)
    if length < MIN_LENGTH_TO_WIDTH * mean_width:
        raise RegionalError(
            source, "the wall mask is a compact blob, not a band round the LV cavity"
        )
    points = resample_by_arc_length(prolonged, n_points)
    apex = _apex_index(points)
    if min(apex, n_points - 1 - apex) < MIN_SIDE_FRACTION * (n_points - 1):
        raise RegionalError(
            source,
            "the wall mask does not curve round an apex, so it has no septal and lateral side",
        )
    first_side_is_left = points[: apex + 1, 1].mean() < points[apex:, 1].mean()
    if first_side_is_left != (septal_side == "left"):
        points, apex = points[::-1].copy(), n_points - 1 - apex
    return Centreline(points=points, apex_index=apex)


def _apex_index(points: np.ndarray) -> int:
    """The apex: the middle of the stretch of centreline farthest from the annulus midpoint.

    A blunt apex is nearly flat, so the single farthest point jitters with pixel noise; the
    middle of the run of points within ``APEX_TOLERANCE`` of the farthest distance does not.
    """
    annulus = (points[0] + points[-1]) / 2.0
    distance = np.linalg.norm(points - annulus, axis=1)
    farthest = int(np.argmax(distance))
    near_top = distance >= (1.0 - APEX_TOLERANCE) * distance[farthest]
    first = farthest
    while first > 0 and near_top[first - 1]:
        first -= 1
    last = farthest
    while last < len(points) - 1 and near_top[last + 1]:
        last += 1
    return (first + last) // 2


def _extend_to_border(path: np.ndarray, wall: np.ndarray) -> np.ndarray:
    """Prolong both ends of a path along their direction until they leave the wall.

    The minimal path starts inside the band's last stretch; prolonging it to the basal end
    faces gives the wall's full length, which the arc-length thirds and thicknesses need.
    """
    step = 0.5
    ends = []
    for ordered in (path[::-1], path):  # ends[0] prolongs path[0], ends[1] path[-1]
        tip = ordered[-1]
        behind = ordered[max(0, len(ordered) - 1 - _END_DIRECTION_POINTS)]
        direction = tip - behind
        norm = np.linalg.norm(direction)
        extension = []
        if norm > 0:
            direction = direction / norm
            point = tip + step * direction
            while _inside(wall, point):
                extension.append(point)
                point = point + step * direction
        ends.append(np.array(extension).reshape(-1, 2))
    return np.concatenate([ends[0][::-1], path, ends[1]])


def _inside(wall: np.ndarray, point: np.ndarray) -> bool:
    row, col = np.round(point).astype(int)
    return 0 <= row < wall.shape[0] and 0 <= col < wall.shape[1] and bool(wall[row, col])


def _minimal_path_between_ends(wall: np.ndarray) -> np.ndarray:
    """Pixels (M, 2) of the cheapest path between the two basal ends of the band.

    The ends of the geodesic diameter are corner pixels of the band's end faces; each basal
    end is instead the centroid of the band's last half-thickness of length (its "cap"), so
    that the centreline starts mid-band rather than in a corner.
    """
    depth = ndimage.distance_transform_edt(wall)
    pixels = np.argwhere(wall)
    source, target, step = _pixel_steps(wall)
    node_depth = depth[wall]
    shape = (len(pixels), len(pixels))
    length_graph = csr_matrix((step, (source, target)), shape=shape)
    # A step costs its length over the mean distance-to-border of its two pixels.
    step_cost = step * 2.0 / (node_depth[source] + node_depth[target])
    cost_graph = csr_matrix((step_cost, (source, target)), shape=shape)
    start = int(np.argmax(depth[wall]))
    first = int(np.argmax(dijkstra(length_graph, directed=False, indices=start)))
    from_first = dijkstra(length_graph, directed=False, indices=first)
    second = int(np.argmax(from_first))
    from_second = dijkstra(length_graph, directed=False, indices=second)
    cap_length = 2.0 * depth[wall].mean()
    ends = [
        _nearest_pixel(pixels, pixels[distances >= distances.max() - cap_length].mean(axis=0))
        for distances in (from_second, from_first)
    ]
    _, previous = dijkstra(cost_graph, directed=False, indices=ends[0], return_predecessors=True)
    node = ends[1]
    path = [node]
    while previous[node] >= 0:
        node = int(previous[node])
        path.append(node)
    return pixels[path]


def _nearest_pixel(pixels: np.ndarray, point: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(pixels - point, axis=1)))


def _pixel_steps(wall: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 8-connected steps between wall pixels: (source, target, length), nodes row-major."""
    padded = np.pad(wall, 1)
    index = np.full(padded.shape, -1, dtype=np.int64)
    index[padded] = np.arange(int(wall.sum()))
    rows, cols = np.nonzero(padded)
    sources, targets, lengths = [], [], []
    for d_row, d_col in ((0, 1), (1, -1), (1, 0), (1, 1)):
        neighbour = index[rows + d_row, cols + d_col]
        linked = neighbour >= 0
        sources.append(index[rows[linked], cols[linked]])
        targets.append(neighbour[linked])
        lengths.append(np.full(int(linked.sum()), np.hypot(d_row, d_col)))
    return np.concatenate(sources), np.concatenate(targets), np.concatenate(lengths)
