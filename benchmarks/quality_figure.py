"""The figure of docs/quality/: one frame as recorded and with lost signal, as predict shows them.

Run: ``.venv/bin/python benchmarks/quality_figure.py "../shared/data/hmcqu-sample/ES0001
_4CH_1.gif" docs/quality/flagged_frames.png``.

Left: a frame of the recording as ``lvwall predict`` segments it with the bundled model,
with its quality score and flags. Middle: the same frame with acoustic dropout laid over the
lateral half of the sector below the apex (the echo there blanked, as a lost window or a rib
shadow would). Right: the dropout over the apex too. Each is segmented by the same pipeline,
the frames before it as recorded, and titled with what quality control says; a flagged frame
is framed as in ``overlay.gif``.
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

#: A region darkened to noise, as fractions (top, bottom, left, right) of the frame.
Region = tuple[float, float, float, float]
LATERAL: Region = (1 / 3, 1.0, 0.5, 1.0)
APEX: Region = (0.0, 0.45, 0.0, 1.0)
DEGRADATIONS: dict[str, tuple[Region, ...]] = {
    "as recorded": (),
    "lateral dropout": (LATERAL,),
    "lateral and apical dropout": (LATERAL, APEX),
}


def with_dropout(frame: np.ndarray, regions: tuple[Region, ...]) -> np.ndarray:
    """``frame`` with each region darkened to noise."""
    dropped = frame.copy()
    height, width = frame.shape[:2]
    rng = np.random.default_rng(0)
    for top, bottom, left, right in regions:
        region = dropped[
            int(top * height) : int(bottom * height), int(left * width) : int(right * width)
        ]
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

    figure, axes = plt.subplots(1, len(DEGRADATIONS), figsize=(16, 4.4), constrained_layout=True)
    for ax, (label, regions) in zip(axes, DEGRADATIONS.items(), strict=True):
        shown = [*frames[:-1], with_dropout(frames[-1], regions)]
        segmented = list(segment_frames(shown, model, options))[-1]
        ax.imshow(frame_overlay(segmented))
        verdict = segmented.quality
        flags = ", ".join(verdict.flags) or "no flag"
        ax.set_title(f"frame {args.frame}, {label}\nquality {verdict.quality:.2f}, {flags}")
        ax.axis("off")
        print(f"{label}: quality {verdict.quality:.3f}, flags {verdict.flags}, {verdict.reasons}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        figure.savefig(tmp, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
