"""The figure of docs/quality/: an unflagged frame beside a flagged one, as predict shows them.

Run: ``.venv/bin/python benchmarks/quality_figure.py "../shared/data/hmcqu-sample/ES0001
_4CH_1.gif" docs/quality/flagged_frames.png``.

Left: a frame of the recording as ``lvwall predict`` segments it with the bundled model
(quality score and no flag). Right: the same frame with acoustic dropout laid over the
lateral half of the sector (the echo there blanked, as a lost window or a rib shadow would),
segmented by the same pipeline: the wall breaks, quality control flags the frame and the
overlay marks it, as in ``overlay.gif``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lvwall.atomic import atomic_path
from lvwall.data import discover
from lvwall.infer import PredictOptions, frame_overlay, load_segmentation_model, segment_frames


def with_dropout(frame: np.ndarray) -> np.ndarray:
    """``frame`` with its right half from a third of the height down darkened to noise."""
    dropped = frame.copy()
    height, width = frame.shape[:2]
    rng = np.random.default_rng(0)
    region = dropped[height // 3 :, width // 2 :]
    region[...] = (region * 0.08 + rng.integers(0, 12, region.shape)).astype(np.uint8)
    return dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frame", type=int, default=10, help="0-based frame to show")
    args = parser.parse_args()

    (source,) = discover([args.recording])
    frames = list(itertools.islice(source.open().frames(), args.frame + 1))
    model = load_segmentation_model()
    options = PredictOptions()
    original = list(segment_frames(frames, model, options))[-1]
    degraded = list(segment_frames([*frames[:-1], with_dropout(frames[-1])], model, options))[-1]

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, segmented, label in (
        (axes[0], original, "as recorded"),
        (axes[1], degraded, "with dropout"),
    ):
        ax.imshow(frame_overlay(segmented))
        verdict = segmented.quality
        flags = ", ".join(verdict.flags) or "no flag"
        ax.set_title(f"frame {args.frame}, {label}: quality {verdict.quality:.2f}, {flags}")
        ax.axis("off")
        print(f"{label}: quality {verdict.quality:.3f}, flags {verdict.flags}, {verdict.reasons}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        figure.savefig(tmp, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
