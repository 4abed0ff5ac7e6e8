"""The CAMUS reader: the real PNG development set, fake original-layout files, bad inputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk  # noqa: N813

from lvwall.data import camus
from lvwall.data.preprocess import prepare_frame, resize
from lvwall.errors import DataError

# ---------------------------------------------------------------------------------------------
# The real development set (../shared/data/camus-a4c-dev)


def test_dev_set_loads_every_frame_with_manifest_wall_pixels(camus_dev_dir: Path) -> None:
    manifest = pd.read_csv(camus_dev_dir / "manifest.csv")
    recordings = camus.load_dataset(camus_dev_dir, size=512, progress=False)

    assert len(recordings) == manifest["patient"].nunique()
    assert sum(len(recording) for recording in recordings) == len(manifest)
    counted = {}
    for recording in recordings:
        assert recording.source == "camus"
        assert recording.frames.dtype == np.float32 and recording.masks.dtype == np.uint8
        assert set(np.unique(recording.masks)) <= {0, 1}
        assert recording.frames.min() >= 0.0 and recording.frames.max() <= 1.0
        for phase, frame in recording.meta["phase_frames"].items():
            counted[(recording.patient, phase)] = int(recording.masks[frame].sum())
    expected = {(row.patient, row.phase): row.wall_pixels for row in manifest.itertuples()}
    assert counted == expected


def test_dev_set_at_model_size_keeps_wall_area(camus_dev_dir: Path) -> None:
    manifest = pd.read_csv(camus_dev_dir / "manifest.csv")
    recordings = camus.load_dataset(camus_dev_dir, progress=False)
    first = recordings[0]
    row = manifest[(manifest.patient == first.patient) & (manifest.phase == "ED")].iloc[0]

    assert first.frames.shape[1:] == (224, 224)
    assert first.meta["original_size"] == (512, 512)
    scaled_area = row.wall_pixels * (224 / 512) ** 2
    assert first.masks[first.meta["phase_frames"]["ED"]].sum() == pytest.approx(
        scaled_area, rel=0.05
    )


def test_two_view_set_loads_both_views_of_every_patient(camus_2view_dir: Path) -> None:
    manifest = pd.read_csv(camus_2view_dir / "manifest.csv")
    recordings = camus.load_dataset(camus_2view_dir, progress=False)

    assert len(recordings) == 2 * manifest["patient"].nunique()
    assert {r.view for r in recordings} == {"A4C", "A2C"}
    counted = {}
    for recording in recordings:
        assert recording.name == f"{recording.patient}_{recording.meta['view']}"
        assert recording.view == camus.CAMUS_VIEWS[recording.meta["view"]]
        for phase, frame in recording.meta["phase_frames"].items():
            key = (recording.patient, recording.meta["view"], phase)
            counted[key] = int(recording.masks[frame].sum())
    expected = {(r.patient, r.view, r.phase): r.wall_pixels for r in manifest.itertuples()}
    assert counted == expected


# ---------------------------------------------------------------------------------------------
# Fakes of both layouts


def _labels(height: int, width: int, offset: int) -> np.ndarray:
    """A CAMUS-style label map with all four labels, its wall shifted by ``offset``."""
    labels = np.zeros((height, width), np.uint8)
    labels[4:-4, 4:-4] = 1
    labels[4 + offset : 10 + offset, 3:-3] = 2
    labels[-6:-2, 6:-6] = 3
    return labels


def _image(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)


def _write_itk(path: Path, array: np.ndarray, spacing: tuple[float, ...]) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))


def _write_original(root: Path, suffix: str, patients: int = 2) -> dict[str, np.ndarray]:
    """patientNNNN folders with ED/ES stills and a 5-frame half sequence; returns the arrays."""
    height, width = 24, 32
    arrays = {}
    for number in range(1, patients + 1):
        folder = root / f"patient{number:04d}"
        folder.mkdir(parents=True)
        stem = f"{folder.name}_4CH"
        for seed, phase in enumerate(("ED", "ES")):
            image, labels = _image(height, width, seed + number), _labels(height, width, seed)
            _write_itk(folder / f"{stem}_{phase}{suffix}", image, (0.2, 0.3))
            _write_itk(folder / f"{stem}_{phase}_gt{suffix}", labels, (0.2, 0.3))
            arrays[f"{folder.name}_{phase}"] = image
        sequence = np.stack([_image(height, width, seed) for seed in range(5)])
        labels = np.stack([_labels(height, width, seed % 3) for seed in range(5)])
        _write_itk(folder / f"{stem}_half_sequence{suffix}", sequence, (0.2, 0.3, 1.0))
        _write_itk(folder / f"{stem}_half_sequence_gt{suffix}", labels, (0.2, 0.3, 1.0))
        (folder / "Info_4CH.cfg").write_text("ED: 1\nES: 5\nImageQuality: Good\n")
        arrays[f"{folder.name}_sequence"] = sequence
    return arrays


def _write_png_layout(root: Path, patients: int = 2) -> Path:
    """A tiny copy of the development-set layout; patient0001 has ED and ES, others ED."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for number in range(1, patients + 1):
        for seed, phase in enumerate(("ED", "ES") if number == 1 else ("ED",)):
            name = f"patient{number:04d}_4CH_{phase}.png"
            labels = _labels(24, 32, seed)
            cv2.imwrite(str(root / "images" / name), _image(24, 32, seed))
            cv2.imwrite(str(root / "masks" / name), labels)
            wall = int((labels == 2).sum())
            rows.append(
                (f"patient{number:04d}", "4CH", phase, f"images/{name}", f"masks/{name}", wall)
            )
    columns = ["patient", "view", "phase", "image", "mask", "wall_pixels"]
    pd.DataFrame(rows, columns=columns).to_csv(root / "manifest.csv", index=False)
    return root


@pytest.mark.parametrize("suffix", [".mhd", ".nii.gz"])
def test_original_layout_stills(tmp_path: Path, suffix: str) -> None:
    arrays = _write_original(tmp_path, suffix)
    recordings = camus.load_dataset(tmp_path, size=16, progress=False)

    assert camus.find_layout(tmp_path) == "original"
    assert [r.name for r in recordings] == ["patient0001_4CH", "patient0002_4CH"]
    first = recordings[0]
    assert first.patient == "patient0001"
    assert first.frames.shape == first.masks.shape == (2, 16, 16)
    np.testing.assert_allclose(first.frames[1], prepare_frame(arrays["patient0001_ES"], 16))
    np.testing.assert_array_equal(
        first.masks[1], resize((_labels(24, 32, 1) == 2).astype(np.uint8), 16, mask=True)
    )
    assert first.meta["phase_frames"] == {"ED": 0, "ES": 1}
    assert first.meta["original_size"] == (24, 32)
    assert first.meta["original_pixel_spacing_mm"] == pytest.approx((0.3, 0.2))
    assert first.meta["pixel_spacing_mm"] == pytest.approx((0.3 * 24 / 16, 0.2 * 32 / 16))
    assert first.meta["info"] == {"ED": "1", "ES": "5", "ImageQuality": "Good"}


@pytest.mark.parametrize("suffix", [".mhd", ".nii.gz"])
def test_original_layout_half_sequences(tmp_path: Path, suffix: str) -> None:
    arrays = _write_original(tmp_path, suffix, patients=1)
    (recording,) = camus.load_dataset(tmp_path, size=16, sequences=True, progress=False)

    assert recording.name == "patient0001_4CH_half_sequence"
    assert recording.frames.shape == (5, 16, 16)
    assert recording.meta["phase_frames"] == {"ED": 0, "ES": 4}
    np.testing.assert_allclose(
        recording.frames[3], prepare_frame(arrays["patient0001_sequence"][3], 16)
    )
    assert [int(mask.sum()) > 0 for mask in recording.masks] == [True] * 5


def test_png_layout_groups_phases_by_patient(tmp_path: Path) -> None:
    root = _write_png_layout(tmp_path)
    recordings = camus.load_dataset(root, size=24, progress=False)

    assert camus.find_layout(root) == "png"
    assert [(r.patient, len(r), r.meta["phase_frames"]) for r in recordings] == [
        ("patient0001", 2, {"ED": 0, "ES": 1}),
        ("patient0002", 1, {"ED": 0}),
    ]
    assert "pixel_spacing_mm" not in recordings[0].meta


def test_png_layout_keeps_every_structure_with_the_wall_as_its_mask(tmp_path: Path) -> None:
    root = _write_png_layout(tmp_path)
    first = camus.load_dataset(root, size=24, progress=False)[0]
    expected = np.stack([resize(_labels(24, 32, seed), 24, mask=True) for seed in (0, 1)])

    np.testing.assert_array_equal(first.structures, expected)
    np.testing.assert_array_equal(first.masks, expected == camus.WALL_LABEL)
    assert first.masks.dtype == first.structures.dtype == np.uint8
    assert set(np.unique(first.structures)) == {0, 1, 2, 3}


def _add_a2c_rows(root: Path) -> None:
    """Give patient0001 of a PNG layout an A2C view (ED and ES) in its manifest."""
    manifest = pd.read_csv(root / "manifest.csv")
    rows = []
    for seed, phase in enumerate(("ED", "ES")):
        name = f"patient0001_2CH_{phase}.png"
        cv2.imwrite(str(root / "images" / name), _image(24, 32, 10 + seed))
        cv2.imwrite(str(root / "masks" / name), _labels(24, 32, 2))
        rows.append(["patient0001", "2CH", phase, f"images/{name}", f"masks/{name}", 0])
    extra = pd.DataFrame(rows, columns=manifest.columns)
    pd.concat([manifest, extra]).to_csv(root / "manifest.csv", index=False)


def test_png_layout_reads_each_view_as_a_recording(tmp_path: Path) -> None:
    root = _write_png_layout(tmp_path)
    _add_a2c_rows(root)
    recordings = camus.load_dataset(root, size=24, progress=False)

    assert [(r.name, r.patient, r.view, len(r)) for r in recordings] == [
        ("patient0001_2CH", "patient0001", "A2C", 2),
        ("patient0001_4CH", "patient0001", "A4C", 2),
        ("patient0002_4CH", "patient0002", "A4C", 1),
    ]
    np.testing.assert_array_equal(
        recordings[0].masks[1], resize((_labels(24, 32, 2) == 2).astype(np.uint8), 24, mask=True)
    )


def test_a_manifest_without_views_lists_a4c_frames(tmp_path: Path) -> None:
    root = _write_png_layout(tmp_path)
    path = root / "manifest.csv"
    pd.read_csv(path).drop(columns="view").to_csv(path, index=False)
    recordings = camus.load_dataset(root, size=24, progress=False)
    assert [(r.name, r.view) for r in recordings] == [
        ("patient0001_4CH", "A4C"),
        ("patient0002_4CH", "A4C"),
    ]


def test_original_layout_reads_both_views(tmp_path: Path) -> None:
    _write_original(tmp_path, ".nii.gz", patients=1)
    folder = tmp_path / "patient0001"
    for phase in ("ED", "ES"):
        _write_itk(folder / f"patient0001_2CH_{phase}.nii.gz", _image(24, 32, 7), (0.2, 0.3))
        _write_itk(folder / f"patient0001_2CH_{phase}_gt.nii.gz", _labels(24, 32, 1), (0.2, 0.3))
    recordings = camus.load_dataset(tmp_path, size=16, progress=False)

    assert [(r.name, r.view, len(r)) for r in recordings] == [
        ("patient0001_4CH", "A4C", 2),
        ("patient0001_2CH", "A2C", 2),
    ]
    assert "info" not in recordings[1].meta  # Info_4CH.cfg belongs to the other view


# ---------------------------------------------------------------------------------------------
# Bad inputs: one DataError naming the file


def _remove_manifest(root: Path) -> Path:
    (root / "manifest.csv").unlink()
    return root


def _remove_image(root: Path) -> Path:
    path = root / "images" / "patient0002_4CH_ED.png"
    path.unlink()
    return path


def _remove_mask(root: Path) -> Path:
    path = root / "masks" / "patient0001_4CH_ES.png"
    path.unlink()
    return path


def _mask_without_wall(root: Path) -> Path:
    path = root / "masks" / "patient0001_4CH_ES.png"
    cv2.imwrite(str(path), np.ones((24, 32), np.uint8))
    return path


def _corrupt_image(root: Path) -> Path:
    path = root / "images" / "patient0001_4CH_ED.png"
    path.write_bytes(b"not a png")
    return path


def _drop_mask_column(root: Path) -> Path:
    path = root / "manifest.csv"
    pd.read_csv(path).drop(columns="mask").to_csv(path, index=False)
    return path


def _unknown_view(root: Path) -> Path:
    path = root / "manifest.csv"
    table = pd.read_csv(path)
    table.loc[1, "view"] = "3CH"
    table.to_csv(path, index=False)
    return path


def _repeated_frame(root: Path) -> Path:
    path = root / "manifest.csv"
    table = pd.read_csv(path)
    pd.concat([table, table.iloc[[0]]]).to_csv(path, index=False)
    return path


def _mismatched_mask(root: Path) -> Path:
    path = root / "masks" / "patient0002_4CH_ED.png"
    cv2.imwrite(str(path), _labels(20, 32, 0))
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_remove_manifest, "not a CAMUS dataset folder"),
        (_remove_image, "image listed in manifest not found"),
        (_remove_mask, "mask listed in manifest not found"),
        (_mask_without_wall, "has no LV-wall label (2)"),
        (_corrupt_image, "cannot be read as an image"),
        (_drop_mask_column, "lacks the column(s) mask"),
        (_mismatched_mask, "holds (1, 20, 32)"),
        (_unknown_view, "line 3 names the view '3CH'"),
        (_repeated_frame, "lists patient0001 4CH ED twice"),
    ],
)
def test_bad_png_layout_names_the_file(tmp_path: Path, damage, message: str) -> None:
    root = _write_png_layout(tmp_path / "camus")
    named = damage(root)

    with pytest.raises(DataError) as info:
        camus.load_dataset(root, progress=False)
    assert info.value.path == named
    assert message in str(info.value)


def test_empty_folder_is_not_camus(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a CAMUS dataset folder") as info:
        camus.load_dataset(tmp_path, progress=False)
    assert info.value.path == tmp_path


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="CAMUS folder not found"):
        camus.find_layout(tmp_path / "absent")


def test_original_layout_without_ground_truth_names_it(tmp_path: Path) -> None:
    _write_original(tmp_path, ".nii.gz", patients=1)
    (tmp_path / "patient0001" / "patient0001_4CH_ES_gt.nii.gz").unlink()

    with pytest.raises(DataError, match="ground-truth mask not found") as info:
        camus.load_dataset(tmp_path, progress=False)
    assert info.value.path == tmp_path / "patient0001" / "patient0001_4CH_ES_gt.nii.gz"


def test_original_sequence_frame_without_wall_names_the_frame(tmp_path: Path) -> None:
    _write_original(tmp_path, ".mhd", patients=1)
    path = tmp_path / "patient0001" / "patient0001_4CH_half_sequence_gt.mhd"
    labels = np.stack([_labels(24, 32, 0)] * 5)
    labels[2][labels[2] == 2] = 1
    _write_itk(path, labels, (0.2, 0.3, 1.0))

    with pytest.raises(DataError, match="frame 2 has no LV-wall label") as info:
        camus.load_dataset(tmp_path, sequences=True, progress=False)
    assert info.value.path == path


def test_png_layout_has_no_sequences(tmp_path: Path) -> None:
    root = _write_png_layout(tmp_path)
    with pytest.raises(DataError, match="stills only"):
        camus.load_dataset(root, sequences=True, progress=False)


@pytest.mark.parametrize("size", [0, -3])
def test_bad_size(tmp_path: Path, size: int) -> None:
    with pytest.raises(ValueError, match="size must be positive"):
        camus.load_dataset(_write_png_layout(tmp_path), size=size, progress=False)
