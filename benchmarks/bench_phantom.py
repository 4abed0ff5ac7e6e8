"""Speed of the phantom: seconds to simulate and write a dataset in the HMC-QU layout.

Run: ``.venv/bin/python benchmarks/bench_phantom.py [--recordings 100] [--workers 2]``.
Prints the wall time for the whole dataset (simulation, AVI/MAT/NPZ writing, A4C.xlsx), the
time per recording, the CPU time of this process and its workers, and one recording's
simulation alone (no writing) as the best of three runs. The target is 100 default-size
recordings (636 x 422, 30-50 frames) in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from lvwall.data import simulate_recording, write_dataset


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    single = []
    for _ in range(3):
        start = time.perf_counter()
        recording = simulate_recording(args.seed)
        single.append(time.perf_counter() - start)
    print(
        f"one recording ({len(recording.video)} frames, {recording.video.shape[2]}x"
        f"{recording.video.shape[1]}): simulate {min(single):.2f} s (best of 3)"
    )

    with tempfile.TemporaryDirectory() as folder:
        cpu_start, start = cpu_seconds(), time.perf_counter()
        records = write_dataset(
            Path(folder) / "phantom",
            args.recordings,
            args.seed,
            progress=False,
            workers=args.workers,
        )
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    print(
        f"{len(records)} recordings, {args.workers} worker(s): {wall:.1f} s wall "
        f"({wall / len(records):.2f} s per recording), {cpu:.1f} s CPU"
    )


if __name__ == "__main__":
    main()
