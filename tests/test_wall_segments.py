"""The six-segment split: arc-length thirds per side, septal side, both views, robustness, Dice."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial import cKDTree
from sklearn.metrics import f1_score

from lvwall.data.records import SEGMENT_NAMES, segment_names
from lvwall.regional.schematic import draw_wall, horseshoe
from lvwall.wall.errors import RegionalError
from lvwall.wall.segments import (
    centreline_segments,
    label_maps,
    segment_dice,
    split_predicted_sequence,
    split_sequence,
    split_wall,
)

SEPTAL_LABELS = (1, 2, 3)  # SEG3, SEG9, SEG14 from the septal base to the apex
LATERAL_LABELS = (6, 5, 4)  # SEG6, SEG12, SEG16 from the lateral base to the apex


def _point_at(truth, side: str, fraction: float) -> tuple[int, int]:
    """The pixel on the true centreline ``fraction`` of the way from a side's base to apex."""
    apex = truth.apex_index
    last = len(truth.points) - 1
    index = fraction * apex if side == "septal" else last - fraction * (last - apex)
    row, col = np.round(truth.points[round(index)]).astype(int)
    return row, col


@pytest.mark.parametrize(
    "geometry",
    [
        pytest.param({}, id="symmetric"),
        pytest.param({"left_leg": 70.0, "right_leg": 110.0}, id="short-septum"),
        pytest.param({"radius": 24.0, "left_leg": 90.0, "right_leg": 60.0}, id="short-lateral"),
    ],
)
@pytest.mark.parametrize(
    ("side", "fraction", "third"),
    [
        ("septal", 0.10, 0),
        ("septal", 0.29, 0),
        ("septal", 0.38, 1),
        ("septal", 0.62, 1),
        ("septal", 0.71, 2),
        ("septal", 0.95, 2),
        ("lateral", 0.10, 0),
        ("lateral", 0.29, 0),
        ("lateral", 0.38, 1),
        ("lateral", 0.62, 1),
        ("lateral", 0.71, 2),
        ("lateral", 0.95, 2),
    ],
)
def test_each_side_splits_into_arc_length_thirds(
    geometry: dict, side: str, fraction: float, third: int
) -> None:
    truth = horseshoe(**geometry)
    split = split_wall(draw_wall(truth.points, 5.0))
    expected = (SEPTAL_LABELS if side == "septal" else LATERAL_LABELS)[third]
    assert split.labels[_point_at(truth, side, fraction)] == expected


@pytest.mark.parametrize(
    ("side", "fraction", "label", "name"),
    [
        ("left", 0.10, 1, "SEG4"),  # basal inferior, at the image-left base
        ("left", 0.50, 2, "SEG10"),  # mid inferior
        ("left", 0.90, 3, "SEG15"),  # apical inferior
        ("right", 0.90, 4, "SEG13"),  # apical anterior
        ("right", 0.50, 5, "SEG7"),  # mid anterior
        ("right", 0.10, 6, "SEG1"),  # basal anterior, at the image-right base
    ],
)
def test_an_a2c_wall_is_labelled_from_the_inferior_base_to_the_anterior_base(
    side: str, fraction: float, label: int, name: str
) -> None:
    """Labels are positional: the split of an A2C wall (inferior wall on the image left, as
    displayed) gives label k to the k-th A2C segment of the AHA model."""
    truth = horseshoe(left_leg=90.0, right_leg=80.0)
    split = split_wall(draw_wall(truth.points, 5.0), septal_side="left")
    point = _point_at(truth, "septal" if side == "left" else "lateral", fraction)
    assert split.labels[point] == label
    assert segment_names("A2C")[label - 1] == name


@pytest.mark.parametrize(("left_leg", "right_leg"), [(100.0, 100.0), (70.0, 110.0), (110.0, 60.0)])
def test_segments_share_each_side_equally(left_leg: float, right_leg: float) -> None:
    split = split_wall(draw_wall(horseshoe(left_leg=left_leg, right_leg=right_leg).points, 5.0))
    counts = np.bincount(split.point_labels, minlength=7)[1:]
    apex = split.centreline.apex_index
    septal_points, lateral_points = apex + 1, len(split.point_labels) - apex - 1
    assert np.allclose(counts[:3] / septal_points, 1 / 3, atol=0.02)
    assert np.allclose(counts[3:] / lateral_points, 1 / 3, atol=0.02)
    true_septal_share = (left_leg + 16 * np.pi) / (left_leg + right_leg + 32 * np.pi)
    assert septal_points / len(split.point_labels) == pytest.approx(true_septal_share, abs=0.03)


def test_labels_match_the_known_segments_of_a_drawn_wall() -> None:
    truth = horseshoe(left_leg=80.0, right_leg=105.0)
    mask = draw_wall(truth.points, 5.0)
    wall = np.argwhere(mask > 0)
    _, nearest = cKDTree(truth.points).query(wall)
    expected = np.zeros_like(mask)
    expected[tuple(wall.T)] = centreline_segments(truth)[nearest]
    dice = segment_dice(split_wall(mask).labels, expected)
    assert np.all(dice > 0.93), dice


def test_swapping_the_septal_side_mirrors_the_labels() -> None:
    mask = draw_wall(horseshoe(left_leg=80.0, right_leg=105.0).points, 5.0)
    left = split_wall(mask, septal_side="left").labels
    right = split_wall(np.fliplr(mask).copy(), septal_side="right").labels
    mirrored = np.fliplr(right)
    agree = (left == mirrored)[mask > 0].mean()
    assert agree > 0.98  # ties in the pixel graph break differently when mirrored
    # And "right" on the unflipped mask puts SEG3 (1) on the image right.
    swapped = split_wall(mask, septal_side="right").labels
    assert np.argwhere(swapped == 1)[:, 1].mean() > np.argwhere(swapped == 6)[:, 1].mean()


def test_a_mask_with_gaps_and_islands_still_splits() -> None:
    clean = draw_wall(horseshoe().points, 5.0)
    noisy = clean.copy()
    noisy[110:112, :100] = 0  # a gap across the septum
    noisy[150:200, 143:145] = 0  # a slit along the lateral wall
    noisy[200:204, 30:34] = 1  # islands
    noisy[10:13, 200:203] = 1
    split = split_wall(noisy)
    assert not split.labels[200:204, 30:34].any()
    both = (noisy > 0) & (clean > 0)
    agree = (split.labels == split_wall(clean).labels)[both].mean()
    assert agree > 0.98


def test_a_sequence_stacks_its_label_maps_and_names_a_bad_frame() -> None:
    mask = draw_wall(horseshoe().points, 5.0)
    masks = np.stack([mask, mask])
    labels = label_maps(split_sequence(masks))
    assert labels.shape == masks.shape and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(len(SEGMENT_NAMES) + 1))
    masks[1] = 0
    with pytest.raises(RegionalError, match=r"clip\.npz, frame 2: the wall mask is empty"):
        split_sequence(masks, source="clip.npz")


@pytest.mark.parametrize(
    ("broken", "held", "error"),
    [
        ((), [], None),
        ((2,), [2], None),
        ((1, 3), [1, 3], None),
        ((0,), None, r"frame 1: the wall mask is empty"),
        ((1, 2, 3), None, r"frame 2: the wall mask is empty"),
    ],
)
def test_predicted_sequence_holds_frames_that_do_not_split(
    broken: tuple[int, ...], held: list[int] | None, error: str | None
) -> None:
    good = draw_wall(horseshoe().points, 5.0)
    masks = np.stack([good] * 5)
    masks[list(broken)] = 0
    if error is not None:
        with pytest.raises(RegionalError, match=error):
            split_predicted_sequence(masks)
        return
    splits, held_frames = split_predicted_sequence(masks)
    assert held_frames == held
    assert len(splits) == len(masks)
    for index in held:
        assert splits[index] is splits[index - 1]


@pytest.mark.parametrize(
    ("excluded", "broken", "held", "holds"),
    [
        ((2,), (), [2], {2: 1}),
        ((0,), (), [0], {0: 1}),  # a flagged reference takes the first good split
        ((0,), (3,), [0, 3], {0: 1, 3: 2}),
        ((1, 2), (3,), None, None),  # 3 of 5 frames held: too many
    ],
)
def test_excluded_frames_add_no_split_of_their_own(
    excluded: tuple[int, ...],
    broken: tuple[int, ...],
    held: list[int] | None,
    holds: dict[int, int] | None,
) -> None:
    """Frames quality control flagged are held like frames that do not split."""
    good = draw_wall(horseshoe().points, 5.0)
    masks = np.stack([good] * 5)
    masks[list(broken)] = 0
    if held is None:
        with pytest.raises(RegionalError, match="too many for regional motion|wall mask is empty"):
            split_predicted_sequence(masks, excluded=excluded)
        return
    splits, held_frames = split_predicted_sequence(masks, excluded=excluded)
    assert held_frames == held
    for index, source in (holds or {}).items():
        assert splits[index] is splits[source]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_segment_dice_matches_the_f1_score_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    predicted = rng.integers(0, 7, size=(3, 20, 20))
    truth = np.where(rng.random((3, 20, 20)) < 0.7, predicted, rng.integers(0, 7, (3, 20, 20)))
    dice = segment_dice(predicted, truth)
    for k in range(1, 7):
        assert dice[k - 1] == pytest.approx(f1_score(truth.ravel() == k, predicted.ravel() == k))


def test_segment_dice_is_nan_for_a_segment_absent_from_both() -> None:
    labels = np.array([[1, 2], [0, 0]])
    dice = segment_dice(labels, labels)
    assert np.allclose(dice[:2], 1.0)
    assert np.isnan(dice[2:]).all()
    with pytest.raises(ValueError, match="differ in shape"):
        segment_dice(labels, labels[:1])


def _frame_with(rows: slice, cols: slice, shape: tuple[int, int] = (224, 224)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[rows, cols] = 1
    return mask


def _disc_mask(radius: int, thickness: int) -> np.ndarray:
    mask = np.zeros((224, 224), np.uint8)
    cv2.circle(mask, (112, 112), radius, 1, thickness)
    return mask


@pytest.mark.parametrize(
    ("make_mask", "problem"),
    [
        pytest.param(lambda: np.ones((224, 224), np.uint8), "compact blob", id="full-frame"),
        pytest.param(
            lambda: 1 - _frame_with(slice(0, 1), slice(0, 1)), "compact blob", id="all-but-corner"
        ),
        pytest.param(lambda: np.ones((8, 8), np.uint8), "compact blob", id="tiny-full-frame"),
        pytest.param(lambda: np.ones((100, 300), np.uint8), "compact blob", id="full-wide-frame"),
        pytest.param(
            lambda: _frame_with(slice(0, 112), slice(None)), "compact blob", id="top-half"
        ),
        pytest.param(
            lambda: _frame_with(slice(60, 160), slice(60, 160)), "compact blob", id="square"
        ),
        pytest.param(lambda: _disc_mask(60, -1), "compact blob", id="disc"),
        pytest.param(lambda: _disc_mask(60, 10), "closed ring", id="ring"),
        pytest.param(
            lambda: _frame_with(slice(112, 113), slice(112, 113)),
            "only specks and hairlines",
            id="single-pixel",
        ),
        pytest.param(
            lambda: _frame_with(slice(100, 101), slice(None)),
            "only specks and hairlines",
            id="single-pixel-row",
        ),
        pytest.param(
            lambda: _frame_with(slice(None), slice(100, 101)),
            "only specks and hairlines",
            id="single-pixel-column",
        ),
        pytest.param(
            lambda: _frame_with(slice(100, 112), slice(None)),
            "does not curve round an apex",
            id="thick-row",
        ),
        pytest.param(
            lambda: _frame_with(slice(None, None, 2), slice(None, None, 2)),
            "only specks and hairlines",
            id="dot-grid",
        ),
    ],
)
def test_degenerate_masks_fail_with_one_regional_sentence(make_mask, problem: str) -> None:
    with pytest.raises(RegionalError) as info:
        split_wall(make_mask(), source="clip.npz, frame 4")
    message = str(info.value)
    assert message.startswith("clip.npz, frame 4: ")
    assert problem in message
    assert "\n" not in message
