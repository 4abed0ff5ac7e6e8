"""The anatomical checks on wall masks: each synthetic mask fails exactly its own check."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lvwall.data.camus import WALL_LABEL
from lvwall.data.phantom import draw_params, simulate_recording
from lvwall.data.preprocess import resize
from lvwall.data.records import MODEL_SIZE
from lvwall.quality.checks import FLAGS, shape_checks
from lvwall.quality.wall_shape import cavity_mask, measure_wall

CENTRE = (112, 100)


def horseshoe(axes: tuple[int, int] = (45, 70), thickness: int = 9, legs: int = 60) -> np.ndarray:
    """An A4C-like wall at 224: an arc over the apex and two straight legs to the base."""
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    cv2.ellipse(mask, CENTRE, axes, 0, 180, 360, 1, thickness)
    for x in (CENTRE[0] - axes[0], CENTRE[0] + axes[0]):
        cv2.line(mask, (x, CENTRE[1]), (x, CENTRE[1] + legs), 1, thickness)
    return mask


def with_island() -> np.ndarray:
    mask = horseshoe()
    mask[195:215, 5:25] = 1
    return mask


def with_holes() -> np.ndarray:
    mask = horseshoe()
    for row, col in ((100, 67), (120, 67), (100, 157)):
        mask[row - 1 : row + 2, col - 1 : col + 2] = 0
    return mask


def ring() -> np.ndarray:
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    cv2.ellipse(mask, (112, 120), (45, 80), 0, 0, 360, 1, 9)
    return mask


def with_second_cavity() -> np.ndarray:
    """The wall also wraps round a chamber beside the LV."""
    mask = horseshoe()
    cv2.ellipse(mask, (CENTRE[0] + 70, 150), (25, 40), 0, 90, 270, 1, 9)
    return mask


def straight_band() -> np.ndarray:
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    cv2.line(mask, (40, 60), (190, 170), 1, 12)
    return mask


def speck() -> np.ndarray:
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    mask[100:110, 100:110] = 1
    return mask


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (horseshoe(), set()),
        (with_island(), {"fragmented"}),
        (with_holes(), {"holes"}),
        (ring(), {"not_open_at_base"}),
        (horseshoe(axes=(75, 45), legs=0), {"not_open_at_base"}),
        (with_second_cavity(), {"cavity"}),
        (straight_band(), {"not_open_at_base", "cavity"}),
        (horseshoe(axes=(70, 85), thickness=3, legs=80), {"too_thin"}),
        (horseshoe(axes=(55, 70), thickness=25), {"too_thick"}),
        (speck(), {"no_wall"}),
        (np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8), {"no_wall"}),
    ],
    ids=[
        "horseshoe",
        "island",
        "holes",
        "ring",
        "flat-arc",
        "second-cavity",
        "straight-band",
        "thin",
        "thick",
        "speck",
        "empty",
    ],
)
def test_each_synthetic_mask_fails_exactly_its_checks(mask: np.ndarray, expected: set) -> None:
    reasons = shape_checks(measure_wall(mask))
    assert set(reasons) == expected
    assert all(flag in FLAGS and reason for flag, reason in reasons.items())


@pytest.mark.parametrize(
    ("mask", "field", "low", "high"),
    [
        (horseshoe(thickness=9), "thickness_median", 8.0, 11.0),
        (horseshoe(thickness=25), "thickness_median", 18.0, 27.0),
        (with_island(), "outside_largest", 400 / (400 + horseshoe().sum()) - 0.01, 0.2),
        (ring(), "n_openings", 0, 0),
        (horseshoe(), "n_openings", 1, 1),
    ],
)
def test_measurements_match_the_drawn_shapes(
    mask: np.ndarray, field: str, low: float, high: float
) -> None:
    assert low <= getattr(measure_wall(mask), field) <= high


@pytest.mark.parametrize("mask", [horseshoe(), ring(), with_island(), with_second_cavity()])
def test_the_cavity_map_is_the_cavity_measure_wall_measures(mask: np.ndarray) -> None:
    """Its size over the largest piece's is ``cavity_ratio``; it lies off the wall, inside it
    (below the wall's apex row and between its sides)."""
    cavity = cavity_mask(mask)
    shape = measure_wall(mask)
    n_piece = (1.0 - shape.outside_largest) * np.count_nonzero(mask)
    assert cavity.sum() / n_piece == pytest.approx(shape.cavity_ratio)
    assert not (cavity & (mask > 0)).any()
    rows, cols = np.nonzero(cavity)
    assert CENTRE[0] - 45 < cols.mean() < CENTRE[0] + 45 and rows.min() > 20


def filled_square() -> np.ndarray:
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    mask[60:140, 70:150] = 1
    return mask


@pytest.mark.parametrize("mask", [np.zeros((16, 16), np.uint8), filled_square()])
def test_no_cavity_gives_an_empty_map(mask: np.ndarray) -> None:
    assert not cavity_mask(mask).any()


def test_an_empty_mask_is_not_measured() -> None:
    shape = measure_wall(np.zeros((8, 8), np.uint8))
    assert not shape.measured and shape.wall_fraction == 0.0


@pytest.mark.parametrize("shape", [(4,), (2, 3, 3), (0, 5)])
def test_measure_wall_rejects_non_masks(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="mask"):
        measure_wall(np.zeros(shape, np.uint8))


def test_the_checks_never_fail_on_odd_masks() -> None:
    """Random blobs, a full frame and lines along the border: measured, checked, no error."""
    rng = np.random.default_rng(0)
    masks = [np.ones((MODEL_SIZE, MODEL_SIZE), np.uint8), np.eye(MODEL_SIZE, dtype=np.uint8)]
    masks += [(rng.random((MODEL_SIZE, MODEL_SIZE)) < p).astype(np.uint8) for p in (0.01, 0.5)]
    border = np.zeros((MODEL_SIZE, MODEL_SIZE), np.uint8)
    border[0], border[:, -1] = 1, 1
    masks.append(border)
    for mask in masks:
        reasons = shape_checks(measure_wall(mask))
        assert set(reasons) <= set(FLAGS)


def test_phantom_ground_truth_walls_pass_every_check() -> None:
    params = draw_params(11, width=212, height=141, n_frames=12, cycle_frames=8, first_ed_frame=2)
    recording = simulate_recording(11, params=params)
    for mask in recording.masks[::3]:
        assert shape_checks(measure_wall(mask)) == {}


def test_camus_ground_truth_walls_pass_every_check(camus_dev_dir) -> None:
    for path in sorted((camus_dev_dir / "masks").glob("*.png"))[:12]:
        labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        wall = resize((labels == WALL_LABEL).astype(np.uint8), MODEL_SIZE, mask=True)
        assert shape_checks(measure_wall(wall)) == {}, path.name
