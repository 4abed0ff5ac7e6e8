"""The phantom's function truth: exact geometry, consistent numbers, a clinical range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import ellipe

from lvwall.data.phantom import (
    draw_params,
    load_truth,
    recording_seed,
    simulate_recording,
    truth_path,
    write_dataset,
)
from lvwall.data.phantom.function import polygon_area, polyline_length, revolution_volume

#: A tiny recording: one short cycle, ED first, in a small video.
TINY = {"width": 64, "height": 48, "n_frames": 11, "cycle_frames": 10, "first_ed_frame": 1}
APICAL_MI = (False, False, True, True, False, False)
NO_MI = (False,) * 6


def half_ellipse(length: float, half_width: float, n: int = 4001) -> np.ndarray:
    """(x, z) from one annulus end over the apex (top, z = 0) to the other."""
    angle = np.linspace(-np.pi / 2, np.pi / 2, n)
    return np.stack([half_width * np.sin(angle), length * (1 - np.cos(angle))], 1)


@pytest.mark.parametrize(("length", "half_width"), [(80.0, 25.0), (60.0, 30.0), (45.0, 40.0)])
def test_exact_geometry_of_a_half_ellipse(length: float, half_width: float) -> None:
    endo = half_ellipse(length, half_width)
    assert polygon_area(endo) == pytest.approx(np.pi * length * half_width / 2, rel=1e-5)
    assert revolution_volume(endo) == pytest.approx(
        2 / 3 * np.pi * length * half_width**2, rel=1e-5
    )
    half_perimeter = 2 * length * ellipe(1 - (half_width / length) ** 2)
    assert polyline_length(endo) == pytest.approx(half_perimeter, rel=1e-5)


@pytest.fixture(scope="module")
def pair():
    """The same heart with and without an apical infarct."""
    seed = 21
    return tuple(
        simulate_recording(seed, params=draw_params(seed, **TINY, segment_mi=pattern))
        for pattern in (NO_MI, APICAL_MI)
    )


def test_truth_numbers_follow_from_the_per_frame_truth(pair) -> None:
    for recording in pair:
        truth = recording.function
        n_frames = TINY["cycle_frames"] + 1
        assert truth.volume_ml.shape == truth.cavity_area_mm2.shape == (n_frames,)
        assert truth.segment_length_mm.shape == (n_frames, 6)
        assert truth.es_index == int(np.argmin(truth.volume_ml)) > 0
        ed, es = truth.volume_ml[0], truth.volume_ml[truth.es_index]
        assert truth.ef_percent == pytest.approx((ed - es) / ed * 100)
        lengths = truth.endocardial_length_mm
        assert truth.gls_percent == pytest.approx((lengths[truth.es_index] / lengths[0] - 1) * 100)
        segments = truth.segment_length_mm
        assert truth.strain_percent == pytest.approx(
            (segments[truth.es_index] / segments[0] - 1) * 100
        )
        assert segments.sum(axis=1) == pytest.approx(lengths)
        # The cycle closes: its last frame is end-diastole again.
        assert truth.volume_ml[-1] == pytest.approx(ed)
        row_mm, column_mm = truth.pixel_spacing_mm
        assert row_mm == column_mm > 0


def test_a_healthy_heart_shortens_and_ejects_in_the_normal_range(pair) -> None:
    healthy = pair[0].function
    assert 50 < healthy.ef_percent < 75
    assert -28 < healthy.gls_percent < -16
    assert (healthy.strain_percent < -12).all()
    # Area-length, the same body of revolution taken as an ellipsoid, agrees roughly.
    area, axis = healthy.cavity_area_mm2[0], healthy.long_axis_mm[0]
    assert 8 * area**2 / (3 * np.pi * axis) / 1000 == pytest.approx(healthy.volume_ml[0], rel=0.1)


def test_infarcted_segments_shorten_less_and_lower_ef_and_gls(pair) -> None:
    healthy, infarct = (recording.function for recording in pair)
    mi = np.array(APICAL_MI)
    assert (infarct.strain_percent[mi] > healthy.strain_percent[mi] + 10).all()
    assert (infarct.strain_percent[mi] > -10).all()
    assert infarct.ef_percent < healthy.ef_percent - 5
    assert infarct.gls_percent > healthy.gls_percent + 3


def test_truth_file_round_trips_and_old_files_still_load(tmp_path: Path) -> None:
    root = tmp_path / "phantom"
    (record,) = write_dataset(root, 1, seed=3, progress=False, fixed_params=TINY)
    truth = load_truth(root, record.echo)
    seed = recording_seed(3, 1)
    again = simulate_recording(seed, params=draw_params(seed, **TINY), echo=record.echo)
    for name, value in again.function.arrays().items():
        assert np.allclose(truth.function.arrays()[name], value), name
    # A truth file written before the function truth existed has no such arrays.
    path = truth_path(root, record.echo)
    with np.load(path) as archive:
        older = {key: archive[key] for key in ("segment_maps", "segment_motion", "segment_mi")}
        older["endo_displacement"] = archive["endo_displacement"]
    np.savez(path, **older)
    assert load_truth(root, record.echo).function is None


@pytest.mark.slow
def test_drawn_recordings_span_a_clinical_range_of_ef_and_gls() -> None:
    truths = [
        simulate_recording(seed, params=draw_params(seed, **TINY)).function for seed in range(24)
    ]
    ef = np.array([truth.ef_percent for truth in truths])
    gls = np.array([truth.gls_percent for truth in truths])
    assert ef.min() < 35 and ef.max() > 60
    assert gls.min() < -22 and gls.max() > -12
