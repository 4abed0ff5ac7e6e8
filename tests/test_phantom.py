"""Tests of the synthetic A4C phantom (lvwall.data.phantom) and its two commands."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.signal
from scipy import ndimage
from typer.testing import CliRunner

from lvwall.cli import app
from lvwall.data import hmcqu
from lvwall.data.phantom import (
    PhantomParams,
    bmode,
    draw_params,
    load_truth,
    sample_params,
    sample_segment_mi,
    simulate_recording,
    write_dataset,
)
from lvwall.data.phantom.figure import CONTOUR_RGB, camus_panel, hmcqu_panel
from lvwall.data.phantom.motion import CardiacCycle
from lvwall.data.records import MODEL_SIZE, SEGMENT_NAMES
from lvwall.errors import DataError

#: A small, fast recording: tiny video, one short cycle.
SMALL = {"width": 128, "height": 96, "n_frames": 12, "cycle_frames": 10, "first_ed_frame": 2}
NO_MI = (False,) * 6
RAYLEIGH_SNR = np.sqrt(np.pi / (4 - np.pi))  # mean / std of a Rayleigh envelope, 1.91


@pytest.fixture(scope="module")
def small_recording():
    return simulate_recording(5, params=draw_params(5, **SMALL))


def _centroids(maps: np.ndarray) -> np.ndarray:
    """(T, 6, 2) centroid (x, y) of each segment label in each frame."""
    return np.array(
        [[ndimage.center_of_mass(frame == label)[::-1] for label in range(1, 7)] for frame in maps]
    )


def _segment_excursion(maps: np.ndarray) -> np.ndarray:
    """Largest centroid displacement of each segment from the first frame, in mask pixels."""
    centroids = _centroids(maps)
    return np.linalg.norm(centroids - centroids[:1], axis=2).max(axis=0)


# --------------------------------------------------------------------------------------------
# Recordings


def test_same_seed_same_recording_other_seed_differs() -> None:
    params = draw_params(3, **SMALL)
    first, again = simulate_recording(3, params=params), simulate_recording(3, params=params)
    other = simulate_recording(4, params=params)
    assert np.array_equal(first.video, again.video)
    assert np.array_equal(first.segment_maps, again.segment_maps)
    assert not np.array_equal(first.video, other.video)
    assert not np.array_equal(first.masks, other.masks)


def test_params_drawn_from_seed_match_explicit_draw() -> None:
    assert simulate_recording(9, params=draw_params(9)).params == draw_params(9)


def test_shapes_dtypes_and_record(small_recording) -> None:
    rec = small_recording
    n_cycle = SMALL["cycle_frames"] + 1  # end-diastole to end-diastole, inclusive
    assert rec.video.shape == (SMALL["n_frames"], SMALL["height"], SMALL["width"], 3)
    assert rec.video.dtype == np.uint8
    assert rec.masks.shape == rec.segment_maps.shape == (n_cycle, MODEL_SIZE, MODEL_SIZE)
    assert rec.masks.dtype == rec.segment_maps.dtype == np.uint8
    assert rec.segment_motion.shape == (6,)
    assert rec.endo_displacement.shape == (n_cycle, 6)
    assert rec.record.echo == rec.echo
    assert rec.record.reference_frame == SMALL["first_ed_frame"]
    assert rec.record.n_cycle_frames == n_cycle
    assert rec.record.mask_available


def test_masks_binary_and_non_empty(small_recording) -> None:
    assert set(np.unique(small_recording.masks)) == {0, 1}
    assert (small_recording.masks.reshape(len(small_recording.masks), -1).sum(1) > 200).all()


def _basal_end(labels: np.ndarray, label: int) -> tuple[int, int]:
    rows, cols = np.nonzero(labels == label)
    lowest = np.argmax(rows)
    return int(cols[lowest]), int(rows[lowest])


def test_wall_is_open_at_the_base(small_recording) -> None:
    for mask, labels in zip(small_recording.masks, small_recording.segment_maps, strict=True):
        # Open: the cavity is not enclosed, so filling holes adds nothing ...
        assert np.array_equal(ndimage.binary_fill_holes(mask), mask.astype(bool))
        # ... whereas a wall closed across the mitral valve would enclose it.
        closed = mask.copy()
        septal_end, lateral_end = _basal_end(labels, 1), _basal_end(labels, 6)
        cv2.line(closed, septal_end, lateral_end, 1, 3)
        assert ndimage.binary_fill_holes(closed).sum() > closed.sum() + 100


def test_septum_left_apex_top(small_recording) -> None:
    centroids = _centroids(small_recording.segment_maps).mean(axis=0)
    septal, lateral = centroids[:3], centroids[3:]
    assert septal[:, 0].max() < lateral[:, 0].min()
    names = dict(zip(SEGMENT_NAMES, centroids, strict=True))
    for apical, basal in [("SEG14", "SEG3"), ("SEG16", "SEG6")]:
        assert names[apical][1] < names[basal][1]


def test_segment_maps_cover_exactly_the_mask(small_recording) -> None:
    assert np.array_equal(small_recording.segment_maps > 0, small_recording.masks.astype(bool))
    for frame in small_recording.segment_maps:
        assert set(np.unique(frame)) == set(range(7))


@pytest.mark.parametrize(
    "pattern",
    [
        (False, False, True, True, False, False),  # apical (LAD)
        (True, True, False, False, False, False),  # basal and mid septal
        (False, False, False, False, True, True),  # mid and basal lateral (LCx)
    ],
)
def test_mi_segments_move_less_than_the_same_segments_without_mi(pattern) -> None:
    seed = 11
    normal = simulate_recording(seed, params=draw_params(seed, **SMALL, segment_mi=NO_MI))
    infarct = simulate_recording(seed, params=draw_params(seed, **SMALL, segment_mi=pattern))
    healthy_motion = _segment_excursion(normal.segment_maps)
    infarct_motion = _segment_excursion(infarct.segment_maps)
    assert (healthy_motion > 2.0).all()  # every normal segment visibly moves
    mi = np.array(pattern)
    assert (infarct_motion[mi] < 0.5 * healthy_motion[mi]).all()
    assert infarct.record.segment_mi == pattern
    assert (infarct.segment_motion[mi] <= 0.3).all()
    assert (infarct.segment_motion[~mi] >= 0.85).all()


def test_video_moves_with_the_heart(small_recording) -> None:
    video = small_recording.video.astype(float)
    first, ref = 0, small_recording.record.reference_frame - 1
    assert np.abs(video[ref + 3] - video[first]).mean() > 1.0


# --------------------------------------------------------------------------------------------
# Image formation


def _homogeneous_iq(density: float, seed: int = 0) -> tuple[bmode.Sector, np.ndarray]:
    sector = bmode.Sector(depth=12.0, angle=np.deg2rad(70), n_samples=240, n_lines=96)
    psf = bmode.PointSpreadFunction()
    rng = np.random.default_rng(seed)
    count = int(density * sector.n_samples * sector.n_lines)
    radius = rng.uniform(0, sector.depth, count)
    angle = rng.uniform(-sector.angle / 2, sector.angle / 2, count)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], 1)
    amplitudes = (rng.standard_normal(count) + 1j * rng.standard_normal(count)) / np.sqrt(2)
    iq = bmode.backscatter(sector, psf, points, amplitudes.astype(np.complex64))
    return sector, iq * bmode.unit_power_scale(sector, psf, density)


@pytest.mark.parametrize("density", [0.7, 1.0, 2.0])
def test_speckle_envelope_is_rayleigh(density: float) -> None:
    _, iq = _homogeneous_iq(density)
    tissue = bmode.envelope(iq)[120:230, 15:80]
    snr = tissue.mean() / tissue.std()
    assert abs(snr - RAYLEIGH_SNR) < 0.12
    assert abs(np.sqrt(np.mean(tissue.astype(float) ** 2)) - 1.0) < 0.15  # unit tissue power


def test_envelope_equals_hilbert_envelope_of_the_rf_line() -> None:
    _, iq = _homogeneous_iq(1.0)
    carrier = np.exp(2j * np.pi * 0.25 * np.arange(iq.shape[0]))[:, None]
    rf = np.real(iq * carrier)
    hilbert = np.abs(scipy.signal.hilbert(rf, axis=0))
    inner = slice(20, -20)
    expected = bmode.envelope(iq)[inner]
    assert np.abs(hilbert[inner] - expected).mean() < 0.03 * expected.mean()


@pytest.mark.parametrize(
    ("gain_db", "amplitude", "expected"),
    [(0.0, 1.0, bmode.TISSUE_DISPLAY_LEVEL), (-40.0, 1.0, 0.0), (40.0, 1.0, 1.0)],
)
def test_log_compression_levels(gain_db: float, amplitude: float, expected: float) -> None:
    shown = bmode.log_compress(np.array([amplitude]), 40.0, gain_db)
    assert shown[0] == pytest.approx(expected, abs=1e-6)


def test_scan_conversion_puts_the_sector_apex_at_the_top() -> None:
    sector = bmode.Sector(depth=10.0, angle=np.deg2rad(60), n_samples=64, n_lines=32)
    converter = bmode.ScanConverter(sector, 120, 100, apex=(60.0, 0.0), pixels_per_cm=9.0)
    frame = converter(np.ones((64, 32), np.float32))
    assert frame[2, 60] > 0.5 and frame[2, 5] == 0 and frame[2, 115] == 0
    assert frame[80, 60] > 0.5  # straight down the middle, inside the sector


# --------------------------------------------------------------------------------------------
# Timing and parameters


@pytest.mark.parametrize("frames_per_cycle", [16, 25])
def test_cycle_contracts_in_systole_with_valves_shut(frames_per_cycle: int) -> None:
    cycle = CardiacCycle(frames_per_cycle, first_ed=3, end_systole=0.36)
    frames = np.arange(3, 3 + frames_per_cycle + 1)
    contraction, opening = cycle.contraction(frames), cycle.valve_opening(frames)
    assert contraction[0] == pytest.approx(0) and contraction[-1] == pytest.approx(0)
    es = int(np.argmax(contraction))
    assert 0.28 <= es / frames_per_cycle <= 0.44
    assert contraction[es] > 0.95
    assert (opening[: es + 1] == 0).all() and opening.max() > 0.8


@pytest.mark.parametrize(
    "bad",
    [
        {"width": 10},
        {"cycle_frames": 3},
        {"first_ed_frame": 0},
        {"n_frames": 10, "cycle_frames": 20},
        {"segment_mi": (True,)},
        {"dropout": 1.5},
        {"sector_deg": 150.0},
    ],
)
def test_bad_params_raise_value_error(bad: dict) -> None:
    with pytest.raises(ValueError):
        PhantomParams(**bad)


def test_sample_params_fixes_fields_and_rejects_unknown_ones() -> None:
    params = sample_params(np.random.default_rng(0), width=200, height=150)
    assert (params.width, params.height) == (200, 150)
    assert params.n_frames >= params.end_of_cycle
    with pytest.raises(ValueError, match="unknown"):
        sample_params(np.random.default_rng(0), colour="red")


def test_mi_patterns_are_runs_of_adjacent_segments() -> None:
    rng = np.random.default_rng(1)
    patterns = [np.array(sample_segment_mi(rng)) for _ in range(300)]
    for pattern in patterns:
        if pattern.any():
            assert np.count_nonzero(np.diff(pattern.astype(int)) != 0) <= 2
            assert np.ptp(np.flatnonzero(pattern)) + 1 == pattern.sum()
    non_mi = np.mean([not pattern.any() for pattern in patterns])
    assert 0.3 < non_mi < 0.6
    assert all(np.mean([p[k] for p in patterns]) > 0.05 for k in range(6))


# --------------------------------------------------------------------------------------------
# Dataset


def test_dataset_round_trips_through_the_hmcqu_reader(tmp_path: Path) -> None:
    out = tmp_path / "phantom"
    records = write_dataset(out, 2, seed=4, progress=False, fixed_params=SMALL)
    loaded = hmcqu.load_dataset(out, progress=False)
    assert (
        [r.name for r in loaded] == [r.echo for r in records] == ["PH0001 _4CH_1", "PH0002 _4CH_1"]
    )
    assert hmcqu.read_a4c_xlsx(out / "A4C.xlsx") == records
    for record, recording in zip(records, loaded, strict=True):
        truth = load_truth(out, record.echo)
        assert recording.label == int(record.mi)
        assert recording.meta["segment_mi"] == record.segment_dict()
        assert tuple(truth.segment_mi) == record.segment_mi
        assert np.array_equal(recording.masks, (truth.segment_maps > 0).astype(np.uint8))
        assert len(recording.frames) == record.n_cycle_frames


def test_dataset_recordings_do_not_depend_on_the_count(tmp_path: Path) -> None:
    one = write_dataset(tmp_path / "a", 1, seed=2, progress=False, fixed_params=SMALL)
    two = write_dataset(tmp_path / "b", 2, seed=2, progress=False, fixed_params=SMALL)
    assert one[0] == two[0]


def test_dataset_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        write_dataset(tmp_path, 1, progress=False, fixed_params=SMALL)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_load_truth_of_unknown_recording_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_truth(tmp_path, "PH0009 _4CH_1")


# --------------------------------------------------------------------------------------------
# Commands


def test_simulate_command_writes_a_dataset_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", str(out), "--recordings", "2", "--seed", "4"]
    result = CliRunner().invoke(app, [*args, "--width", "128", "--height", "96"])
    assert result.exit_code == 0, result.output
    records = hmcqu.read_a4c_xlsx(out / "A4C.xlsx")
    n_mi = sum(record.mi for record in records)
    assert f"Wrote 2 A4C recordings to {out}: {n_mi} MI, {2 - n_mi} non-MI" in result.output
    assert len(list((out / "HMC-QU" / "A4C").glob("*.avi"))) == 2


def test_simulate_command_refuses_a_non_empty_out(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("x")
    result = CliRunner().invoke(app, ["simulate", str(tmp_path), "--recordings", "1"])
    assert result.exit_code == 1
    assert "not empty" in result.output


def test_phantom_figure_without_real_data_draws_phantom_only(tmp_path: Path) -> None:
    out = tmp_path / "figure.png"
    missing = tmp_path / "absent"
    result = CliRunner().invoke(
        app,
        ["phantom-figure", str(out), "--hmcqu-gif", str(missing), "--camus", str(missing)],
    )
    assert result.exit_code == 0, result.output
    assert "HMC-QU sample" in result.output and "CAMUS folder" in result.output
    assert out.stat().st_size > 10_000


@pytest.mark.shared_data
def test_real_reference_panels(hmcqu_sample_dir: Path, camus_dev_dir: Path) -> None:
    hmcqu_frame = hmcqu_panel(hmcqu_sample_dir / "ES0001 _4CH_1.gif").image
    assert hmcqu_frame.shape == (422, 636, 3)
    camus = camus_panel(camus_dev_dir, seed=0)
    outlined = np.all(camus.image == np.array(CONTOUR_RGB, np.uint8), axis=2)
    assert camus.image.shape == (512, 512, 3) and outlined.sum() > 200
    assert "CAMUS" in camus.title
