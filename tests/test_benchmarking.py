"""lvwall.benchmark.timing: the timing rule, the synthetic benchmark video, the machine facts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvwall.benchmark import timing as benchmarking
from lvwall.benchmark.timing import median_seconds, synthetic_echo_video, time_runs
from lvwall.data.inputs import discover
from lvwall.data.sector import find_sector


@pytest.mark.parametrize(
    ("durations", "repeats", "budget", "expected_median", "expected_runs"),
    [
        ([9.0, 3.0, 1.0, 2.0], 3, 10.0, 2.0, 3),  # the warm-up run does not count
        ([9.0, 3.0, 1.0, 2.0, 4.0], 4, 3.5, 2.0, 2),  # stops once past the budget
        ([9.0, 30.0, 30.0], 2, 1.0, 30.0, 1),  # one run at least, however slow
    ],
)
def test_median_seconds(
    monkeypatch: pytest.MonkeyPatch,
    durations: list[float],
    repeats: int,
    budget: float,
    expected_median: float,
    expected_runs: int,
) -> None:
    clock = [0.0]
    pending = iter(durations)
    monkeypatch.setattr(benchmarking.time, "perf_counter", lambda: clock[0])

    def run() -> None:
        clock[0] += next(pending)

    assert median_seconds(run, repeats, budget) == (expected_median, expected_runs)


def test_synthetic_video_looks_like_an_a4c_recording(tmp_path: Path) -> None:
    video = synthetic_echo_video(tmp_path / "echo.avi", n_frames=6, height=120, width=180)
    recording = discover([video])[0].open()
    assert (recording.n_frames, recording.height, recording.width) == (6, 120, 180)
    frames = list(recording.frames())
    sector = find_sector(np.stack([f.mean(axis=2) for f in frames]))
    assert sector.found and 0.3 < sector.fraction < 0.8


def test_time_runs_counts_cpu_time_and_the_best_run() -> None:
    timing = time_runs(lambda: sum(range(20_000)), repeats=3, warmup=0)
    assert timing.runs == 3 and len(timing.cpu) == 3
    assert timing.best <= timing.median and timing.cpu_median >= 0.0


def test_machine_facts_name_the_processor() -> None:
    facts = benchmarking.machine_facts(threads=1)
    assert facts["threads"] == 1 and facts["cores_available"] >= 1
    assert facts["cpu"] == benchmarking.cpu_name() != ""
