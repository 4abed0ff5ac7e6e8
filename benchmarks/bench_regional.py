"""Speed of the regional analysis, and its figures on a phantom with known truth.

Run: ``.venv/bin/python benchmarks/bench_regional.py [--phantom DIR | --simulate N] [--score S]``.

Always prints the median time to split one 224x224 wall mask and to analyse a 25-frame
cycle on this CPU. With a phantom dataset (``lvwall simulate`` output, or ``--simulate N``
to make one in a temporary folder), also prints the per-segment Dice of the split against
the phantom's own segment maps (on its ground-truth masks, so the figure measures the split
and not a segmenter; the aim is >= 0.85) and the cross-validated hypokinesia figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from lvwall.benchmark import time_runs
from lvwall.regional import DEFAULT_SCORE, SCORES, analyse_cycle, beating_wall, evaluate_dataset
from lvwall.wall import split_wall


def ms_per_call(call: Callable[[], object], samples: int) -> float:
    """Median over ``samples`` calls after one warm-up call."""
    return time_runs(call, samples).median * 1e3


def print_speed(samples: int) -> None:
    cycle = beating_wall((1.0, 1.0, 0.2, 1.0, 1.0, 1.0), n_frames=25)
    split_ms = ms_per_call(lambda: split_wall(cycle[12]), samples)
    cycle_ms = ms_per_call(lambda: analyse_cycle(cycle), max(3, samples // 10))
    print(f"split one 224x224 mask: {split_ms:.1f} ms (median of {samples})")
    print(f"analyse a 25-frame cycle (split + motion + scores): {cycle_ms:.0f} ms")


def print_phantom_figures(root: Path, score: str, folds: int) -> None:
    start = time.perf_counter()
    evaluation = evaluate_dataset(root, score=score, n_splits=folds)
    seconds = time.perf_counter() - start
    n_recordings = len(evaluation.mi.truth)
    print(f"\n{root}: {n_recordings} recordings analysed in {seconds:.0f} s")
    if not evaluation.split_dice.empty:
        print("Split Dice against the phantom's segment maps (ground-truth masks):")
        print(evaluation.dice_summary().round(3).to_string())
    print(f"\nHypokinesia flags, score '{score}', out-of-fold:")
    print(evaluation.mi.table().round(3).to_string())
    print("\n" + evaluation.mi.summary())
    for failure in evaluation.failures:
        print(f"skipped: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--phantom", type=Path, help="A phantom dataset (lvwall simulate).")
    source.add_argument("--simulate", type=int, help="Simulate this many recordings first.")
    parser.add_argument("--score", default=DEFAULT_SCORE, choices=sorted(SCORES))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print_speed(args.samples)
    if args.phantom is not None:
        print_phantom_figures(args.phantom, args.score, args.folds)
    elif args.simulate is not None:
        from lvwall.data import write_dataset

        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / "phantom"
            write_dataset(root, args.simulate, seed=0)
            print_phantom_figures(root, args.score, args.folds)


if __name__ == "__main__":
    main()
