"""Tests of the phantom's apical two-chamber (A2C) view, and that adding it left A4C as it was."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data import detect_format, hmcqu, load_labelled
from lvwall.data.phantom import (
    PhantomParams,
    draw_params,
    echo_name,
    load_truth,
    simulate_recording,
    truth_path,
    truth_view,
    write_dataset,
)
from lvwall.data.phantom.anatomy import build_heart, sample_heart_shape
from lvwall.data.phantom.tissue import Raster, paint_tissue, sample_echogenicity
from lvwall.data.records import VIEW_SEGMENTS

#: A small, fast recording: tiny video, one short cycle (as in test_phantom.py).
SMALL = {"width": 128, "height": 96, "n_frames": 12, "cycle_frames": 10, "first_ed_frame": 2}
A2C_NAMES = ("SEG4", "SEG10", "SEG15", "SEG13", "SEG7", "SEG1")
#: SHA-256 of the A4C recording of seed 5 with SMALL parameters, measured with the phantom
#: as it was before it had views (commit c8addc0): A4C must stay bit for bit the same, since
#: the bundled model and earlier results were made from it.
A4C_SEED5_SHA256 = {
    "video": "f53c446932f670215e4d1314f0c7c0fd7601c7e8169e9dc17b58fe3c39d56872",
    "segment_maps": "8020381c5432018d1f5356647a15edb35a78501ed229f36075266156ebef4fc1",
}


@pytest.fixture(scope="module")
def a2c_recording():
    return simulate_recording(5, params=draw_params(5, **SMALL, view="A2C"))


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _centroids(labels: np.ndarray) -> np.ndarray:
    """(6, 2) centroid (x, y) of labels 1..6, over all frames."""
    return np.array([ndimage.center_of_mass(labels == label)[::-1] for label in range(1, 7)])


def _excursion(maps: np.ndarray) -> np.ndarray:
    """Largest centroid displacement of each segment from the first frame, in mask pixels."""
    centroids = np.array([_centroids(frame) for frame in maps])
    return np.linalg.norm(centroids - centroids[:1], axis=2).max(axis=0)


# --------------------------------------------------------------------------------------------
# A4C unchanged


def test_a4c_recording_is_bit_for_bit_what_it_was_before_views() -> None:
    recording = simulate_recording(5, params=draw_params(5, **SMALL))
    assert recording.view == "A4C"
    assert {name: _sha256(getattr(recording, name)) for name in A4C_SEED5_SHA256} == (
        A4C_SEED5_SHA256
    )


def test_naming_the_a4c_view_changes_nothing() -> None:
    assert draw_params(5, **SMALL, view="a4c") == draw_params(5, **SMALL)
    assert echo_name(3) == echo_name(3, "A4C") == "PH0003 _4CH_1"


# --------------------------------------------------------------------------------------------
# Parameters and anatomy


def test_view_parameter_is_checked_and_upper_cased() -> None:
    assert PhantomParams(view="a2c").view == "A2C"
    assert PhantomParams().view == "A4C"
    with pytest.raises(ValueError, match="view must be one of"):
        PhantomParams(view="PLAX")


def test_a2c_shares_every_drawn_parameter_with_a4c() -> None:
    for seed in (0, 5, 9):
        assert draw_params(seed, view="A2C") == replace(draw_params(seed), view="A2C")


def test_a2c_heart_has_no_right_heart() -> None:
    a4c = build_heart(sample_heart_shape(np.random.default_rng(0)))
    a2c = build_heart(sample_heart_shape(np.random.default_rng(0), view="a2c"))
    assert (a4c.view, a2c.view) == ("A4C", "A2C")
    assert a4c.shape.right is not None and a4c.right is not None
    assert a2c.shape.right is None and a2c.right is None
    assert len(a2c.outlines()) == 2 and len(a4c.outlines()) == 4
    # Nothing of the A2C heart lies left of the LV: no RV or RA beside the septum's place.
    assert a2c.la_cavity[:, 0].min() > a2c.lv.epi[:, 0].min() - 0.5


def test_a2c_blood_pool_is_one_chamber_pair_not_two() -> None:
    """A4C's blood: LV + LA joined by the mitral orifice and RV + RA by the tricuspid one,
    two pools; A2C's: the left pair only."""
    raster = Raster.covering((-9.0, 9.0), (0.0, 16.0), 0.1)
    pools = {}
    for view in ("A4C", "A2C"):
        rng = np.random.default_rng(1)
        heart = build_heart(sample_heart_shape(rng, view=view))
        tissue = paint_tissue(heart, raster, sample_echogenicity(rng), rng)
        labels, count = ndimage.label(tissue.blood > 0.5)
        areas = ndimage.sum(np.ones_like(labels), labels, range(1, count + 1)) * 0.1**2
        pools[view] = int(np.sum(areas > 1.0))  # cm2: slivers beside a papillary muscle aside
    assert pools == {"A4C": 2, "A2C": 1}


# --------------------------------------------------------------------------------------------
# Recordings


def test_a2c_recording_names_its_view_and_segments(a2c_recording) -> None:
    assert a2c_recording.view == "A2C"
    assert a2c_recording.segment_names == A2C_NAMES == VIEW_SEGMENTS["A2C"]
    assert a2c_recording.echo == "PH0005 _2CH_1"
    assert a2c_recording.record.patient == "PH0005"
    assert a2c_recording.masks.shape == (SMALL["cycle_frames"] + 1, 224, 224)
    for frame in a2c_recording.segment_maps:
        assert set(np.unique(frame)) == set(range(7))
    assert np.array_equal(a2c_recording.segment_maps > 0, a2c_recording.masks.astype(bool))


def test_a2c_labels_run_from_left_base_over_the_apex_to_right_base(a2c_recording) -> None:
    centroids = _centroids(a2c_recording.segment_maps)
    x, y = centroids[:, 0], centroids[:, 1]
    inferior, anterior = slice(0, 3), slice(3, 6)
    assert x[inferior].max() < x[anterior].min()  # inferior wall on the image left
    assert y[0] > y[1] > y[2] and y[5] > y[4] > y[3]  # basal below mid below apical
    for label in range(1, 6):  # each segment touches the next along the wall
        grown = ndimage.binary_dilation(a2c_recording.segment_maps[0] == label, iterations=2)
        assert (a2c_recording.segment_maps[0][grown] == label + 1).any()


@pytest.mark.parametrize(
    "pattern",
    [
        (False, False, True, True, False, False),  # apical inferior and anterior (LAD)
        (True, True, False, False, False, False),  # basal and mid inferior (RCA)
    ],
)
def test_a2c_mi_flags_work_by_position(pattern: tuple[bool, ...]) -> None:
    seed = 11
    normal = simulate_recording(
        seed, params=draw_params(seed, **SMALL, view="A2C", segment_mi=(False,) * 6)
    )
    infarct = simulate_recording(
        seed, params=draw_params(seed, **SMALL, view="A2C", segment_mi=pattern)
    )
    assert infarct.record.segment_mi == pattern
    mi = np.array(pattern)
    assert (infarct.segment_motion[mi] <= 0.3).all()
    assert (infarct.segment_motion[~mi] >= 0.85).all()
    excursion = [_excursion(r.segment_maps) for r in (normal, infarct)]
    assert (excursion[0] > 1.5).all()  # every normal segment visibly moves
    assert (excursion[1][mi] < 0.5 * excursion[0][mi]).all()


# --------------------------------------------------------------------------------------------
# Datasets


def test_a2c_dataset_reads_back_as_a2c(tmp_path: Path) -> None:
    out = tmp_path / "a2c"
    records = write_dataset(out, 2, seed=4, progress=False, fixed_params=SMALL, views=["a2c"])
    assert [r.echo for r in records] == ["PH0001 _2CH_1", "PH0002 _2CH_1"]
    assert hmcqu.read_a4c_xlsx(out / "A4C.xlsx") == records
    assert detect_format(out) == "phantom"
    loaded = load_labelled([out], progress=False)
    assert [(r.name, r.view, r.patient) for r in loaded] == [
        ("PH0001 _2CH_1", "A2C", "PH0001"),
        ("PH0002 _2CH_1", "A2C", "PH0002"),
    ]
    for record, recording in zip(records, loaded, strict=True):
        truth = load_truth(out, record.echo)
        assert truth.view == truth_view(out, record.echo) == "A2C"
        assert truth.segment_names == A2C_NAMES
        with np.load(truth_path(out, record.echo)) as stored:
            assert tuple(stored["segment_names"]) == A2C_NAMES
        expected = dict(zip(A2C_NAMES, record.segment_mi, strict=True))
        assert truth.segment_mi_dict() == recording.meta["segment_mi"] == expected
        assert np.array_equal(recording.masks, (truth.segment_maps > 0).astype(np.uint8))
    assert load_labelled([out], progress=False, views=["A2C"]) != []


def test_both_views_share_a_patient_and_leave_a4c_as_it_was(tmp_path: Path) -> None:
    both = write_dataset(
        tmp_path / "both", 1, seed=2, progress=False, fixed_params=SMALL, views=("A4C", "A2C")
    )
    a4c = write_dataset(tmp_path / "a4c", 1, seed=2, progress=False, fixed_params=SMALL)
    assert [r.echo for r in both] == ["PH0001 _4CH_1", "PH0001 _2CH_1"]
    assert both[0] == a4c[0]
    assert np.array_equal(
        load_truth(tmp_path / "both", a4c[0].echo).segment_maps,
        load_truth(tmp_path / "a4c", a4c[0].echo).segment_maps,
    )
    loaded = load_labelled([tmp_path / "both"], progress=False)
    assert [(r.view, r.patient) for r in loaded] == [("A4C", "PH0001"), ("A2C", "PH0001")]
    only_a2c = load_labelled([tmp_path / "both"], progress=False, views=["a2c"])
    assert [r.name for r in only_a2c] == ["PH0001 _2CH_1"]
    assert list(loaded[0].meta["segment_mi"]) == list(VIEW_SEGMENTS["A4C"])


def test_truth_without_a_view_is_a4c(tmp_path: Path) -> None:
    """Truth files written before the phantom had views hold no ``view``: they are A4C."""
    (record,) = write_dataset(tmp_path / "d", 1, seed=1, progress=False, fixed_params=SMALL)
    path = truth_path(tmp_path / "d", record.echo)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k not in ("view", "segment_names")}
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)
    assert load_truth(tmp_path / "d", record.echo).view == "A4C"
    assert load_labelled([tmp_path / "d"], progress=False)[0].view == "A4C"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"views": []}, "views must be among"),
        ({"views": ["A3C"]}, "views must be among"),
        ({"views": "A2C"}, "the string"),
        ({"fixed_params": {"view": "A2C"}}, "cannot fix 'view'"),
    ],
)
def test_write_dataset_rejects_bad_views(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_dataset(tmp_path / "x", 1, progress=False, **kwargs)
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# Command


def test_simulate_view_a2c_writes_a2c_recordings(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", str(out), "-n", "2", "--seed", "4", "--width", "128", "--height", "96"]
    result = CliRunner().invoke(app, [*args, "--view", "a2C", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert f"Wrote 2 A2C recordings to {out}" in result.output
    loaded = load_labelled([out], progress=False)
    assert {r.view for r in loaded} == {"A2C"}
    assert [r.name for r in loaded] == ["PH0001 _2CH_1", "PH0002 _2CH_1"]


def test_simulate_view_both_writes_each_patient_twice(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", str(out), "-n", "1", "--width", "128", "--height", "96"]
    result = CliRunner().invoke(app, [*args, "--view", "BOTH", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "1 patients in A4C and A2C" in result.output
    assert [r.view for r in load_labelled([out], progress=False)] == ["A4C", "A2C"]


def test_simulate_rejects_an_unknown_view_in_one_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(tmp_path / "sim"), "--view", "plax"])
    assert result.exit_code == 2
    assert "must be a4c, a2c or both (any case), got 'plax'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "sim").exists()
