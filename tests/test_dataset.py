"""FrameDataset: items, shapes and dtypes, and augmentation reproducible across workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lvwall.data.augment import build_augment
from lvwall.data.dataset import FrameDataset, check_auxiliary, select_recordings
from lvwall.data.records import STRUCTURE_LABELS, LabelledRecording


def _recording(name: str, frames: int, size: int = 16, seed: int = 0) -> LabelledRecording:
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 1.0, (frames, size, size)).astype(np.float32)
    return LabelledRecording(name, name[:4], images, (images > 0.7).astype(np.uint8))


RECORDINGS = [_recording("AAAA_1", 3, seed=1), _recording("BBBB_1", 2, seed=2)]


@pytest.mark.parametrize(
    ("index", "recording", "frame"),
    [(0, "AAAA_1", 0), (2, "AAAA_1", 2), (3, "BBBB_1", 0), (4, "BBBB_1", 1), (-1, "BBBB_1", 1)],
)
def test_items_without_augmentation_are_the_frames(index: int, recording: str, frame: int) -> None:
    dataset = FrameDataset(RECORDINGS)
    item = dataset[index]
    source = next(r for r in RECORDINGS if r.name == recording)

    assert len(dataset) == 5
    assert (item["recording"], item["frame"]) == (recording, frame)
    assert item["image"].shape == item["mask"].shape == (1, 16, 16)
    assert item["image"].dtype == item["mask"].dtype == torch.float32
    np.testing.assert_array_equal(item["image"][0].numpy(), source.frames[frame])
    np.testing.assert_array_equal(item["mask"][0].numpy(), source.masks[frame])


def test_items_do_not_share_memory_with_recordings() -> None:
    dataset = FrameDataset(RECORDINGS)
    dataset[0]["image"].fill_(2.0)
    assert RECORDINGS[0].frames[0].max() <= 1.0


@pytest.mark.parametrize("index", [5, -6])
def test_index_outside_raises(index: int) -> None:
    with pytest.raises(IndexError):
        FrameDataset(RECORDINGS)[index]


@pytest.mark.parametrize(("name", "seed"), [("echo", 0), ("strong", 3)])
def test_augmented_items_reproducible_by_seed_and_fetch(name: str, seed: int) -> None:
    first, second = (FrameDataset(RECORDINGS, build_augment(name), seed) for _ in range(2))
    for _epoch in range(2):
        for index in range(len(first)):
            one, other = first[index], second[index]
            torch.testing.assert_close(one["image"], other["image"])
            torch.testing.assert_close(one["mask"], other["mask"])
    assert [first.fetches(index) for index in range(len(first))] == [2] * len(first)
    assert set(np.unique(first[0]["mask"].numpy())) <= {0.0, 1.0}


@pytest.mark.parametrize("index", [0, 3])
def test_item_uses_the_generator_of_its_fetch(index: int) -> None:
    augment = build_augment("echo")
    dataset = FrameDataset(RECORDINGS, augment, seed=2)
    recording_index, frame = dataset.frame_ids[index]
    source = RECORDINGS[recording_index]
    for fetch in range(3):
        image, mask = augment(source.frames[frame], source.masks[frame], dataset.rng(index, fetch))
        item = dataset[index]
        np.testing.assert_array_equal(item["image"][0].numpy(), image)
        np.testing.assert_array_equal(item["mask"][0].numpy(), mask)


@pytest.mark.parametrize(("seed", "fetch"), [(1, 0), (0, 1)])
def test_other_seed_or_fetch_draws_other_augmentations(seed: int, fetch: int) -> None:
    baseline = FrameDataset(RECORDINGS, build_augment("echo"), seed=0)
    other = FrameDataset(RECORDINGS, build_augment("echo"), seed=seed)
    for _ in range(fetch):
        other[0]
    assert not torch.equal(baseline[0]["image"], other[0]["image"])


def _epoch_items(loader: DataLoader) -> dict[tuple[str, int], torch.Tensor]:
    return {
        (name, int(frame)): image
        for batch in loader
        for name, frame, image in zip(
            batch["recording"], batch["frame"], batch["image"], strict=True
        )
    }


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_epochs_match_fetch_generators_for_any_worker_count(workers: int) -> None:
    dataset = FrameDataset(RECORDINGS, build_augment("echo"), seed=5)
    reference = FrameDataset(RECORDINGS, build_augment("echo"), seed=5)
    loader = DataLoader(
        dataset,
        batch_size=2,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    epochs = [_epoch_items(loader) for _ in range(2)]
    # Fetches in workers count in the main process too: the counts are in shared memory.
    assert [dataset.fetches(index) for index in range(len(dataset))] == [2] * len(dataset)

    for epoch in epochs:
        items = [reference[index] for index in range(len(reference))]
        expected = {(item["recording"], item["frame"]): item["image"] for item in items}
        assert epoch.keys() == expected.keys()
        for key, image in epoch.items():
            torch.testing.assert_close(image, expected[key])
    assert not torch.equal(epochs[0][("AAAA_1", 0)], epochs[1][("AAAA_1", 0)])


def test_negative_seed_raises() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        FrameDataset(RECORDINGS, seed=-1)


@pytest.mark.parametrize(
    ("indices", "names"),
    [([1], ["BBBB_1"]), (np.array([1, 0]), ["BBBB_1", "AAAA_1"]), ([], [])],
)
def test_select_recordings(indices, names: list[str]) -> None:
    assert [r.name for r in select_recordings(RECORDINGS, indices)] == names


def test_select_recordings_outside_raises() -> None:
    with pytest.raises(ValueError, match=r"indices \[2\] lie outside 0..1"):
        select_recordings(RECORDINGS, [0, 2])


# ---------------------------------------------------------------------------------------------
# Structures learned beside the wall


def _with_structures(recording: LabelledRecording, seed: int) -> LabelledRecording:
    """The recording with a label map whose wall is its mask and whose other pixels are
    cavity, atrium or background at random."""
    rng = np.random.default_rng(seed)
    others = rng.choice(
        [0, STRUCTURE_LABELS["cavity"], STRUCTURE_LABELS["atrium"]], recording.masks.shape
    )
    structures = np.where(recording.masks == 1, STRUCTURE_LABELS["wall"], others).astype(np.uint8)
    return LabelledRecording(
        recording.name, recording.patient, recording.frames, recording.masks, structures=structures
    )


LABELLED = [_with_structures(recording, seed) for seed, recording in enumerate(RECORDINGS)]


@pytest.mark.parametrize("auxiliary", [("cavity", "atrium"), ("atrium",), ("cavity",)])
def test_auxiliary_items_hold_one_mask_per_structure(auxiliary: tuple[str, ...]) -> None:
    dataset = FrameDataset(LABELLED, auxiliary=auxiliary)
    for index, (recording, frame) in enumerate(dataset.frame_ids):
        item, labels = dataset[index], LABELLED[recording].structures[frame]
        assert item["auxiliary"].shape == (len(auxiliary), 16, 16)
        np.testing.assert_array_equal(item["mask"][0].numpy(), LABELLED[recording].masks[frame])
        for channel, name in enumerate(auxiliary):
            expected = labels == STRUCTURE_LABELS[name]
            np.testing.assert_array_equal(item["auxiliary"][channel].numpy(), expected)


@pytest.mark.parametrize("name", ["echo", "strong"])
def test_augmented_label_maps_keep_the_wall_of_the_augmented_mask(name: str) -> None:
    """The label map is warped in place of the mask with the same draws, so the wall of an
    augmented item is the augmented wall mask, and the structures stay disjoint."""
    plain = FrameDataset(LABELLED, build_augment(name), seed=5)
    structured = FrameDataset(LABELLED, build_augment(name), seed=5, auxiliary=["cavity", "atrium"])
    for index in range(len(plain)):
        one, other = plain[index], structured[index]
        torch.testing.assert_close(one["image"], other["image"])
        torch.testing.assert_close(one["mask"], other["mask"])
        stacked = torch.cat([other["mask"], other["auxiliary"]])
        assert stacked.sum(0).max() <= 1


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ((), ()),
        (["cavity", "atrium"], ("cavity", "atrium")),
        ("atrium, cavity", ("atrium", "cavity")),
        ("", ()),
    ],
)
def test_check_auxiliary_accepts(names, expected: tuple[str, ...]) -> None:
    assert check_auxiliary(names) == expected


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["wall"], "must be among"),
        (["ventricle"], "must be among"),
        (["cavity", "cavity"], "repeat"),
    ],
)
def test_check_auxiliary_refuses(names: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_auxiliary(names)


def test_auxiliary_structures_need_label_maps() -> None:
    with pytest.raises(ValueError, match="AAAA_1 has no label map"):
        FrameDataset(RECORDINGS, auxiliary=["cavity"])


def test_label_map_of_another_shape_is_refused() -> None:
    recording = RECORDINGS[0]
    with pytest.raises(ValueError, match="structures"):
        LabelledRecording(
            "x", "x", recording.frames, recording.masks, structures=recording.masks[:1]
        )
